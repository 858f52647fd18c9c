import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, FlowgramError } from './errors.js';
import type { NodeExecutor, TaskEvent } from './engine/types.js';
import { DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { createRuntime, type Runtime, type RuntimeOptions } from './runtime.js';

const runtimes: Runtime[] = [];
afterEach(async () => {
  while (runtimes.length > 0) await runtimes.pop()?.close();
});

/** `emit` outputs what its node's data says: `size` characters in `text`, or a value nested `depth` levels. */
const emit: NodeExecutor = {
  type: 'emit',
  execute(context) {
    const { size, depth } = context.node.data as { size?: number; depth?: number };
    if (depth !== undefined) return { outputs: { value: nested(depth) } };
    return { outputs: { text: 'x'.repeat(size ?? 1) } };
  },
};
const sleep: NodeExecutor = {
  type: 'sleep',
  execute: (context) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve({ outputs: {} }), Number(context.node.data.ms));
      context.signal.addEventListener('abort', () => (clearTimeout(timer), reject(context.signal.reason)), { once: true });
    }),
};

function runtime(options: RuntimeOptions = {}): Runtime {
  const created = createRuntime({ executors: [emit, sleep], ...options });
  runtimes.push(created);
  return created;
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const node = (id: string, type: string, data: Record<string, unknown> = {}): Record<string, unknown> => ({ id, type, data });
const stringInput = (content: unknown, type = 'template'): Record<string, unknown> => ({
  inputs: { type: 'object', properties: { text: { type: 'string' } } },
  inputsValues: { text: { type, content } },
});
/** start → middle nodes → end, in a line. */
function line(...middle: Array<Record<string, unknown>>): Record<string, unknown> {
  const nodes = [node('start_0', 'start', { outputs: { type: 'object', properties: { s: { type: 'string' }, items: { type: 'array' } } } }), ...middle, node('end_0', 'end')];
  const edges = nodes.slice(1).map((target, i) => ({ sourceNodeID: nodes[i].id, targetNodeID: target.id }));
  return { nodes, edges };
}

async function failure(task: ReturnType<Runtime['start']>): Promise<FlowgramError> {
  const error = await task.wait().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(FlowgramError);
  return error as FlowgramError;
}

describe('resolveLimits', () => {
  it('fills in every default and keeps what it was given', () => {
    expect(resolveLimits(undefined)).toEqual(DEFAULT_LIMITS);
    expect(resolveLimits({ maxJsonDepth: 10, taskTimeoutMs: Number.POSITIVE_INFINITY })).toMatchObject({ maxJsonDepth: 10, taskTimeoutMs: Number.POSITIVE_INFINITY, maxEvents: DEFAULT_LIMITS.maxEvents });
    expect(createRuntime({ limits: { maxValueBytes: 1234 } }).limits).toMatchObject({ maxValueBytes: 1234, maxNodeExecutions: DEFAULT_LIMITS.maxNodeExecutions });
  });

  it('refuses a limit that is not a number of 0 or more', () => {
    expect(() => resolveLimits({ maxEvents: -1 })).toThrow(expect.objectContaining({ code: ErrorCodes.BAD_REQUEST }));
    expect(() => resolveLimits({ maxEvents: '10' })).toThrow(/limits\.maxEvents/);
  });
});

describe('maxValueBytes: nothing a node builds or hands on outgrows it', () => {
  it('fails a template bomb before the text is built, naming the limit and the node', async () => {
    // The attack: 800 placeholders over a 600 KB input would render 480 MB.
    const bomb = line(node('end_1', 'emit', stringInput('{{start_0.s}}'.repeat(800))));
    const started = Date.now();
    const error = await failure(runtime().start(bomb, { s: 'x'.repeat(600_000) }));
    expect(error.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    expect(error.nodeID).toBe('end_1');
    expect(error.message).toMatch(/maxValueBytes/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('renders a template just within the limit', async () => {
    const flow = line(node('echo_0', 'emit', stringInput('{{start_0.s}}{{start_0.s}}')));
    const task = runtime({ limits: { maxValueBytes: 2_100 } }).start(flow, { s: 'y'.repeat(999) });
    await task.wait();
    expect(task.report().reports.echo_0.snapshots[0].inputs.text).toHaveLength(1_998);
  });

  it('counts an object rendered into a template as its JSON', async () => {
    const flow = line(node('echo_0', 'emit', stringInput('{{start_0.items}}'.repeat(3))));
    const error = await failure(runtime({ limits: { maxValueBytes: 1_500 } }).start(flow, { items: Array.from({ length: 200 }, (_, i) => i) }));
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, nodeID: 'echo_0' });
  });

  it('fails a node whose outputs are too large, before later nodes see them', async () => {
    const flow = line(node('big', 'emit', { size: 5_000 }), node('after', 'emit', { size: 1 }));
    const task = runtime({ limits: { maxValueBytes: 4_096 } }).start(flow);
    const error = await failure(task);
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, nodeID: 'big' });
    expect(error.message).toMatch(/maxValueBytes: the outputs of node "big"/);
    expect(task.report().reports.after).toBeUndefined();
  });

  it('fails a node whose resolved inputs are too large (many refs to one value)', async () => {
    const properties: Record<string, unknown> = {};
    const values: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) {
      properties[`k${i}`] = { type: 'string' };
      values[`k${i}`] = { type: 'ref', content: ['start_0', 's'] };
    }
    const flow = line(node('wide', 'emit', { inputs: { type: 'object', properties }, inputsValues: values }));
    const error = await failure(runtime({ limits: { maxValueBytes: 10_000 } }).start(flow, { s: 'z'.repeat(1_000) }));
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, nodeID: 'wide' });
    expect(error.message).toMatch(/maxValueBytes: the inputs of node "wide"/);
  });
});

describe('maxValueBytes: a loop\'s collected outputs', () => {
  it('fail the loop as soon as they outgrow the limit, not after every iteration has run', async () => {
    // Each iteration renders 1,000 characters into the collected outputs: 2,000 iterations would hold
    // 2 MB (and, with the default limit, a million iterations gigabytes) before the loop ended.
    let iterations = 0;
    const counted: NodeExecutor = { type: 'counted', execute: () => (iterations++, { outputs: {} }) };
    const loop = {
      ...node('loop_0', 'loop', {
        loopFor: { type: 'ref', content: ['start_0', 'items'] },
        loopOutputs: { texts: { type: 'template', content: '{{start_0.s}}' } },
      }),
      blocks: [node('block_start', 'block-start'), node('count', 'counted'), node('block_end', 'block-end')],
      edges: [
        { sourceNodeID: 'block_start', targetNodeID: 'count' },
        { sourceNodeID: 'count', targetNodeID: 'block_end' },
      ],
    };
    const items = Array.from({ length: 2_000 }, (_, i) => i);
    const task = runtime({ executors: [counted], limits: { maxValueBytes: 20_000 } }).start(line(loop), { s: 'x'.repeat(1_000), items });
    const error = await failure(task);
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, nodeID: 'loop_0' });
    expect(error.message).toMatch(/maxValueBytes: the outputs of node "loop_0" would be larger than 20000 characters of JSON \(at iteration 20\)/);
    expect(iterations).toBe(20);
  });

  it('may come close to the limit', async () => {
    const loop = {
      ...node('loop_0', 'loop', { loopFor: { type: 'ref', content: ['start_0', 'items'] }, loopOutputs: { texts: { type: 'ref', content: ['start_0', 's'] } } }),
      blocks: [node('block_start', 'block-start'), node('block_end', 'block-end')],
      edges: [{ sourceNodeID: 'block_start', targetNodeID: 'block_end' }],
    };
    // {"texts":["xx…x",…]}: 10 × 1,002 characters, 9 commas and the braces, brackets and key.
    const task = runtime({ limits: { maxValueBytes: 10_100 } }).start(line(loop), { s: 'x'.repeat(1_000), items: Array.from({ length: 10 }, (_, i) => i) });
    await task.wait();
    expect((task.report().reports.loop_0.snapshots[0].outputs.texts as string[]).length).toBe(10);
  });
});

describe('maxJsonDepth', () => {
  it('refuses 400k-deep task inputs at once, before anything recursive touches them', () => {
    expect(() => runtime().start(line(), { items: nested(400_000) })).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED, limit: 'maxJsonDepth' }));
    expect(runtime().validate(line(), { items: nested(400_000) })).toEqual({ valid: false, errors: [expect.stringMatching(/maxJsonDepth/)] });
  });

  it('refuses a 400k-deep schema, as an object or as text, without admitting a task', () => {
    const created = runtime();
    const deep = { ...line(), extra: nested(400_000) };
    expect(() => created.start(deep)).toThrow(expect.objectContaining({ code: ErrorCodes.LIMIT_EXCEEDED, limit: 'maxJsonDepth' }));
    const text = `${JSON.stringify(line()).slice(0, -1)},"extra":${'['.repeat(400_000)}${']'.repeat(400_000)}}`;
    expect(() => created.start(text)).toThrow(expect.objectContaining({ limit: 'maxJsonDepth' }));
    expect(created.stats().inMemory).toBe(0);
  });

  it('fails a node whose outputs nest too deep', async () => {
    const error = await failure(runtime().start(line(node('deep', 'emit', { depth: 400_000 }))));
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, nodeID: 'deep' });
    expect(error.message).toMatch(/maxJsonDepth/);
  });

  it('accepts values exactly as deep as the limit', async () => {
    await expect(runtime({ limits: { maxJsonDepth: 20 } }).run(line(), { items: nested(19) })).resolves.toEqual({});
  });
});

describe('maxSchemaBytes', () => {
  it('refuses a schema larger than the limit', () => {
    const created = runtime({ limits: { maxSchemaBytes: 1_000 } });
    const big = { ...line(), padding: 'p'.repeat(2_000) };
    expect(() => created.start(big)).toThrow(expect.objectContaining({ limit: 'maxSchemaBytes' }));
    expect(() => created.start(JSON.stringify(big))).toThrow(expect.objectContaining({ limit: 'maxSchemaBytes' }));
  });
});

/** start → loop over `items` (body: block-start → emit → block-end) → end. */
function loop(body: Record<string, unknown> = node('inner', 'emit', { size: 10 })): Record<string, unknown> {
  const flow = line({
    ...node('loop_0', 'loop', { loopFor: { type: 'ref', content: ['start_0', 'items'] } }),
    blocks: [node('bs', 'block-start'), body, node('be', 'block-end')],
    edges: [
      { sourceNodeID: 'bs', targetNodeID: body.id },
      { sourceNodeID: body.id, targetNodeID: 'be' },
    ],
  });
  return flow;
}
const items = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

describe('maxSnapshotsPerNode', () => {
  it('keeps the first and last halves of a node that ran many times, and counts the rest', async () => {
    const task = runtime({ limits: { maxSnapshotsPerNode: 10 } }).start(loop(), { items: items(1_000) });
    await task.wait();
    const report = task.report();
    const inner = report.reports.inner as (typeof report.reports)[string] & { snapshotsOmitted?: number };
    expect(inner.snapshots).toHaveLength(10);
    expect(inner.snapshotsOmitted).toBe(990);
    const seqs = inner.snapshots.map((snapshot) => Number(snapshot.id.split(':').at(-1)));
    // Snapshot numbers grow with each run: the first five runs, then the last five.
    expect(seqs.slice(0, 5)).toEqual([...seqs.slice(0, 5)].sort((a, b) => a - b));
    expect(seqs[5] - seqs[4]).toBeGreaterThan(990);
    expect(report.reports.loop_0.snapshots).toHaveLength(1);
    expect(task.reportJSON()).toBe(JSON.stringify(report));
  });

  it('keeps memory flat however often a node runs', async () => {
    const created = runtime();
    const small = created.start(loop(), { items: items(200) });
    const large = created.start(loop(), { items: items(20_000) });
    await Promise.all([small.wait(), large.wait()]);
    const loopReports = (task: typeof small): string => JSON.stringify(['bs', 'inner', 'be'].map((id) => task.report().reports[id].snapshots));
    expect(loopReports(large).length).toBeLessThan(loopReports(small).length * 1.2);
  });
});

describe('maxReportBytes', () => {
  it('fails the task once its report would hold more, naming the node', async () => {
    const error = await failure(runtime({ limits: { maxReportBytes: 50_000 } }).start(loop(node('inner', 'emit', { size: 1_000 })), { items: items(200) }));
    expect(error.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    expect(error.message).toMatch(/maxReportBytes.*"inner"/);
  });

  it('counts only the snapshots it keeps', async () => {
    const created = runtime({ limits: { maxReportBytes: 100_000, maxSnapshotsPerNode: 20 } });
    await expect(created.run(loop(node('inner', 'emit', { size: 1_000 })), { items: items(1_000) })).resolves.toEqual({});
  });
});

describe('maxEvents', () => {
  it('sends listeners at most maxEvents events, one warning, and always the end', async () => {
    const task = runtime({ limits: { maxEvents: 100 } }).start(loop(), { items: items(500) });
    const heard: TaskEvent[] = [];
    task.subscribe((event) => heard.push(event));
    await task.wait();
    expect(heard.length).toBeLessThanOrEqual(102);
    expect(heard.filter((event) => event.type === 'message' && /maxEvents/.test(event.message))).toHaveLength(1);
    expect(heard.at(-1)).toMatchObject({ type: 'workflow_finished', status: 'succeeded' });
    const replayed = task.events();
    expect(replayed.length).toBeLessThanOrEqual(101);
    expect(replayed.at(-1)).toMatchObject({ type: 'workflow_finished' });
    expect(task.report().messages.warning.map((message) => message.message)).toContainEqual(expect.stringMatching(/maxEvents/));
  });
});

describe('taskTimeoutMs', () => {
  it('fails a task waiting on a slow node, naming the limit and the node', async () => {
    const flow = line(node('slow', 'sleep', { ms: 10_000 }));
    const started = Date.now();
    const error = await failure(runtime({ limits: { taskTimeoutMs: 100 } }).start(flow));
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED, nodeID: 'slow' });
    expect(error.message).toMatch(/taskTimeoutMs: the task ran longer than 100 ms/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails a task that keeps the engine busy (no node ever waits)', async () => {
    const error = await failure(runtime({ limits: { taskTimeoutMs: 50, maxNodeExecutions: Number.POSITIVE_INFINITY } }).start(loop(), { items: items(300_000) }));
    expect(error.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    expect(error.message).toMatch(/taskTimeoutMs/);
  });
});

describe('maxNodeExecutions', () => {
  it('names the limit and the node', async () => {
    const error = await failure(runtime({ limits: { maxNodeExecutions: 50 } }).start(loop(), { items: items(100) }));
    expect(error).toMatchObject({ code: ErrorCodes.LIMIT_EXCEEDED });
    expect(error.message).toMatch(/maxNodeExecutions/);
    expect(error.nodeID).toBeDefined();
  });
});
