/**
 * Crash recovery in queue mode: a `flowgram worker` process is killed with SIGKILL while a task is in
 * the middle of a loop over 20 items; another worker takes the job over (BullMQ's stalled-job check)
 * and continues the task from the checkpoints in the shared PostgreSQL store. The counting echo
 * server shows `before` and the durable items are not called again, `after` exactly once, and the
 * outputs equal an uninterrupted run's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore, createRuntime } from '../src/index.js';
import { RESUMED_MESSAGE } from '../src/store/recovery.js';
import { Fleet, call } from './helpers/cluster-fleet.js';
import { callsByStep, loopFlow, waitForItem } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { postgresBinDir } from './helpers/postgres.js';
import { redisBinary } from './helpers/redis.js';

const available = redisBinary() !== undefined && postgresBinDir() !== undefined;
if (!available) console.warn('durable-queue-crash.test: skipped, redis-server and PostgreSQL (initdb, pg_ctl) must be installed (see .ci/run)');

const ITEMS = Array.from({ length: 20 }, (_, i) => `item${i}`);
const KILL_AT = 12;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!available)('crash recovery in queue mode continues from checkpoints', () => {
  let fleet: Fleet;
  let echo: EchoServer;
  beforeAll(async () => {
    [fleet, echo] = await Promise.all([Fleet.start(), startEchoServer()]);
  }, 60_000);
  afterAll(async () => {
    await fleet?.stop();
    await echo?.close();
  });

  it('a worker killed at item 12 of a loop over 20: another worker continues the task where it stopped', async () => {
    const api = await fleet.startServer();
    const victim = await fleet.startWorker(2, 1_000);
    const schema = loopFlow(echo.origin);
    const { body } = await call<{ taskID: string }>(api.url, 'POST', '/api/task/run', { schema, inputs: { items: ITEMS } });
    const { taskID } = body;
    await waitForItem(echo, `item${KILL_AT}`);
    await sleep(75); // the journal writes every 200 ms: some finished items are durable, some may not be
    await victim.stop('SIGKILL');

    const reader = await createPostgresStore({ url: fleet.postgres.url, retention: { intervalMs: 0 } });
    const durable = (await reader.getEvents(taskID)).filter((event) => event.type === 'loop_iteration').length;
    await reader.close();
    expect(durable).toBeGreaterThanOrEqual(KILL_AT - 3);
    expect(durable).toBeLessThanOrEqual(KILL_AT);
    const beforeCrash = callsByStep(echo);

    await fleet.startWorker(2, 1_000);
    const result = await call<Record<string, unknown>>(api.url, 'GET', `/api/task/result?taskID=${taskID}&wait=40000`);
    expect(result.status).toBe(200);
    const report = await call<{ workflowStatus: { status: string }; messages: { warning: Array<{ message: string }> } }>(api.url, 'GET', `/api/task/report?taskID=${taskID}`);
    expect(report.body.workflowStatus.status).toBe('succeeded');
    expect(report.body.messages.warning.map((message) => message.message)).toContain(RESUMED_MESSAGE);

    const total = callsByStep(echo);
    expect(total.get('before')).toBe(1);
    expect(total.get('after')).toBe(1);
    for (let i = 0; i < ITEMS.length; i++) {
      const item = `item${i}`;
      const again = (total.get(item) ?? 0) - (beforeCrash.get(item) ?? 0);
      expect(again, `${item} ran again after the crash`).toBe(i < durable ? 0 : 1);
    }
    const reference = createRuntime();
    try {
      expect(result.body).toEqual(await reference.run(schema, { items: ITEMS }));
    } finally {
      await reference.close();
    }
  }, 90_000);
});
