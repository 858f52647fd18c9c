/**
 * Queue mode in one process (fast, no child processes): the queue-backed TaskService and a worker over
 * a private Redis and PostgreSQL. Covers what the multi-process test does not: a cancel that arrives
 * before any worker took the task, invalid workflows, deletes, and a graceful worker shutdown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/errors.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { createQueueTaskService, type QueueTaskService } from '../src/queue/queue-task-service.js';
import { startQueueWorker, type QueueWorker } from '../src/queue/worker.js';
import { createRuntime, type Runtime } from '../src/runtime.js';
import { createPostgresStore } from '../src/store/postgres.js';
import { createSqliteStore } from '../src/store/sqlite.js';
import { echoFlow, httpFlow } from './helpers/cluster-flows.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { postgresBinDir, startPostgres, type PostgresInstance } from './helpers/postgres.js';
import { redisBinary, startRedis, type RedisInstance } from './helpers/redis.js';

const available = redisBinary() !== undefined && postgresBinDir() !== undefined;
if (!available) console.warn('cluster-queue.test: skipped, redis-server and PostgreSQL (initdb, pg_ctl) must be installed (see .ci/run)');

describe.skipIf(!available)('queue mode in one process', () => {
  let redis: RedisInstance;
  let postgres: PostgresInstance;
  let echo: EchoServer;
  let runtime: Runtime;
  let service: QueueTaskService;
  const workers: QueueWorker[] = [];

  const startWorker = async (): Promise<QueueWorker> => {
    const worker = await startQueueWorker({ url: redis.url, store: await createPostgresStore({ url: postgres.url }), concurrency: 2, lockMs: 5_000 });
    workers.push(worker);
    return worker;
  };

  beforeAll(async () => {
    [redis, postgres, echo] = await Promise.all([startRedis(), startPostgres(), startEchoServer()]);
    runtime = createRuntime();
    service = createQueueTaskService(runtime, { url: redis.url, store: await createPostgresStore({ url: postgres.url }), metrics: createMetrics() });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close(0)));
    await service?.close();
    await runtime?.close();
    await Promise.all([redis?.stop(), postgres?.stop(), echo?.close()]);
  });

  it('refuses a task with FLOWGRAM_ERR_STORE_UNAVAILABLE (503) when the store cannot write', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowgram-queue-store-'));
    const path = join(dir, 'locked.db');
    const lockedRuntime = createRuntime();
    const locked = createQueueTaskService(lockedRuntime, { url: redis.url, store: createSqliteStore({ path, busyTimeoutMs: 100 }), metrics: createMetrics() });
    const locker = new Database(path);
    try {
      locker.exec('BEGIN IMMEDIATE'); // another process holds the write lock
      await expect(locked.run({ schema: echoFlow, inputs: { n: 1 } })).rejects.toMatchObject({ code: ErrorCodes.STORE_UNAVAILABLE });
      locker.exec('ROLLBACK');
    } finally {
      locker.close();
      await locked.close();
      await lockedRuntime.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers for a task waiting in the queue, and cancels it before any worker takes it', async () => {
    const { taskID } = await service.run({ schema: echoFlow, inputs: { n: 1 } });
    expect((await service.report(taskID)).workflowStatus).toMatchObject({ status: 'pending', terminated: false });
    expect((await service.list({ limit: 10, offset: 0 })).tasks.map((task) => task.id)).toContain(taskID);
    await expect(service.result(taskID)).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FINISHED });
    expect(await service.cancel(taskID, 'changed my mind')).toEqual({ success: true });
    expect(service.health()).toMatchObject({ status: 'ok', inMemory: 0 });

    await startWorker();
    await expect(service.result(taskID, 10_000)).rejects.toMatchObject({ code: ErrorCodes.TASK_CANCELLED });
    const report = await service.report(taskID);
    expect(report.workflowStatus.status).toBe('canceled');
  });

  it('runs tasks to the same outcome as in-process: outputs, schema errors, unparsable schemas', async () => {
    const { taskID } = await service.run({ schema: echoFlow, inputs: { n: 42 } });
    expect(await service.result(taskID, 10_000)).toEqual({ n: 42 });
    // Cancelling an ended task answers true and leaves it as it ended (upstream's workflow.test.ts: "returns true for a retained completed task").
    expect(await service.cancel(taskID)).toEqual({ success: true });
    expect((await service.report(taskID)).workflowStatus.status).toBe('succeeded');

    const invalid = await service.run({ schema: JSON.stringify({ nodes: [], edges: [] }) });
    await expect(service.result(invalid.taskID, 10_000)).rejects.toMatchObject({ code: ErrorCodes.TASK_FAILED });
    const summary = (await service.list({ limit: 10, offset: 0 })).tasks.find((task) => task.id === invalid.taskID);
    expect(summary?.status).toBe('failed');

    await expect(Promise.resolve().then(() => service.run({ schema: '{not json' }))).rejects.toMatchObject({ code: ErrorCodes.SCHEMA_PARSE });
    await expect(service.report('no-such-task')).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
  });

  it('deletes a running task: it is cancelled on its worker and forgotten', async () => {
    const { taskID } = await service.run({ schema: httpFlow(`${echo.origin}/hang`) });
    await echo.waitForRequest('/hang');
    expect(await service.delete(taskID)).toEqual({ success: true });
    await expect(service.report(taskID)).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
    await expect(service.delete(taskID)).rejects.toMatchObject({ code: ErrorCodes.TASK_NOT_FOUND });
  });

  it('shuts a worker down gracefully: it takes no new task and finishes the running one', async () => {
    const worker = workers[0];
    const { taskID } = await service.run({ schema: httpFlow(`${echo.origin}/slow?ms=400`) });
    await echo.waitForRequest('/slow');
    expect(worker.running()).toBe(1);
    expect(await worker.close(10_000)).toBe('finished');
    expect(await service.result(taskID)).toEqual({ statusCode: 200 });

    // With no worker left, a new task waits in the queue until one starts.
    const waiting = await service.run({ schema: echoFlow, inputs: { n: 3 } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await service.report(waiting.taskID)).workflowStatus.status).toBe('pending');
    await startWorker();
    expect(await service.result(waiting.taskID, 10_000)).toEqual({ n: 3 });
  });
});
