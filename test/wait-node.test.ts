/**
 * The `wait` node: a task pauses (status `waiting`, `processing` with a `waiting` snapshot in the
 * upstream report) until it is signalled through the SDK, REST, tRPC or the CLI; its data are checked
 * against the node's outputs. Timeouts follow onError; cancel works while it waits. It survives a
 * SIGKILL of the server before its signal (SQLite), and in queue mode a second API server signals a
 * task a worker left waiting (real Redis and PostgreSQL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/index.js';
import { createRuntime, createSqliteStore, ErrorCodes, type FlowgramRouter } from '../src/index.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createQueueTaskService } from '../src/queue/queue-task-service.js';
import { startQueueWorker } from '../src/queue/worker.js';
import { createServer } from '../src/server/index.js';
import { createPostgresStore } from '../src/store/postgres.js';
import { postgresBinDir, startPostgres } from './helpers/postgres.js';
import { redisBinary, startRedis } from './helpers/redis.js';
import { request, startTestServer } from './helpers/server-harness.js';
import { killStoreServer, startStoreServer, storeServerChildren } from './helpers/store-server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'flowgram-wait-'));
afterAll(() => {
  for (const child of storeServerChildren) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const meta = { position: { x: 0, y: 0 } };
type Snapshot = { waiting?: boolean; outputs?: Record<string, unknown>; error?: string; errorHandled?: boolean; inputs?: Record<string, unknown> };
type Reports = Record<string, { status: string; snapshots: Snapshot[] }>;

/** start(q) → ask (wait: shows q, expects {approved, note?}) → end(approved, note) */
function approvalFlow(wait: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { q: { type: 'string' } } } } },
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
      { sourceNodeID: 'start_0', targetNodeID: 'ask' },
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

describe('a waiting task survives its server', () => {
  it('SQLite: the server is SIGKILLed while the task waits; the next one answers the signal and the task finishes', async () => {
    const db = join(dir, 'wait.db');
    const first = await startStoreServer(db);
    const run = await fetch(`${first.base}/run`, { method: 'POST', body: JSON.stringify({ schema: approvalFlow(), inputs: { q: 'after a crash?' } }) });
    const { taskID } = (await run.json()) as { taskID: string };
    // Waiting is written within a moment (its report is its checkpoint).
    for (let status = ''; status !== 'waiting'; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const reader = createSqliteStore({ path: db, retention: { intervalMs: 0 } });
      status = (await reader.getTask(taskID))?.status ?? '';
      await reader.close();
    }
    await killStoreServer(first);

    const second = await startStoreServer(db);
    try {
      const bad = await fetch(`${second.base}/signal`, { method: 'POST', body: JSON.stringify({ taskID, nodeID: 'ask', data: { approved: 'maybe' } }) });
      expect(await bad.json()).toMatchObject({ code: ErrorCodes.INPUTS_INVALID });
      const signalled = await fetch(`${second.base}/signal`, { method: 'POST', body: JSON.stringify({ taskID, nodeID: 'ask', data: { approved: true, note: 'restarted' } }) });
      expect(await signalled.json()).toEqual({ taskID, status: 'succeeded' });
      const result = (await (await fetch(`${second.base}/result?taskID=${taskID}`)).json()) as { status: string; outputs: unknown };
      expect(result).toMatchObject({ status: 'succeeded', outputs: { approved: true, note: 'restarted' } });
      const report = (await (await fetch(`${second.base}/report?taskID=${taskID}`)).json()) as unknown;
      TaskReportDefine.schema.output.parse(report);
      // The wait's snapshot from before the crash is the one answered: inputs kept, no second run.
      expect(reportsOf(report).ask.snapshots).toEqual([expect.objectContaining({ inputs: { question: 'after a crash?' }, outputs: { approved: true, note: 'restarted' } })]);
    } finally {
      await killStoreServer(second);
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
    } finally {
      await worker.close(0);
      await Promise.all([serverA.close(), serverB.close()]);
      await Promise.all(runtimes.map((runtime) => runtime.close()));
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  }, 90_000);
});
