/**
 * Resuming a failed or cancelled task under its own ID: through the SDK (from memory and, after a
 * restart, from the SQLite store), the REST route, tRPC, and in queue mode (a real Redis and
 * PostgreSQL). The counting echo server shows the node before the failing code node is called zero
 * more times and the node after it exactly once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/index.js';
import { createRuntime, createSqliteStore, ErrorCodes, type FlowgramRouter, type Runtime, type TaskStore } from '../src/index.js';
import { Queue } from 'bullmq';
import { KEY_PREFIX, QUEUE_NAME } from '../src/queue/keys.js';
import { createQueueTaskService } from '../src/queue/queue-task-service.js';
import { startQueueWorker } from '../src/queue/worker.js';
import { createPostgresStore } from '../src/store/postgres.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { delayNode, edge, endNode, startNode, workflow } from './fixtures/workflow-builders.js';
import { callsByStep, countedFlow, loopFlow, stepCalls } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { postgresBinDir, startPostgres } from './helpers/postgres.js';
import { redisBinary, startRedis } from './helpers/redis.js';
import { request, startTestServer } from './helpers/server-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'flowgram-resume-'));
let echo: EchoServer;
beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

const parseReport = (report: unknown): unknown => TaskReportDefine.schema.output.parse(report);
type Snapshots = Record<string, { status: string; snapshots: Array<{ error?: string; outputs?: unknown }> }>;

/** Runs the counted flow to its failure; returns the task ID and the calls it made. */
async function failOnce(runtime: Runtime): Promise<string> {
  echo.requests.length = 0;
  const task = runtime.start(countedFlow(echo.origin), { fail: true });
  await task.done;
  expect(task.status).toBe('failed');
  expect(task.error?.nodeID).toBe('code_0');
  expect(stepCalls(echo)).toEqual({ before: 1, after: 0 });
  return task.id;
}

/** What every resumed counted task must show: before not called again, after once, the report of both runs. */
function expectResumed(report: unknown): void {
  parseReport(report);
  expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
  const reports = (report as { reports: Snapshots }).reports;
  expect(reports.before.snapshots).toHaveLength(1);
  expect(reports.code_0.status).toBe('succeeded');
  expect(reports.code_0.snapshots.map((snapshot) => snapshot.error ?? 'ok')).toEqual([expect.stringContaining('failing as asked'), 'ok']);
  expect(reports.after.snapshots).toHaveLength(1);
}

describe('runtime.resume', () => {
  it('continues a failed task under its ID: the failed node and what follows run, earlier outputs are reused', async () => {
    const runtime = createRuntime();
    try {
      const taskID = await failOnce(runtime);
      const resumed = await runtime.resume(taskID, { inputs: { fail: false } });
      expect(resumed.id).toBe(taskID);
      expect(await resumed.wait()).toEqual({ checked: 200, after: 200 });
      expectResumed(resumed.report());
      expect(runtime.getTask(taskID)).toBe(resumed);
      await expect(runtime.resume(taskID)).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT }); // succeeded now

      // Two resumes at once (a double click): one runs it, the other is told it is already being resumed.
      const twice = await failOnce(runtime);
      const answers = await Promise.allSettled([runtime.resume(twice, { inputs: { fail: false } }), runtime.resume(twice, { inputs: { fail: false } })]);
      expect(answers.map((answer) => answer.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(answers.find((answer) => answer.status === 'rejected')).toMatchObject({ reason: { code: ErrorCodes.TASK_CONFLICT } });
      expect(await runtime.getTask(twice)?.wait()).toEqual({ checked: 200, after: 200 });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
    } finally {
      await runtime.close();
    }
  });

  it('resumes from the SQLite store after a restart, and refuses unknown, running and succeeded tasks', async () => {
    const path = join(dir, 'resume.db');
    const first = createRuntime({ store: createSqliteStore({ path }) });
    const taskID = await failOnce(first);
    await first.close();

    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
    try {
      expect(runtime.getTask(taskID)).toBeUndefined();
      const resumed = await runtime.resume(taskID, { inputs: { fail: false } });
      expect(await resumed.wait()).toEqual({ checked: 200, after: 200 });
      expectResumed(await runtime.getReport(taskID));
      expect((await runtime.listTasks()).map((task) => [task.id, task.status])).toEqual([[taskID, 'succeeded']]);

      await expect(runtime.resume(taskID)).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
      await expect(runtime.resume('no-such-task')).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
      const slow = runtime.start(workflow([startNode('start_0', {}), delayNode('wait', 60_000), endNode('end_0')], [edge('start_0', 'wait'), edge('wait', 'end_0')]));
      await expect(runtime.resume(slow.id)).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT, message: expect.stringContaining('processing') });
      // A cancelled task resumes too: the node that was cancelled runs again.
      slow.cancel();
      await slow.done;
      const again = await runtime.resume(slow.id);
      expect(again.status).toBe('processing');
      again.cancel();
    } finally {
      await runtime.close();
    }
  });
});

/** start(items, failAt) → GET before → loop over items (GET each; a code node throws at `failAt`) → GET after → end. */
function failingLoopFlow(origin: string): Record<string, unknown> {
  const flow = loopFlow(origin) as { nodes: Array<Record<string, unknown>> };
  const start = flow.nodes[0] as { data: { outputs: { properties: Record<string, unknown> } } };
  start.data.outputs.properties.failAt = { type: 'string' };
  const loop = flow.nodes.find((node) => node.id === 'loop') as { blocks: Array<Record<string, unknown>>; edges: Array<Record<string, string>> };
  loop.blocks.splice(2, 0, {
    id: 'check',
    type: 'code',
    meta: { position: { x: 0, y: 0 } },
    data: {
      title: 'Check',
      inputs: { type: 'object', properties: { item: { type: 'string' }, failAt: { type: 'string' } } },
      inputsValues: { item: { type: 'ref', content: ['loop_locals', 'item'] }, failAt: { type: 'ref', content: ['start_0', 'failAt'] } },
      outputs: { type: 'object', properties: {} },
      script: { language: 'javascript', content: "function main({ params }) { if (params.item === params.failAt) throw new Error('failing at ' + params.item); return {}; }" },
    },
  });
  loop.edges = [
    { sourceNodeID: 'bs', targetNodeID: 'fetch' },
    { sourceNodeID: 'fetch', targetNodeID: 'check' },
    { sourceNodeID: 'check', targetNodeID: 'be' },
  ];
  return flow;
}

describe('runtimes sharing one database', () => {
  it('a task another runtime resumed since it failed here is not resumed here again (409), so it runs once', async () => {
    const path = join(dir, 'shared.db');
    const here = createRuntime({ store: createSqliteStore({ path }) });
    const there = createRuntime({ store: createSqliteStore({ path }) });
    try {
      echo.requests.length = 0;
      // `after` answers slowly: the resumed run is still going when the other runtime is asked.
      const slowAfter = JSON.parse(JSON.stringify(countedFlow(echo.origin)).replace('step=after', 'step=after&delay=1000')) as object;
      const failed = here.start(slowAfter, { fail: true });
      await failed.done;
      await here.flush(); // what a client sees as failed is durable
      const resumed = await there.resume(failed.id, { inputs: { fail: false } });
      await there.flush(); // as the server does before it answers: the resumed row is durable
      await expect(here.resume(failed.id, { inputs: { fail: false } })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT, message: expect.stringContaining('processing') });
      expect(await resumed.wait()).toEqual({ checked: 200, after: 200 });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
    } finally {
      await Promise.all([here.close(), there.close()]);
    }
  });
});

describe('resuming a task whose loop failed mid-way', () => {
  it('continues the loop after its finished iterations: they are not called again, the failed one and the rest once', async () => {
    const items = Array.from({ length: 8 }, (_, i) => `item${i}`);
    const runtime = createRuntime({ store: createSqliteStore({ path: join(dir, 'loop.db') }) });
    try {
      echo.requests.length = 0;
      const schema = failingLoopFlow(echo.origin);
      const task = runtime.start(schema, { items, failAt: 'item5' });
      await task.done;
      expect(task.status).toBe('failed');
      const first = callsByStep(echo);
      expect([first.get('before'), first.get('item4'), first.get('item5'), first.get('item6'), first.get('after')]).toEqual([1, 1, 1, undefined, undefined]);

      const resumed = await runtime.resume(task.id, { inputs: { items, failAt: 'none' } });
      const outputs = await resumed.wait();
      const total = callsByStep(echo);
      expect(total.get('before')).toBe(1);
      expect(total.get('after')).toBe(1);
      expect(items.map((item) => (total.get(item) ?? 0) - (first.get(item) ?? 0))).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
      TaskReportDefine.schema.output.parse(resumed.report());
      const reference = createRuntime();
      try {
        expect(outputs).toEqual(await reference.run(schema, { items, failAt: 'none' }));
      } finally {
        await reference.close();
      }
    } finally {
      await runtime.close();
    }
  });
});

describe('POST /api/task/resume and tRPC task.resume', () => {
  it('resume a failed task; 404 unknown, 409 succeeded, 400 without a taskID, all {code, message}', async () => {
    const server = await startTestServer({ runtime: createRuntime() });
    try {
      const taskID = await failOnce(server.runtime);
      const post = (body: unknown): ReturnType<typeof request> =>
        request(`${server.url}/api/task/resume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(await post({ taskID, inputs: { fail: false } })).toMatchObject({ status: 200, body: { taskID } });
      expect((await request(`${server.url}/api/task/result?taskID=${taskID}&wait=10000`)).body).toEqual({ checked: 200, after: 200 });
      expectResumed((await request(`${server.url}/api/task/report?taskID=${taskID}`)).body);

      expect(await post({ taskID })).toMatchObject({ status: 409, body: { code: ErrorCodes.TASK_CONFLICT, message: expect.any(String) } });
      expect(await post({ taskID: 'no-such-task' })).toMatchObject({ status: 404, body: { code: ErrorCodes.TASK_NOT_FOUND } });
      expect(await post({})).toMatchObject({ status: 400, body: { code: ErrorCodes.BAD_REQUEST, message: 'taskID: is required' } });

      const client = createTRPCClient<FlowgramRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
      const failed = await failOnce(server.runtime);
      expect(await client.task.resume.mutate({ taskID: failed, inputs: { fail: false } })).toEqual({ taskID: failed });
      expect(await client.task.result.query({ taskID: failed, wait: 10_000 })).toEqual({ checked: 200, after: 200 });
      const refused = await client.task.resume.mutate({ taskID: failed }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TRPCClientError);
      expect((refused as TRPCClientError<FlowgramRouter>).data).toMatchObject({ httpStatus: 409, flowgramCode: ErrorCodes.TASK_CONFLICT });
    } finally {
      await server.close();
    }
  });
});

describe('flowgram resume <taskID>', () => {
  it('resumes a task on a running server and prints its outputs; one line and exit code 1 when it cannot', async () => {
    const server = await startTestServer({ runtime: createRuntime() });
    const output = { stdout: '', stderr: '' };
    const io = { stdout: { write: (text: string) => (output.stdout += text) }, stderr: { write: (text: string) => (output.stderr += text), isTTY: false } };
    try {
      const taskID = await failOnce(server.runtime);
      expect(await main(['resume', taskID, '--server', server.url, '--inputs', '{"fail":false}'], io)).toBe(0);
      expect(JSON.parse(output.stdout)).toEqual({ checked: 200, after: 200 });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });

      expect(await main(['resume', taskID, '--server', server.url], io)).toBe(1);
      expect(output.stderr).toMatch(/^flowgram: taskID: task "[^"]+" succeeded; only a failed or cancelled task can be resumed\n$/);
      expect(await main(['resume', 'x', '--server', 'ftp://nowhere'], io)).toBe(2);
    } finally {
      await server.close();
    }
  });
});

/** Stores whose `getTask` of one task, once held, answers only when `count` readers have read it (or after 5 s). */
function readsTogether(): { wrap(store: TaskStore): TaskStore; hold(taskID: string, count: number): void } {
  let held: { taskID: string; count: number; arrived: number; open: () => void; gate: Promise<void> } | undefined;
  return {
    wrap(store) {
      return new Proxy(store, {
        get(target, property) {
          const value = Reflect.get(target, property, target) as unknown;
          if (property !== 'getTask') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
          return async (taskID: string) => {
            const record = await target.getTask(taskID);
            if (held && held.taskID === taskID) {
              if (++held.arrived >= held.count) held.open();
              await held.gate;
            }
            return record;
          };
        },
      });
    },
    hold(taskID, count) {
      let open = (): void => undefined;
      const gate = new Promise<void>((resolve) => {
        open = resolve;
        setTimeout(resolve, 5_000).unref();
      });
      held = { taskID, count, arrived: 0, open, gate };
    },
  };
}

const queueAvailable = redisBinary() !== undefined && postgresBinDir() !== undefined;

describe.skipIf(!queueAvailable)('resume in queue mode', () => {
  it('an API server enqueues the resume; a worker continues the task from the shared store', async () => {
    const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const runtime = createRuntime();
    const service = createQueueTaskService(runtime, { url: redis.url, store: await createPostgresStore({ url: postgres.url }) });
    // One task at a time each: a second job for the same task would run on the other worker.
    const worker = await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), concurrency: 1, lockMs: 5_000 });
    // Two API servers whose reads of a task can be held until both have read it (a race made certain).
    const race = readsTogether();
    const racing = [race.wrap(await createPostgresStore({ url: postgres.url })), race.wrap(await createPostgresStore({ url: postgres.url }))];
    const [firstAPI, secondAPI] = racing.map((store) => createQueueTaskService(runtime, { url: redis.url, store }));
    const otherWorker = await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), concurrency: 1, lockMs: 5_000 });
    try {
      echo.requests.length = 0;
      const { taskID } = await service.run({ schema: JSON.stringify(countedFlow(echo.origin)), inputs: { fail: true } });
      await expect(service.result(taskID, 20_000)).rejects.toMatchObject({ code: ErrorCodes.TASK_FAILED });
      expect((await service.report(taskID)).workflowStatus.status).toBe('failed');
      expect(stepCalls(echo)).toEqual({ before: 1, after: 0 });

      expect(await service.resume({ taskID, inputs: { fail: false } })).toEqual({ taskID });
      await expect(service.resume({ taskID })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT }); // pending again
      expect(await service.result(taskID, 20_000)).toEqual({ checked: 200, after: 200 });
      expectResumed(await service.report(taskID));
      await expect(service.resume({ taskID })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
      await expect(service.resume({ taskID: 'no-such-task' })).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });

      // Resumes sent at once (a double click, two API servers) run the task once, whichever worker takes it.
      echo.requests.length = 0;
      // `after` answers slowly, so the resumed run is still going when another job could start.
      const slowAfter = JSON.stringify(countedFlow(echo.origin)).replace('step=after', 'step=after&delay=1000');
      const twice = (await service.run({ schema: slowAfter, inputs: { fail: true } })).taskID;
      await expect(service.result(twice, 20_000)).rejects.toMatchObject({ code: ErrorCodes.TASK_FAILED });
      race.hold(twice, 2);
      const answers = await Promise.all([firstAPI, secondAPI].map((api) => api.resume({ taskID: twice, inputs: { fail: false } })));
      expect(answers).toEqual([{ taskID: twice }, { taskID: twice }]); // both read it failed
      expect(await service.result(twice, 20_000)).toEqual({ checked: 200, after: 200 });
      const jobs = new Queue(QUEUE_NAME, { connection: { url: redis.url }, prefix: KEY_PREFIX });
      try {
        for (let deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
          const counts = await jobs.getJobCounts('waiting', 'active', 'delayed');
          if (counts.waiting + counts.active + counts.delayed === 0) break;
        }
      } finally {
        await jobs.close();
      }
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
      expect((await service.report(twice)).workflowStatus.status).toBe('succeeded');
    } finally {
      await otherWorker.close(0);
      await worker.close(0);
      await Promise.all([firstAPI.close(), secondAPI.close()]);
      await service.close();
      await runtime.close();
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  }, 60_000);
});
