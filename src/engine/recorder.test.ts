import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createRuntime } from '../runtime.js';
import type { NodeExecutor, NodeLogger, TaskEvent } from './types.js';

const executors: NodeExecutor[] = [
  {
    type: 'chatty',
    async execute(context) {
      context.log.info(`hello from ${context.node.id}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
      context.progress({ partial: 'tok' });
      context.log.warn('done soon');
      if (context.node.data.fail) throw new Error('chatty failed');
      return { outputs: { said: 'hi' } };
    },
  },
];

const node = (id: string, type: string, data: Record<string, unknown> = {}): Record<string, unknown> => ({ id, type, data });
const schema = (fail: boolean): Record<string, unknown> => ({
  nodes: [
    node('start_0', 'start', { outputs: { type: 'object', properties: { list: { type: 'array', items: { type: 'integer' } } } } }),
    node('first', 'chatty'),
    {
      ...node('loop_0', 'loop', { loopFor: { type: 'ref', content: ['start_0', 'list'] } }),
      blocks: [node('bs', 'block-start'), node('inner', 'chatty', { fail }), node('be', 'block-end')],
      edges: [
        { sourceNodeID: 'bs', targetNodeID: 'inner' },
        { sourceNodeID: 'inner', targetNodeID: 'be' },
      ],
    },
    node('end_0', 'end'),
  ],
  edges: [
    { sourceNodeID: 'start_0', targetNodeID: 'first' },
    { sourceNodeID: 'first', targetNodeID: 'loop_0' },
    { sourceNodeID: 'loop_0', targetNodeID: 'end_0' },
  ],
});

describe('TaskRecorder event history', () => {
  for (const fail of [false, true]) {
    it(`replays exactly what a live listener heard (progress aside), ${fail ? 'failing' : 'succeeding'} workflow`, async () => {
      const runtime = createRuntime({ executors });
      try {
        const task = runtime.start(schema(fail), { list: [1, 2, 3] });
        // What SSE does: replay the past, then listen, in the same tick.
        const heard: TaskEvent[] = [...task.events()];
        expect(heard.map((event) => event.type)).toEqual(['workflow_started', 'node_started', 'node_finished', 'node_started', 'message']);
        task.subscribe((event) => heard.push(event), { replay: false });
        await task.done;
        expect(heard.some((event) => event.type === 'node_progress')).toBe(true);
        const replayed = task.events();
        expect(replayed).toEqual(heard.filter((event) => event.type !== 'node_progress'));
        expect(replayed.at(-1)).toMatchObject({ type: 'workflow_finished', status: fail ? 'failed' : 'succeeded' });
        expect(replayed.filter((event) => event.type === 'message').map((event) => (event as { message: string }).message)).toContain('hello from inner');
      } finally {
        await runtime.close();
      }
    });
  }

  it('keeps no event objects for tasks nobody watches, yet replays them in order', async () => {
    const runtime = createRuntime({ executors });
    try {
      const task = runtime.start(schema(false), { list: [1] });
      await task.done;
      const types = task.events().map((event) => `${event.type}${'nodeID' in event && event.nodeID ? `:${event.nodeID}` : ''}`);
      expect(types.filter((type) => type.startsWith('node_'))).toEqual([
        'node_started:start_0',
        'node_finished:start_0',
        'node_started:first',
        'node_finished:first',
        'node_started:loop_0',
        'node_started:bs',
        'node_finished:bs',
        'node_started:inner',
        'node_finished:inner',
        'node_started:be',
        'node_finished:be',
        'node_finished:loop_0',
        'node_started:end_0',
        'node_finished:end_0',
      ]);
    } finally {
      await runtime.close();
    }
  });
});

/** What a `scripted` node does, from its data: log, report progress, then output or fail. */
interface Script {
  say: Array<[keyof NodeLogger, string]>;
  progress: Record<string, unknown> | null;
  result: Record<string, unknown>;
  fail: string | null;
}

const scripted: NodeExecutor = {
  type: 'scripted',
  secretInputs: ['apiKey'],
  async execute(context) {
    const script = context.node.data as unknown as Script;
    if (typeof context.inputs.apiKey === 'string') context.log.info(`using key ${context.inputs.apiKey}`); // masked in reports
    for (const [level, message] of script.say) context.log[level](message);
    if (script.progress) context.progress(script.progress);
    await Promise.resolve();
    if (script.fail !== null) throw new Error(script.fail);
    return { outputs: script.result };
  },
};

const script: fc.Arbitrary<Script> = fc.record({
  say: fc.array(fc.tuple(fc.constantFrom<keyof NodeLogger>('log', 'info', 'debug', 'warn', 'error'), fc.string({ unit: 'grapheme' })), { maxLength: 3 }),
  progress: fc.option(fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 })),
  result: fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
  fail: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.string(), weight: 1 }),
});

// Integer-like IDs are ordered first by JSON.stringify, so they take the copying path: both must agree.
const nodeIDs = fc.uniqueArray(fc.constantFrom('a', 'b b', 'é', 'quote"d', 'back\\slash', 'constructor', 'toString', '1', '154650', 'x_9'), {
  minLength: 1,
  maxLength: 4,
});

/** Both texts read the clock (a running task's time cost, the dropped-messages warning): let them read the same time. */
function sameClock<T>(read: () => T): T {
  const now = Date.now();
  const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
  try {
    return read();
  } finally {
    clock.mockRestore();
  }
}

describe('TaskRecorder.reportJSON', () => {
  it('writes exactly JSON.stringify(report()) for any task: messages, progress, failures, loops, secrets', async () => {
    await fc.assert(
      fc.asyncProperty(
        nodeIDs.chain((ids) => fc.tuple(fc.constant(ids), fc.array(script, { minLength: ids.length, maxLength: ids.length }))),
        fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.option(fc.string({ minLength: 4 }), { freq: 2 }),
        fc.integer({ min: 0, max: 4 }),
        async ([ids, scripts], inputs, items, secret, maxMessages) => {
          const nodes = ids.map((id, i) => ({
            ...node(id, 'scripted', { ...scripts[i] }),
            ...(secret !== null && i === 0 ? { data: { ...scripts[i], inputs: { type: 'object', properties: { apiKey: { type: 'string' } } }, inputsValues: { apiKey: { type: 'constant', content: secret } } } } : {}),
          }));
          const flow = {
            nodes: [
              node('start_0', 'start', { outputs: { type: 'object', properties: { items: { type: 'array', items: { type: 'integer' } } } } }),
              node('check', 'condition', { conditions: [{ key: 'if_items', value: { left: { type: 'ref', content: ['start_0', 'items'] }, operator: 'is_not_empty' } }] }),
              ...nodes,
              {
                ...node('loop_0', 'loop', { loopFor: { type: 'ref', content: ['start_0', 'items'] } }),
                blocks: [node('bs', 'block-start'), node('inner', 'scripted', { ...scripts[0] }), node('be', 'block-end')],
                edges: [
                  { sourceNodeID: 'bs', targetNodeID: 'inner' },
                  { sourceNodeID: 'inner', targetNodeID: 'be' },
                ],
              },
              node('end_0', 'end'),
            ],
            edges: [
              { sourceNodeID: 'start_0', targetNodeID: 'check' },
              { sourceNodeID: 'check', sourcePortID: 'else', targetNodeID: 'end_0' },
              ...[...ids, 'loop_0', 'end_0'].map((id, i, path) => ({ sourceNodeID: i === 0 ? 'check' : path[i - 1], targetNodeID: id, ...(i === 0 ? { sourcePortID: 'if_items' } : {}) })),
            ],
          };
          const runtime = createRuntime({ executors: [scripted], limits: { maxMessages } });
          try {
            const task = runtime.start(flow, { ...inputs, items });
            await task.done;
            sameClock(() => expect(task.reportJSON()).toBe(JSON.stringify(task.report())));
          } finally {
            await runtime.close();
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes a running task and a cancelled one as report() has them', async () => {
    let open = (): void => undefined;
    const gate: NodeExecutor = { type: 'gate', execute: () => new Promise((resolve) => (open = () => resolve({ outputs: { done: true } }))) };
    const runtime = createRuntime({ executors: [gate] });
    try {
      const flow = { nodes: [node('start_0', 'start'), node('wait', 'gate'), node('end_0', 'end')], edges: [{ sourceNodeID: 'start_0', targetNodeID: 'wait' }, { sourceNodeID: 'wait', targetNodeID: 'end_0' }] };
      const running = runtime.start(flow);
      await Promise.resolve();
      sameClock(() => expect(running.reportJSON()).toBe(JSON.stringify(running.report())));
      expect(JSON.parse(running.reportJSON())).toMatchObject({ workflowStatus: { status: 'processing' }, reports: { wait: { status: 'processing' } } });
      open();
      await running.done;
      const cancelled = runtime.start(flow);
      await Promise.resolve();
      cancelled.cancel('stop');
      sameClock(() => expect(cancelled.reportJSON()).toBe(JSON.stringify(cancelled.report())));
      expect(JSON.parse(cancelled.reportJSON())).toMatchObject({ workflowStatus: { status: 'canceled' }, reports: { wait: { status: 'canceled' } } });
    } finally {
      open();
      await runtime.close();
    }
  });
});
