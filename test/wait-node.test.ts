/**
 * The `wait` node: a task pauses (status `waiting`, `processing` with a `waiting` snapshot in the
 * upstream report) until it is signalled through the SDK, REST, tRPC or the CLI; its data are checked
 * against the node's outputs. Timeouts follow onError; cancel works while it waits; `flowgram run` stops
 * at a wait (or, with --wait, waits for its timeout). Crashes, with real SIGKILLs, on SQLite and
 * PostgreSQL: a server killed while the task waits, or just after a signal claimed the wait (continued
 * from the stored report: nothing before the wait runs again); a wait's timeout after a restart, and on
 * a peer when the task's server died. Queue mode (real Redis and PostgreSQL): a second API server
 * signals a task a worker left waiting, a worker times a wait out, an API server killed between its
 * claim and the hand-over, a worker killed before its first write. Closing while a task waits warns of
 * nothing: a runtime mid-scan of its store, a queue worker with a live report refresh pending.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/index.js';
import { createRuntime, createSqliteStore, ErrorCodes, type FlowgramRouter, type TaskStore } from '../src/index.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createQueueTaskService } from '../src/queue/queue-task-service.js';
import { startQueueWorker, type QueueWorker } from '../src/queue/worker.js';
import { createServer } from '../src/server/index.js';
import { createPostgresStore } from '../src/store/postgres.js';
import { RESUMED_MESSAGE } from '../src/store/recovery.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { httpNode, stepCalls } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { postgresBinDir, startPostgres, type PostgresInstance } from './helpers/postgres.js';
import { hearWarnings } from './helpers/process-warnings.js';
import { redisBinary, startRedis } from './helpers/redis.js';
import { request, startTestServer } from './helpers/server-harness.js';
import { killStoreServer, startStoreServer, storeServerChildren } from './helpers/store-server-process.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const queueSignalHelper = join(root, 'test/helpers/queue-signal-process.ts');
const queueWorkerHelper = join(root, 'test/helpers/queue-worker-process.ts');
const cliHelper = join(root, 'test/helpers/flowgram-cli.ts');
const dir = mkdtempSync(join(tmpdir(), 'flowgram-wait-'));
let echo: EchoServer;
beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  for (const child of storeServerChildren) child.kill('SIGKILL');
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const meta = { position: { x: 0, y: 0 } };
type Snapshot = { waiting?: boolean; outputs?: Record<string, unknown>; error?: string; errorHandled?: boolean; inputs?: Record<string, unknown> };
type Reports = Record<string, { status: string; snapshots: Snapshot[] }>;

/**
 * start(q) → ask (wait: shows q, expects {approved, note?}) → end(approved, note); with `echoOrigin`, an
 * HTTP node `before` (GET /echo?step=before, counted by the echo server) runs between start and ask.
 */
function approvalFlow(wait: Record<string, unknown> = {}, echoOrigin?: string): Record<string, unknown> {
  const before = echoOrigin === undefined ? [] : [httpNode('before', `${echoOrigin}/echo?step=before`)];
  const first = before.length > 0 ? 'before' : 'start_0';
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { q: { type: 'string' } } } } },
      ...before,
      {
        id: 'ask',
        type: 'wait',
        meta,
        data: {
          title: 'Ask a human',
          inputs: { type: 'object', properties: { question: { type: 'string' } } },
          inputsValues: { question: { type: 'ref', content: ['start_0', 'q'] } },
          outputs: { type: 'object', properties: { approved: { type: 'boolean' }, note: { type: 'string' } }, required: ['approved'] },
          ...wait,
        },
      },
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: { approved: { type: 'boolean' }, note: { type: 'string' } } },
          inputsValues: { approved: { type: 'ref', content: ['ask', 'approved'] }, note: { type: 'ref', content: ['ask', 'note'] } },
        },
      },
    ],
    edges: [
      ...(before.length > 0 ? [{ sourceNodeID: 'start_0', targetNodeID: 'before' }] : []),
      { sourceNodeID: first, targetNodeID: 'ask' },
      { sourceNodeID: 'ask', targetNodeID: 'end_0' },
      ...(wait.onError === 'branch' ? [{ sourceNodeID: 'ask', targetNodeID: 'end_0', sourcePortID: 'error' }] : []),
    ],
  };
}

const reportsOf = (report: unknown): Reports => (report as { reports: Reports }).reports;

describe('wait node with the SDK', () => {
  it('waits with nothing running, is `processing` with a waiting snapshot on the wire, and runs on when signalled', async () => {
    const runtime = createRuntime();
    try {
      const task = runtime.start(approvalFlow(), { q: 'ship it?' });
      expect(task.status).toBe('waiting');
      expect(runtime.stats().running).toBe(0);
      const report = task.report();
      TaskReportDefine.schema.output.parse(report);
      expect(report.workflowStatus).toMatchObject({ status: 'processing', terminated: false });
      expect(reportsOf(report).ask).toMatchObject({ status: 'processing', snapshots: [{ waiting: true, inputs: { question: 'ship it?' } }] });
      expect((await runtime.listTasks({ status: 'waiting' })).map((summary) => summary.id)).toEqual([task.id]);
      expect((await runtime.countTasks()).waiting).toBe(1);

      await expect(runtime.signal(task.id, 'ask', { approved: 'yes' })).rejects.toMatchObject({
        code: ErrorCodes.INPUTS_INVALID,
        details: ['data.approved: must be boolean'],
      });
      await expect(runtime.signal(task.id, 'ask', {})).rejects.toMatchObject({ code: ErrorCodes.INPUTS_INVALID, details: ['data.approved: is required'] });
      await expect(runtime.signal(task.id, 'nope', { approved: true })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
      await expect(runtime.signal(task.id, 'end_0', { approved: true })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
      await expect(runtime.signal('no-such-task', 'ask', { approved: true })).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
      expect(task.status).toBe('waiting');

      await runtime.signal(task.id, 'ask', { approved: true, note: 'fine' });
      expect(await task.wait()).toEqual({ approved: true, note: 'fine' });
      expect(reportsOf(task.report()).ask).toMatchObject({ status: 'succeeded', snapshots: [{ outputs: { approved: true, note: 'fine' } }] });
      expect((reportsOf(task.report()).ask.snapshots[0] as Snapshot).waiting).toBeUndefined();
      await expect(runtime.signal(task.id, 'ask', { approved: true })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
    } finally {
      await runtime.close();
    }
  });

  it('times out following onError: fail (FLOWGRAM_ERR_NODE_TIMEOUT), continue with defaults, or the error port', async () => {
    const runtime = createRuntime();
    try {
      const failed = runtime.start(approvalFlow({ timeoutMs: 50 }), { q: '?' });
      await expect(failed.wait()).rejects.toMatchObject({ code: ErrorCodes.NODE_TIMEOUT, nodeID: 'ask' });

      const continued = runtime.start(approvalFlow({ timeoutMs: 50, onError: { continue: { outputs: { approved: false, note: 'nobody answered' } } } }), { q: '?' });
      expect(await continued.wait()).toEqual({ approved: false, note: 'nobody answered' });
      expect(reportsOf(continued.report()).ask).toMatchObject({ status: 'failed', snapshots: [{ errorHandled: true, error: expect.stringContaining('timed out') }] });

      const branched = runtime.start(approvalFlow({ timeoutMs: 50, onError: 'branch' }), { q: '?' });
      await branched.done;
      expect(branched.status).toBe('succeeded');
      expect(reportsOf(branched.report()).ask.snapshots[0]).toMatchObject({ outputs: { error: { code: ErrorCodes.NODE_TIMEOUT } } });
    } finally {
      await runtime.close();
    }
  });

  it('cancels a waiting task', async () => {
    const runtime = createRuntime();
    try {
      const task = runtime.start(approvalFlow(), { q: '?' });
      expect(await runtime.cancelTask(task.id, 'not needed')).toBe(true);
      expect(task.status).toBe('canceled');
      expect(reportsOf(task.report()).ask.status).toBe('canceled');
    } finally {
      await runtime.close();
    }
  });

  it('refuses a wait node inside a loop', () => {
    const runtime = createRuntime();
    const flow = {
      nodes: [
        { id: 'start_0', type: 'start', meta, data: { outputs: { type: 'object', properties: { items: { type: 'array', items: { type: 'string' } } } } } },
        {
          id: 'loop',
          type: 'loop',
          meta,
          data: { loopFor: { type: 'ref', content: ['start_0', 'items'] } },
          blocks: [{ id: 'bs', type: 'block-start', meta, data: {} }, { id: 'w', type: 'wait', meta, data: {} }, { id: 'be', type: 'block-end', meta, data: {} }],
          edges: [{ sourceNodeID: 'bs', targetNodeID: 'w' }, { sourceNodeID: 'w', targetNodeID: 'be' }],
        },
        { id: 'end_0', type: 'end', meta, data: {} },
      ],
      edges: [{ sourceNodeID: 'start_0', targetNodeID: 'loop' }, { sourceNodeID: 'loop', targetNodeID: 'end_0' }],
    };
    expect(runtime.validate(flow).errors).toEqual(['nodes[1].blocks[1].type: a "wait" node must be on the workflow\'s top level, not inside a loop']);
  });
});

describe('closing while a task waits', () => {
  it('a runtime closed during its scan of the store for waiting tasks lets the scan end first: no warning, the task still waits in the store', async () => {
    const path = join(dir, 'close-mid-scan.db');
    const sqlite = createSqliteStore({ path });
    // The scan's listing of waiting tasks can be held at a gate: close() then begins with a scan in flight.
    let gate: { held: () => void; open: Promise<void> } | undefined;
    const store: TaskStore = {
      ...sqlite,
      async listTasks(filter) {
        const held = filter.status === 'waiting' ? gate : undefined;
        if (held) {
          gate = undefined;
          held.held();
          await held.open;
        }
        return sqlite.listTasks(filter);
      },
    };
    const runtime = createRuntime({ store, recovery: { leaseMs: 50 } });
    const task = runtime.start(approvalFlow({ timeoutMs: 60_000 }), { q: 'closing?' });
    for (let waited = 0; task.status !== 'waiting'; waited += 10) {
      if (waited > 10_000) throw new Error(`the task did not wait: ${task.status}`);
      await sleep(10);
    }
    await runtime.flush();
    let openGate!: () => void;
    const scanHeld = new Promise<void>((held) => (gate = { held, open: new Promise<void>((open) => (openGate = open)) }));
    await scanHeld;

    const warnings = hearWarnings();
    try {
      const closed = runtime.close();
      await sleep(100); // were close() not waiting for the scan, the store would be closed by now
      openGate();
      await closed;
    } finally {
      await warnings.stop();
    }
    expect(warnings.heard).toEqual([]);
    const reopened = createSqliteStore({ path });
    try {
      expect((await reopened.getTask(task.id))?.status).toBe('waiting');
    } finally {
      await reopened.close();
    }
  });

  it.skipIf(redisBinary() === undefined)('a queue worker closed while a task it left waiting has a live report refresh pending publishes nothing after its connection quits: no warning', async () => {
    const redis = await startRedis();
    const path = join(dir, 'queue-close.db');
    const runtime = createRuntime();
    const service = createQueueTaskService(runtime, { url: redis.url, store: createSqliteStore({ path }) });
    const reader = createSqliteStore({ path });
    // A live report refresh is due this long after the task's last event: after the worker has closed.
    const worker = await startQueueWorker({ url: redis.url, store: createSqliteStore({ path }), lockMs: 5_000, publisher: { reportIntervalMs: 300 } });
    const warnings = hearWarnings();
    try {
      const { taskID } = await service.run({ schema: JSON.stringify(approvalFlow()), inputs: { q: 'closing?' } });
      for (let waited = 0; (await reader.getTask(taskID))?.status !== 'waiting'; waited += 10) {
        if (waited > 20_000) throw new Error('the task did not wait');
        await sleep(10);
      }
      expect(await worker.close()).toBe('finished');
      await sleep(500); // past the refresh that was due
    } finally {
      await warnings.stop();
      await worker.close();
      await service.close();
      await runtime.close();
      await reader.close();
      await redis.stop();
    }
    expect(warnings.heard).toEqual([]);
  });
});

describe('POST /api/task/signal, tRPC task.signal, flowgram signal', () => {
  it('answers over REST (400 with paths, 404, 409), lists waiting tasks, counts them in metrics, cancels one', async () => {
    const metrics = createMetrics();
    const server = await createServer({ runtime: createRuntime(), metrics, apiToken: null, docs: false, console: false });
    const inject = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => server.app.inject({ method, url, ...(payload ? { payload } : {}) });
    try {
      const { taskID } = (await inject('POST', '/api/task/run', { schema: approvalFlow(), inputs: { q: 'ok?' } })).json<{ taskID: string }>();
      const listed = (await inject('GET', '/api/tasks?status=waiting')).json<{ tasks: Array<{ id: string; status: string }>; counts: { waiting: number } }>();
      expect(listed.tasks).toEqual([expect.objectContaining({ id: taskID, status: 'waiting' })]);
      expect(listed.counts.waiting).toBe(1);
      expect((await inject('GET', '/metrics')).body).toContain('flowgram_tasks_waiting 1');
      expect((await inject('GET', `/api/task/result?taskID=${taskID}`)).statusCode).toBe(409);

      const bad = await inject('POST', '/api/task/signal', { taskID, nodeID: 'ask', data: { approved: 1, note: 2 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ code: ErrorCodes.INPUTS_INVALID, details: ['data.approved: must be boolean', 'data.note: must be string'] });
      expect((await inject('POST', '/api/task/signal', { taskID, nodeID: 'ask' })).json()).toMatchObject({ code: ErrorCodes.BAD_REQUEST, message: 'data: is required' });
      expect((await inject('POST', '/api/task/signal', { taskID: 'nope', nodeID: 'ask', data: {} })).statusCode).toBe(404);

      const ok = await inject('POST', '/api/task/signal', { taskID, nodeID: 'ask', data: { approved: true } });
      expect(ok.json()).toEqual({ taskID, status: 'succeeded' });
      expect((await inject('GET', `/api/task/result?taskID=${taskID}`)).json()).toEqual({ approved: true });
      expect((await inject('POST', '/api/task/signal', { taskID, nodeID: 'ask', data: { approved: true } })).statusCode).toBe(409);
      expect((await inject('GET', '/metrics')).body).toContain('flowgram_tasks_waiting 0');

      const other = (await inject('POST', '/api/task/run', { schema: approvalFlow(), inputs: { q: 'ok?' } })).json<{ taskID: string }>();
      expect((await inject('PUT', '/api/task/cancel', { taskID: other.taskID })).json()).toEqual({ success: true });
      expect((await inject('GET', `/api/task/report?taskID=${other.taskID}`)).json()).toMatchObject({ workflowStatus: { status: 'canceled' } });
    } finally {
      await server.close();
    }
  });

  it('answers over tRPC and from the command line', async () => {
    const server = await startTestServer({ runtime: createRuntime() });
    const output = { stdout: '', stderr: '' };
    const io = { stdout: { write: (text: string) => (output.stdout += text) }, stderr: { write: (text: string) => (output.stderr += text), isTTY: false } };
    try {
      const client = createTRPCClient<FlowgramRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
      const first = server.runtime.start(approvalFlow(), { q: '1' });
      expect(await client.task.signal.mutate({ taskID: first.id, nodeID: 'ask', data: { approved: false } })).toEqual({ taskID: first.id, status: 'succeeded' });
      const refused = await client.task.signal.mutate({ taskID: first.id, nodeID: 'ask', data: { approved: false } }).catch((error: unknown) => error);
      expect((refused as TRPCClientError<FlowgramRouter>).data).toMatchObject({ httpStatus: 409, flowgramCode: ErrorCodes.TASK_CONFLICT });

      const second = server.runtime.start(approvalFlow(), { q: '2' });
      expect(await main(['signal', second.id, 'ask', '--data', '{"approved":true,"note":"cli"}', '--server', server.url], io)).toBe(0);
      expect(JSON.parse(output.stdout)).toEqual({ taskID: second.id, status: 'succeeded' });
      expect(await second.wait()).toEqual({ approved: true, note: 'cli' });
      expect(await main(['signal', second.id, 'ask', '--data', '{"approved":true}', '--server', server.url], io)).toBe(1);
      expect(output.stderr).toMatch(/^flowgram: taskID: task "[^"]+" is succeeded, not waiting for a signal\n$/);
      expect((await request(`${server.url}/openapi.json`)).body).toMatchObject({ paths: { '/api/task/signal': { post: expect.any(Object) } } });
    } finally {
      await server.close();
    }
  });
});

describe('flowgram run on a workflow with a wait node', () => {
  const flowFile = (name: string, flow: Record<string, unknown>): string => {
    const file = join(dir, `${name}.json`);
    writeFileSync(file, JSON.stringify(flow));
    return file;
  };

  /** `flowgram run` as a real process (from the sources): its exit code and output. */
  async function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', cliHelper, 'run', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  it('stops at the wait with exit code 1 and one line saying where it waits and how to answer it (a server)', async () => {
    const file = flowFile('waits', approvalFlow({ timeoutMs: 60_000 }));
    const report = join(dir, 'waits-report.json');
    const { code, stdout, stderr } = await runCli([file, '--inputs', '{"q":"ship?"}', '--no-progress', '--report', report]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^flowgram: workflow waiting for a signal at node ask, which flowgram run cannot receive: run it on a server \(flowgram serve\) and answer with flowgram signal <taskID> ask --data '<json>', or pass --wait to wait for its timeout \(60 s\)\n$/,
    );
    // The report says where it stopped: the wait's snapshot, waiting, with what it shows.
    const written = JSON.parse(readFileSync(report, 'utf8')) as unknown;
    expect(reportsOf(written).ask).toMatchObject({ status: 'processing', snapshots: [{ waiting: true, inputs: { question: 'ship?' } }] });

    const output = { stdout: '', stderr: '' };
    const io = { stdout: { write: (text: string) => (output.stdout += text) }, stderr: { write: (text: string) => (output.stderr += text), isTTY: false } };
    expect(await main(['run', flowFile('no-timeout', approvalFlow()), '--no-progress'], io)).toBe(1);
    expect(output.stderr).toBe("flowgram: workflow waiting for a signal at node ask, which flowgram run cannot receive: run it on a server (flowgram serve) and answer with flowgram signal <taskID> ask --data '<json>'\n");
  }, 30_000);

  it('--wait keeps the process waiting until the timeout, whose onError decides the outputs', async () => {
    const onError = { continue: { outputs: { approved: false, note: 'nobody answered' } } };
    const { code, stdout, stderr } = await runCli([flowFile('times-out', approvalFlow({ timeoutMs: 500, onError })), '--inputs', '{"q":"?"}', '--no-progress', '--wait']);
    expect(stderr).toMatch(/^flowgram: waiting for a signal at node ask, until its timeout in 1 s \(Ctrl-C stops\)\n$/);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ approved: false, note: 'nobody answered' });
  }, 30_000);
});

/** One store the crash tests run on: a SQLite file or a PostgreSQL database, fresh per test. */
interface StoreUnderTest {
  name: string;
  /** A new, empty database: a SQLite path or a postgres:// URL. */
  fresh(label: string): Promise<string>;
  open(db: string): Promise<TaskStore>;
}

const sqliteUnderTest: StoreUnderTest = {
  name: 'SQLite',
  fresh: async (label) => join(dir, `${label}.db`),
  open: async (db) => createSqliteStore({ path: db, retention: { intervalMs: 0 } }),
};

let postgres: PostgresInstance | undefined;
const postgresUnderTest: StoreUnderTest = {
  name: 'PostgreSQL',
  async fresh(label) {
    postgres ??= await startPostgres();
    const admin = new pg.Pool({ connectionString: postgres.url, max: 1 });
    await admin.query(`CREATE DATABASE ${label}`);
    await admin.end();
    return postgres.url.replace(/\/postgres$/, `/${label}`);
  },
  open: (db) => createPostgresStore({ url: db, retention: { intervalMs: 0 } }),
};
afterAll(() => postgres?.stop());

const storesUnderTest = postgresBinDir() === undefined ? [sqliteUnderTest] : [sqliteUnderTest, postgresUnderTest];

async function readStored<T>(target: StoreUnderTest, db: string, read: (store: TaskStore) => Promise<T> | T): Promise<T> {
  const store = await target.open(db);
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

/** Polls the store (as another process would see it) until the task has `status`. */
async function storedStatus(target: StoreUnderTest, db: string, taskID: string, status: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = await readStored(target, db, async (store) => (await store.getTask(taskID))?.status);
    if (now === status) return;
    if (Date.now() > deadline) throw new Error(`task ${taskID} is still ${now}, not ${status}, after ${ms} ms`);
    await sleep(50);
  }
}

async function post(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  return (await (await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) })).json()) as Record<string, unknown>;
}

async function getJSON(base: string, path: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>;
}

/** Polls a store server until the task has ended; its {status, outputs}. */
async function endedResult(base: string, taskID: string, ms = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const result = await getJSON(base, `/result?taskID=${taskID}`);
    if (['succeeded', 'failed', 'canceled'].includes(String(result.status))) return result;
    if (Date.now() > deadline) throw new Error(`task ${taskID} is still ${String(result.status)} after ${ms} ms`);
    await sleep(50);
  }
}

describe.each(storesUnderTest)('a waiting task survives its server ($name)', (target) => {
  it('the server is SIGKILLed while the task waits; the next one answers the signal and the task finishes', async () => {
    const db = await target.fresh('survives');
    const first = await startStoreServer(db);
    const { taskID } = (await post(first.base, '/run', { schema: approvalFlow(), inputs: { q: 'after a crash?' } })) as { taskID: string };
    // Waiting is written within a moment (its report is its checkpoint).
    await storedStatus(target, db, taskID, 'waiting');
    await killStoreServer(first);

    const second = await startStoreServer(db);
    try {
      expect(await post(second.base, '/signal', { taskID, nodeID: 'ask', data: { approved: 'maybe' } })).toMatchObject({ code: ErrorCodes.INPUTS_INVALID });
      expect(await post(second.base, '/signal', { taskID, nodeID: 'ask', data: { approved: true, note: 'restarted' } })).toEqual({ taskID, status: 'succeeded' });
      expect(await getJSON(second.base, `/result?taskID=${taskID}`)).toMatchObject({ status: 'succeeded', outputs: { approved: true, note: 'restarted' } });
      const report = await getJSON(second.base, `/report?taskID=${taskID}`);
      TaskReportDefine.schema.output.parse(report);
      // The wait's snapshot from before the crash is the one answered: inputs kept, no second run.
      expect(reportsOf(report).ask.snapshots).toEqual([expect.objectContaining({ inputs: { question: 'after a crash?' }, outputs: { approved: true, note: 'restarted' } })]);
    } finally {
      await killStoreServer(second);
    }
  }, 60_000);

  it('the server dies just after a signal claimed the wait: the next one continues from the stored report, nothing before the wait runs again', async () => {
    const db = await target.fresh('claimed');
    echo.requests.length = 0;
    const first = await startStoreServer(db, '--die-after-claim');
    const { taskID } = (await post(first.base, '/run', { schema: approvalFlow({}, echo.origin), inputs: { q: 'claimed?' } })) as { taskID: string };
    await storedStatus(target, db, taskID, 'waiting');
    const exited = new Promise((resolve) => first.child.once('exit', (_code, signal) => resolve(signal)));
    // The server dies answering it: the client never hears that the signal was taken.
    await expect(post(first.base, '/signal', { taskID, nodeID: 'ask', data: { approved: true, note: 'lost' } })).rejects.toThrow();
    expect(await exited).toBe('SIGKILL');
    // The window: claimed (processing), and nothing of the continued run written (no journal, the waiting report).
    const left = await readStored(target, db, async (store) => ({ status: (await store.getTask(taskID))?.status, events: (await store.getEvents(taskID)).length }));
    expect(left).toEqual({ status: 'processing', events: 0 });

    const second = await startStoreServer(db);
    try {
      // Recovered from its report: it waits again at the same node (the answer never reached a client).
      expect(await getJSON(second.base, `/result?taskID=${taskID}`)).toMatchObject({ status: 'waiting' });
      expect(stepCalls(echo).before).toBe(1);
      expect(await post(second.base, '/signal', { taskID, nodeID: 'ask', data: { approved: true, note: 'again' } })).toEqual({ taskID, status: 'succeeded' });
      expect(await getJSON(second.base, `/result?taskID=${taskID}`)).toMatchObject({ status: 'succeeded', outputs: { approved: true, note: 'again' } });
      const report = await getJSON(second.base, `/report?taskID=${taskID}`);
      TaskReportDefine.schema.output.parse(report);
      expect(reportsOf(report).before.snapshots).toHaveLength(1);
      expect(reportsOf(report).ask.snapshots).toEqual([expect.objectContaining({ inputs: { question: 'claimed?' }, outputs: { approved: true, note: 'again' } })]);
      expect((report as { messages: { warning: Array<{ message: string }> } }).messages.warning.map((message) => message.message)).toContain(RESUMED_MESSAGE);
      expect(stepCalls(echo).before).toBe(1);
    } finally {
      await killStoreServer(second);
    }
  }, 60_000);

  it('the server is SIGKILLed while the task waits; after a restart its timeout fires and follows onError', async () => {
    const db = await target.fresh('timeout');
    const first = await startStoreServer(db);
    const onError = { continue: { outputs: { approved: false, note: 'nobody answered' } } };
    const { taskID } = (await post(first.base, '/run', { schema: approvalFlow({ timeoutMs: 3_000, onError }), inputs: { q: 'anyone?' } })) as { taskID: string };
    await storedStatus(target, db, taskID, 'waiting');
    await killStoreServer(first);
    // Killed before its timeout: only a restarted server can fire it.
    await storedStatus(target, db, taskID, 'waiting', 0);

    const second = await startStoreServer(db);
    try {
      expect(await endedResult(second.base, taskID)).toMatchObject({ status: 'succeeded', outputs: { approved: false, note: 'nobody answered' } });
      const report = await getJSON(second.base, `/report?taskID=${taskID}`);
      expect(reportsOf(report).ask).toMatchObject({ status: 'failed', snapshots: [{ errorHandled: true, error: expect.stringContaining('timed out') }] });
    } finally {
      await killStoreServer(second);
    }
  }, 60_000);

  it('a peer sharing the store fires the timeout of a task whose server died after the peer started', async () => {
    const db = await target.fresh('peer');
    const peer = createRuntime({ executors: testExecutors(), store: await target.open(db), recovery: { leaseMs: 300 } });
    try {
      await peer.listTasks(); // its first scan of the store is over: the task below is not in it
      const first = await startStoreServer(db, '--lease-ms=300');
      const onError = { continue: { outputs: { approved: false, note: 'timed out on the peer' } } };
      const { taskID } = (await post(first.base, '/run', { schema: approvalFlow({ timeoutMs: 2_000, onError }), inputs: { q: 'peer?' } })) as { taskID: string };
      await storedStatus(target, db, taskID, 'waiting');
      await killStoreServer(first);
      for (const deadline = Date.now() + 20_000; (await peer.getResult(taskID))?.status !== 'succeeded' && Date.now() < deadline; ) await sleep(50);
      expect(await peer.getResult(taskID)).toEqual({ status: 'succeeded', outputs: { approved: false, note: 'timed out on the peer' } });
    } finally {
      await peer.close();
    }
  }, 60_000);
});

const queueAvailable = redisBinary() !== undefined && postgresBinDir() !== undefined;

describe.skipIf(!queueAvailable)('wait node in queue mode', () => {
  it('a worker leaves the task waiting in the store; another API server signals it and a worker finishes it', async () => {
    const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const runtimes = [createRuntime(), createRuntime()];
    const [serverA, serverB] = await Promise.all(
      runtimes.map(async (runtime) => createQueueTaskService(runtime, { url: redis.url, store: await createPostgresStore({ url: postgres.url }) })),
    );
    const worker = await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), concurrency: 2, lockMs: 5_000 });
    try {
      const { taskID } = await serverA.run({ schema: JSON.stringify(approvalFlow()), inputs: { q: 'fleet?' } });
      for (let status = ''; status !== 'waiting'; await new Promise((resolve) => setTimeout(resolve, 50))) {
        status = (await serverB.list({ status: 'waiting' })).tasks.find((task) => task.id === taskID)?.status ?? '';
      }
      expect(worker.running()).toBe(0); // no slot held while it waits
      expect((await serverB.report(taskID)).workflowStatus.status).toBe('processing');

      await expect(serverB.signal({ taskID, nodeID: 'ask', data: { approved: 'no' } })).rejects.toMatchObject({ code: ErrorCodes.INPUTS_INVALID });
      expect(await serverB.signal({ taskID, nodeID: 'ask', data: { approved: true, note: 'from B' } })).toEqual({ taskID, status: 'processing' });
      await expect(serverA.signal({ taskID, nodeID: 'ask', data: { approved: false } })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
      expect(await serverA.result(taskID, 20_000)).toEqual({ approved: true, note: 'from B' });

      // Cancel of a waiting task goes through a worker too.
      const other = await serverA.run({ schema: JSON.stringify(approvalFlow()), inputs: { q: 'cancel me' } });
      for (let status = ''; status !== 'waiting'; await new Promise((resolve) => setTimeout(resolve, 50))) {
        status = (await serverB.list({ status: 'waiting' })).tasks.find((task) => task.id === other.taskID)?.status ?? '';
      }
      expect(await serverB.cancel(other.taskID, 'no longer needed')).toEqual({ success: true });
      await expect(serverA.result(other.taskID, 20_000)).rejects.toMatchObject({ code: ErrorCodes.TASK_CANCELLED });

      // A wait's timeout: no process holds the task, a worker times it out through the queue and onError decides.
      const onError = { continue: { outputs: { approved: false, note: 'nobody in the fleet answered' } } };
      const timed = await serverA.run({ schema: JSON.stringify(approvalFlow({ timeoutMs: 1_000, onError })), inputs: { q: 'anyone?' } });
      expect(await serverB.result(timed.taskID, 20_000)).toEqual({ approved: false, note: 'nobody in the fleet answered' });
      expect(reportsOf(await serverB.report(timed.taskID)).ask).toMatchObject({ status: 'failed', snapshots: [{ errorHandled: true, error: expect.stringContaining('timed out') }] });
    } finally {
      await worker.close(0);
      await Promise.all([serverA.close(), serverB.close()]);
      await Promise.all(runtimes.map((runtime) => runtime.close()));
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  }, 90_000);

  it('a worker SIGKILLed after it took a signal, before it wrote anything: another continues the task from its report with that signal', async () => {
    const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const runtime = createRuntime();
    const server = createQueueTaskService(runtime, { url: redis.url, store: await createPostgresStore({ url: postgres.url }) });
    const reader = await createPostgresStore({ url: postgres.url, retention: { intervalMs: 0 } });
    const workers: QueueWorker[] = [];
    echo.requests.length = 0;
    try {
      workers.push(await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), lockMs: 1_000 }));
      const { taskID } = await server.run({ schema: JSON.stringify(approvalFlow({}, echo.origin)), inputs: { q: 'worker dies?' } });
      for (let status = ''; status !== 'waiting'; await sleep(50)) status = (await reader.getTask(taskID))?.status ?? '';
      await workers[0].close();

      // The only worker now dies as it starts writing the continued run.
      const victim = spawn(process.execPath, ['--import', 'tsx', queueWorkerHelper, redis.url, postgres.url, '1000'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise((resolve) => victim.stdout.on('data', resolve));
      const exited = once(victim, 'exit');
      expect(await server.signal({ taskID, nodeID: 'ask', data: { approved: true, note: 'survived the worker' } })).toEqual({ taskID, status: 'processing' });
      expect((await exited)[1]).toBe('SIGKILL');
      expect({ status: (await reader.getTask(taskID))?.status, events: (await reader.getEvents(taskID)).length }).toEqual({ status: 'processing', events: 0 });

      workers.push(await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), lockMs: 1_000 }));
      expect(await server.result(taskID, 20_000)).toEqual({ approved: true, note: 'survived the worker' });
      expect(stepCalls(echo).before).toBe(1);
    } finally {
      await reader.close();
      for (const worker of workers) await worker.close(0);
      await server.close();
      await runtime.close();
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  }, 90_000);

  it('an API server SIGKILLed just after it claimed the wait for a signal: a worker still continues the task with that signal', async () => {
    const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const runtime = createRuntime();
    const server = createQueueTaskService(runtime, { url: redis.url, store: await createPostgresStore({ url: postgres.url }) });
    const worker = await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), concurrency: 2, lockMs: 5_000 });
    const reader = await createPostgresStore({ url: postgres.url, retention: { intervalMs: 0 } });
    try {
      const { taskID } = await server.run({ schema: JSON.stringify(approvalFlow()), inputs: { q: 'who answers?' } });
      for (let status = ''; status !== 'waiting'; await sleep(50)) status = (await reader.getTask(taskID))?.status ?? '';

      const data = JSON.stringify({ approved: true, note: 'from the dead server' });
      const child = spawn(process.execPath, ['--import', 'tsx', queueSignalHelper, redis.url, postgres.url, taskID, 'ask', data, '500'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
      expect(signal, stderr).toBe('SIGKILL');
      // Claimed by the dead server, which handed nothing to a worker after its claim.
      expect((await reader.getTask(taskID))?.status).toBe('processing');

      expect(await server.result(taskID, 20_000)).toEqual({ approved: true, note: 'from the dead server' });
      await expect(server.signal({ taskID, nodeID: 'ask', data: { approved: false } })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
    } finally {
      await reader.close();
      await worker.close(0);
      await server.close();
      await runtime.close();
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  }, 90_000);
});
