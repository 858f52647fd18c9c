/**
 * Re-running an ended task from a chosen node: a new task that reuses the earlier outputs of every node
 * not downstream of that node (counted by the echo server: zero more calls before it, one after), and
 * records `rerunOf` in its record, the listings and its report. Through the SDK on a SQLite store and
 * through POST /api/task/rerun and tRPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, createSqliteStore, ErrorCodes, type FlowgramRouter, type Runtime } from '../src/index.js';
import { createQueueTaskService } from '../src/queue/queue-task-service.js';
import { startQueueWorker } from '../src/queue/worker.js';
import { createPostgresStore } from '../src/store/postgres.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { delayNode, edge, endNode, startNode, workflow } from './fixtures/workflow-builders.js';
import { countedFlow, stepCalls } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { postgresBinDir, startPostgres } from './helpers/postgres.js';
import { redisBinary, startRedis } from './helpers/redis.js';
import { request, startTestServer } from './helpers/server-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'flowgram-rerun-'));
let echo: EchoServer;
beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Reports = Record<string, { status: string; snapshots: unknown[] }>;

async function failOnce(runtime: Runtime): Promise<string> {
  echo.requests.length = 0;
  const task = runtime.start(countedFlow(echo.origin), { fail: true });
  await task.done;
  expect(task.status).toBe('failed');
  expect(stepCalls(echo)).toEqual({ before: 1, after: 0 });
  return task.id;
}

describe('runtime.rerun', () => {
  it('starts a new task from a node, reusing what runs before it; the earlier task stays as it was', async () => {
    const path = join(dir, 'rerun.db');
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
    try {
      const failed = await failOnce(runtime);
      const rerun = await runtime.rerun(failed, { fromNodeID: 'code_0', inputs: { fail: false } });
      expect(rerun.id).not.toBe(failed);
      expect(rerun.rerunOf).toBe(failed);
      expect(await rerun.wait()).toEqual({ checked: 200, after: 200 });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
      const report = rerun.report() as unknown as { rerunOf: string; reports: Reports };
      TaskReportDefine.schema.output.parse(report);
      expect(report.rerunOf).toBe(failed);
      expect(report.reports.before).toMatchObject({ status: 'succeeded', snapshots: [expect.objectContaining({ id: `${rerun.id}:2` })] });
      expect(report.reports.code_0.snapshots).toHaveLength(1);
      expect((await runtime.getResult(failed))?.status).toBe('failed');

      // A succeeded task re-runs too, from its last node: nothing before it is called again.
      const again = await runtime.rerun(rerun.id, { fromNodeID: 'after' });
      await again.wait();
      expect(stepCalls(echo)).toEqual({ before: 1, after: 2 });

      await runtime.flush();
      const listed = await runtime.listTasks();
      expect(listed.find((task) => task.id === rerun.id)?.rerunOf).toBe(failed);
      expect(listed.find((task) => task.id === again.id)?.rerunOf).toBe(rerun.id);
      expect(listed.find((task) => task.id === failed)?.rerunOf).toBeUndefined();
      // A re-run continued after a crash (from its journal) is still a re-run.
      const record = { id: 'continued-rerun', schema: JSON.stringify(countedFlow(echo.origin)), inputs: { fail: false }, startTime: 0, createdAt: 0, rerunOf: failed };
      const continued = runtime.continueTask(record, { events: [] });
      expect(continued.rerunOf).toBe(failed);
      await continued.wait();
    } finally {
      await runtime.close();
    }
    // The store keeps it: the task record after a restart.
    const reader = createSqliteStore({ path, retention: { intervalMs: 0 } });
    try {
      const records = await reader.listTasks({ limit: 10, offset: 0 });
      expect(records.filter((task) => task.rerunOf !== undefined)).toHaveLength(3); // the two re-runs and the continued one
    } finally {
      await reader.close();
    }
  });

  it('runs a changed schema; refuses unknown nodes, refs to removed nodes, unknown and running tasks', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    try {
      const failed = await failOnce(runtime);
      const changed = countedFlow(`${echo.origin}`) as { nodes: Array<{ id: string; data: { api?: { url: { content: string } } } }> };
      const after = changed.nodes.find((node) => node.id === 'after');
      if (after?.data.api) after.data.api.url.content = `${echo.origin}/echo?step=after&changed=1`;
      const rerun = await runtime.rerun(failed, { fromNodeID: 'code_0', inputs: { fail: false }, schema: changed });
      await rerun.wait();
      expect(echo.requestsTo('/echo').filter((request) => request.query.get('changed') === '1')).toHaveLength(1);
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });

      await expect(runtime.rerun(failed, { fromNodeID: 'nope' })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining('"nope"') });
      await expect(runtime.rerun('no-such-task', { fromNodeID: 'code_0' })).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
      // `before` removed: the code node's ref to it is reported before anything runs.
      const removed = countedFlow(echo.origin) as { nodes: Array<{ id: string }>; edges: Array<{ sourceNodeID: string; targetNodeID: string }> };
      removed.nodes = removed.nodes.filter((node) => node.id !== 'before');
      removed.edges = [...removed.edges.filter((link) => link.sourceNodeID !== 'before' && link.targetNodeID !== 'before'), { sourceNodeID: 'start_0', targetNodeID: 'code_0' }];
      const calls = echo.requests.length;
      const refused = await runtime.rerun(failed, { fromNodeID: 'code_0', schema: removed }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: ErrorCodes.SCHEMA_INVALID });
      expect((refused as { details: string[] }).details.join('\n')).toContain('before');
      expect(echo.requests.length).toBe(calls);

      const slow = runtime.start(workflow([startNode('start_0', {}), delayNode('wait', 60_000), endNode('end_0')], [edge('start_0', 'wait'), edge('wait', 'end_0')]));
      await expect(runtime.rerun(slow.id, { fromNodeID: 'wait' })).rejects.toMatchObject({ code: ErrorCodes.TASK_CONFLICT });
      slow.cancel();
    } finally {
      await runtime.close();
    }
  });
});

describe('POST /api/task/rerun and tRPC task.rerun', () => {
  it('answer the new task ID; 400 names an unknown node, 404 an unknown task; /api/tasks shows rerunOf', async () => {
    const server = await startTestServer({ runtime: createRuntime() });
    try {
      const failed = await failOnce(server.runtime);
      const post = (body: unknown): ReturnType<typeof request> =>
        request(`${server.url}/api/task/rerun`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = await post({ taskID: failed, fromNodeID: 'code_0', inputs: { fail: false } });
      expect(answer.status).toBe(200);
      const { taskID } = answer.body as { taskID: string };
      expect(taskID).not.toBe(failed);
      expect((await request(`${server.url}/api/task/result?taskID=${taskID}&wait=10000`)).body).toEqual({ checked: 200, after: 200 });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
      const listed = (await request(`${server.url}/api/tasks`)).body as { tasks: Array<{ id: string; rerunOf?: string }> };
      expect(listed.tasks.find((task) => task.id === taskID)?.rerunOf).toBe(failed);

      expect(await post({ taskID: failed, fromNodeID: 'nope' })).toMatchObject({ status: 400, body: { code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining('"nope"') } });
      expect(await post({ taskID: 'no-such-task', fromNodeID: 'code_0' })).toMatchObject({ status: 404, body: { code: ErrorCodes.TASK_NOT_FOUND } });
      expect(await post({ taskID: failed })).toMatchObject({ status: 400, body: { code: ErrorCodes.BAD_REQUEST, message: 'fromNodeID: is required' } });

      const client = createTRPCClient<FlowgramRouter>({ links: [httpLink({ url: `${server.url}/trpc` })] });
      const viaTrpc = await client.task.rerun.mutate({ taskID: failed, fromNodeID: 'after', inputs: { fail: false } });
      expect(await client.task.result.query({ taskID: viaTrpc.taskID, wait: 10_000 })).toMatchObject({ after: 200 });
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(redisBinary() === undefined || postgresBinDir() === undefined)('rerun in queue mode', () => {
  it('an API server checks and enqueues the re-run; a worker runs it from the earlier report in the shared store', async () => {
    const [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const runtime = createRuntime();
    const service = createQueueTaskService(runtime, { url: redis.url, store: await createPostgresStore({ url: postgres.url }) });
    const worker = await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), concurrency: 2, lockMs: 5_000 });
    try {
      echo.requests.length = 0;
      const { taskID: failed } = await service.run({ schema: JSON.stringify(countedFlow(echo.origin)), inputs: { fail: true } });
      await expect(service.result(failed, 20_000)).rejects.toMatchObject({ code: ErrorCodes.TASK_FAILED });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 0 });

      const { taskID } = await service.rerun({ taskID: failed, fromNodeID: 'code_0', inputs: { fail: false } });
      expect(taskID).not.toBe(failed);
      expect(await service.result(taskID, 20_000)).toEqual({ checked: 200, after: 200 });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
      const report = (await service.report(taskID)) as unknown as { rerunOf: string; reports: Reports };
      TaskReportDefine.schema.output.parse(report);
      expect(report.rerunOf).toBe(failed);
      expect(report.reports.before.snapshots).toHaveLength(1);
      const listed = await service.list({});
      expect(listed.tasks.find((task) => task.id === taskID)?.rerunOf).toBe(failed);
      expect(listed.tasks.find((task) => task.id === failed)?.status).toBe('failed');

      // Refused before anything is queued, as in-process.
      await expect(service.rerun({ taskID: failed, fromNodeID: 'nope' })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining('"nope"') });
      await expect(service.rerun({ taskID: 'no-such-task', fromNodeID: 'code_0' })).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
      const removed = countedFlow(echo.origin) as { nodes: Array<{ id: string }>; edges: Array<{ sourceNodeID: string; targetNodeID: string }> };
      removed.nodes = removed.nodes.filter((node) => node.id !== 'before');
      removed.edges = [...removed.edges.filter((link) => link.sourceNodeID !== 'before' && link.targetNodeID !== 'before'), { sourceNodeID: 'start_0', targetNodeID: 'code_0' }];
      await expect(service.rerun({ taskID: failed, fromNodeID: 'code_0', schema: JSON.stringify(removed) })).rejects.toMatchObject({ code: ErrorCodes.SCHEMA_INVALID });
      expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
    } finally {
      await worker.close(0);
      await service.close();
      await runtime.close();
      await Promise.all([redis.stop(), postgres.stop()]);
    }
  }, 60_000);
});
