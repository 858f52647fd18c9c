/** The runtime with a store: tasks and reports outlive the runtime, and a restart settles interrupted tasks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, createSqliteStore, ErrorCodes, type TaskStore } from '../src/index.js';
import { INTERRUPTED_MESSAGE } from '../src/store/recovery.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { hearWarnings } from './helpers/process-warnings.js';
import { expectListingRules } from './helpers/store-contract.js';
import { chain, delayNode, edge, endNode, failNode, input, ref, startNode, workflow } from './fixtures/workflow-builders.js';

const dir = mkdtempSync(join(tmpdir(), 'flowgram-store-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const dbPath = (): string => join(dir, `t${++files}.db`);

const echoFlow = workflow(
  [startNode('start_0', { text: 'string' }), endNode('end_0', { text: input('string', ref('start_0', 'text')) })],
  chain('start_0', 'end_0'),
);
const failingFlow = workflow([startNode('start_0', {}), failNode('boom', 'it broke'), endNode('end_0')], chain('start_0', 'boom', 'end_0'));
const slowFlow = (ms: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...workflow(
    [startNode('start_0', { text: 'string' }), delayNode('wait', ms, { text: input('string', ref('start_0', 'text')) }), endNode('end_0', { text: input('string', ref('wait', 'text')) })],
    [edge('start_0', 'wait'), edge('wait', 'end_0')],
  ),
  ...extra,
});

/** A workflow that must not run a node twice: an interrupted task fails instead of continuing. */
const AT_MOST_ONCE = { resumable: false };
const parseReport = (report: unknown): unknown => TaskReportDefine.schema.output.parse(report);
/** A short lease: a runtime silent this long is dead to the others. */
const recovery = { leaseMs: 300 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A SQLite store that stops writing and reading at `kill()`, as if its process had died there (its runtime's timers read nothing more). */
async function killableStore(path: string): Promise<{ store: TaskStore; kill: () => void }> {
  const store = createSqliteStore({ path });
  // Its writer thread starts on the first write (slowly from TypeScript sources): start it before a test's clock runs.
  await store.write({ tasks: [], updates: [], events: [], reports: [] });
  let alive = true;
  return {
    store: {
      ...store,
      write: (batch) => (alive ? store.write(batch) : undefined),
      heartbeat: (owner, beating) => (alive ? store.heartbeat(owner, beating) : undefined),
      listOwners: () => (alive ? store.listOwners() : []),
      claimAbandoned: (owner, leaseMs) => (alive ? store.claimAbandoned(owner, leaseMs) : []),
      listTasks: (filter) => (alive ? store.listTasks(filter) : []),
      getReport: (taskID) => (alive ? store.getReport(taskID) : undefined),
    },
    kill: () => {
      alive = false;
      void store.close();
    },
  };
}

describe('memory store', () => {
  it('lists and counts tasks by status, time range and search of ID or title', async () => {
    const store = createMemoryStore();
    await expectListingRules(store);
    await store.close();
  });
});

describe('runtime with a SQLite store', () => {
  it('answers report, result and listings from the store once the task has left memory', async () => {
    const path = dbPath();
    const first = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
    const ok = first.start(echoFlow, { text: 'hello' });
    const bad = first.start(failingFlow, {});
    await Promise.all([ok.done, bad.done]);
    const liveReport = ok.report();
    await first.close();

    const second = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
    try {
      expect(second.getTask(ok.id)).toBeUndefined();
      expect(await second.getResult(ok.id)).toEqual({ status: 'succeeded', outputs: { text: 'hello' } });
      expect(await second.getResult(bad.id)).toMatchObject({ status: 'failed', outputs: {}, error: { code: ErrorCodes.NODE_FAILED } });
      const report = await second.getReport(ok.id);
      expect(report).toEqual(liveReport);
      expect(parseReport(report)).toBeTruthy();
      expect(parseReport(await second.getReport(bad.id))).toBeTruthy();
      const listed = await second.listTasks();
      expect(listed.map((task) => task.id)).toEqual([bad.id, ok.id]);
      expect(listed[0]).toMatchObject({ status: 'failed', error: expect.stringContaining('it broke') });
      expect((await second.listTasks({ status: 'succeeded' })).map((task) => task.id)).toEqual([ok.id]);
      expect(await second.getResult('nope')).toBeUndefined();
    } finally {
      await second.close();
    }
  });

  it('flush() resolves once started tasks are on disk', async () => {
    const path = dbPath();
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
    try {
      const ids = Array.from({ length: 3 }, () => runtime.start(slowFlow(5_000), { text: 'x' }).id);
      await runtime.flush();
      const reader = createSqliteStore({ path, retention: { intervalMs: 0 } });
      for (const id of ids) expect(await reader.getTask(id)).toMatchObject({ id, status: 'processing', inputs: { text: 'x' } });
      await reader.close();
    } finally {
      await runtime.close();
    }
  });

  it('records queued tasks as pending until they get a slot', async () => {
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path: ':memory:' }), concurrency: { maxRunningTasks: 1 } });
    try {
      const tasks = Array.from({ length: 3 }, (_, i) => runtime.start(slowFlow(30), { text: `q${i}` }));
      expect((await runtime.listTasks()).map((task) => task.status)).toEqual(['pending', 'pending', 'processing']);
      await Promise.all(tasks.map((task) => task.done));
      expect((await runtime.listTasks()).map((task) => task.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    } finally {
      await runtime.close();
    }
  });

  it('pages through history with status and time filters', async () => {
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path: ':memory:' }), retention: { maxTasks: 0 } });
    try {
      const before = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const task = runtime.start(i % 5 === 0 ? failingFlow : echoFlow, { text: `n${i}` });
        ids.push(task.id);
        await task.done;
      }
      expect(runtime.stats().inMemory).toBe(0); // every answer below comes from the store
      const newestFirst = [...ids].reverse();
      expect((await runtime.listTasks({ limit: 10 })).map((task) => task.id)).toEqual(newestFirst.slice(0, 10));
      expect((await runtime.listTasks({ limit: 10, offset: 20 })).map((task) => task.id)).toEqual(newestFirst.slice(20));
      expect(await runtime.listTasks({ status: 'failed' })).toHaveLength(5);
      expect(await runtime.listTasks({ since: before })).toHaveLength(25);
      expect(await runtime.listTasks({ until: before })).toHaveLength(0);
      expect(await runtime.listTasks({ since: Date.now() + 1_000 })).toHaveLength(0);
    } finally {
      await runtime.close();
    }
  });

  it('deletes a task from memory and from the store', async () => {
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path: ':memory:' }), retention: { maxTasks: 0 } });
    try {
      const ended = runtime.start(echoFlow, { text: 'a' });
      await ended.done;
      const running = runtime.start(slowFlow(5_000), { text: 'b' });
      expect(await runtime.deleteTask(ended.id)).toBe(true);
      expect(await runtime.deleteTask(running.id)).toBe(true);
      expect(running.status).toBe('canceled');
      expect(await runtime.getReport(ended.id)).toBeUndefined();
      expect(await runtime.getResult(running.id)).toBeUndefined();
      expect(await runtime.deleteTask(ended.id)).toBe(false);
      expect(await runtime.listTasks()).toEqual([]);
    } finally {
      await runtime.close();
    }
  });

  it('marks tasks marked "resumable": false a dead process left running as failed, with a report rebuilt from the journal', async () => {
    const path = dbPath();
    const { store, kill } = await killableStore(path);
    const dead = createRuntime({ executors: testExecutors(), store, recovery });
    const task = dead.start(slowFlow(60_000, AT_MOST_ONCE), { text: 'lost' });
    await dead.listTasks(); // flushes the journal: the delay node is running
    kill();
    await sleep(recovery.leaseMs + 50); // its heartbeat goes stale

    const restarted = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }), recovery });
    try {
      expect(await restarted.getResult(task.id)).toMatchObject({ status: 'failed', outputs: {}, error: { code: ErrorCodes.TASK_INTERRUPTED } });
      const [summary] = await restarted.listTasks();
      expect(summary).toMatchObject({ id: task.id, status: 'failed', error: INTERRUPTED_MESSAGE });
      const report = await restarted.getReport(task.id);
      parseReport(report);
      expect(report?.workflowStatus).toMatchObject({ status: 'failed', terminated: true });
      expect(report?.reports.start_0).toMatchObject({ status: 'succeeded' });
      expect(report?.reports.wait).toMatchObject({ status: 'canceled' });
      expect(report?.messages.error.map((message) => message.message)).toEqual([INTERRUPTED_MESSAGE]);
    } finally {
      await restarted.close();
      task.cancel(); // the abandoned runtime's timer
    }
  });

  it('continues an interrupted task from its checkpoints (the node in flight runs again)', async () => {
    const path = dbPath();
    const { store, kill } = await killableStore(path);
    const dead = createRuntime({ executors: testExecutors(), store, recovery });
    const task = dead.start(slowFlow(200, { resumable: true }), { text: 'again' });
    await dead.listTasks();
    kill();
    task.cancel();
    await sleep(recovery.leaseMs + 50); // its heartbeat goes stale

    const restarted = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }), recovery });
    try {
      await restarted.listTasks(); // recovery has run
      const resumed = restarted.getTask(task.id);
      expect(resumed?.inputs).toEqual({ text: 'again' });
      await resumed?.done;
      expect(await restarted.getResult(task.id)).toEqual({ status: 'succeeded', outputs: { text: 'again' } });
      expect(await restarted.listTasks()).toHaveLength(1);
    } finally {
      await restarted.close();
    }
  });

  it('writes the final state of tasks cancelled by close()', async () => {
    const path = dbPath();
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
    const task = runtime.start(slowFlow(60_000), { text: 'x' });
    await runtime.close();
    const reader = createSqliteStore({ path, retention: { intervalMs: 0 } });
    expect(await reader.getTask(task.id)).toMatchObject({ status: 'canceled', error: { message: 'runtime closed' } });
    expect(await reader.getReport(task.id)).toMatchObject({ workflowStatus: { status: 'canceled' } });
    await reader.close();
  });

  it('keeps a schema once however many tasks run it', async () => {
    const path = dbPath();
    const runtime = createRuntime({ store: createSqliteStore({ path }) });
    await Promise.all(Array.from({ length: 50 }, (_, i) => runtime.run(echoFlow, { text: String(i) })));
    await runtime.run(JSON.stringify(echoFlow), { text: 'as a string' });
    await runtime.close();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM tasks').pluck().get()).toBe(51);
    expect(db.prepare('SELECT count(*) FROM schemas').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(0); // journals end with their reports
    db.close();
  });
});

/** A SQLite store whose writer thread runs already: starting one (from TypeScript sources) is slow, and must not stall a test's heartbeats. */
async function startedStore(path: string): Promise<TaskStore> {
  const store = createSqliteStore({ path });
  await store.write({ tasks: [], updates: [], events: [], reports: [] });
  return store;
}

/** Leases for tests that need a runtime to stay alive to the others under a loaded test machine. */
const sharing = { leaseMs: 500 };

/** Polls until `probe` passes (or throws its last failure after `ms`). */
async function eventually(probe: () => Promise<void>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(25);
    }
  }
}

describe('runtimes sharing a SQLite file', () => {
  it('leave the running tasks of a live runtime to it (a rolling restart): it finishes them', async () => {
    const path = dbPath();
    const [oldStore, nextStore] = [await startedStore(path), await startedStore(path)];
    const old = createRuntime({ executors: testExecutors(), store: oldStore, recovery: sharing });
    const plain = old.start(slowFlow(3_000), { text: 'plain' });
    const resumable = old.start(slowFlow(3_000, { resumable: true }), { text: 'resumable' });
    await old.flush();

    const next = createRuntime({ executors: testExecutors(), store: nextStore, recovery: sharing });
    try {
      await next.flush(); // its recovery at start has run…
      await sleep(3 * sharing.leaseMs); // …and periodic ones
      expect(next.getTask(resumable.id)).toBeUndefined();
      expect(await next.getResult(plain.id)).toEqual({ status: 'processing', outputs: {} });
      expect(await next.getResult(resumable.id)).toEqual({ status: 'processing', outputs: {} });
      await Promise.all([plain.done, resumable.done]);
      await old.flush();
      expect(next.getTask(resumable.id)).toBeUndefined(); // never re-run beside the original
      expect(await next.getResult(plain.id)).toEqual({ status: 'succeeded', outputs: { text: 'plain' } });
      expect(await next.getResult(resumable.id)).toEqual({ status: 'succeeded', outputs: { text: 'resumable' } });
      const report = await next.getReport(plain.id);
      expect(report?.messages.error ?? []).toEqual([]);
    } finally {
      await old.close();
      await next.close();
    }
  });

  it('retry settling a claimed task whose write failed: no other runtime would', async () => {
    const memory = createMemoryStore();
    await memory.write({ tasks: [{ id: 't', schemaHash: 'h', schema: JSON.stringify(slowFlow(60_000, AT_MOST_ONCE)), inputs: { text: 'x' }, status: 'processing', createdAt: 1, startTime: 1, owner: 'gone' }], updates: [], events: [], reports: [] });
    let failures = 0;
    const store: TaskStore = {
      ...memory,
      write(batch) {
        if (batch.updates.length > 0 && failures++ === 0) throw new Error('disk full');
        return memory.write(batch);
      },
    };
    // The provoked failure is warned about: heard here instead of printed into the test run's output.
    const warnings = hearWarnings();
    const runtime = createRuntime({ executors: testExecutors(), store, recovery: { leaseMs: 100 } });
    try {
      await eventually(async () => expect(await memory.getTask('t')).toMatchObject({ status: 'failed', error: { message: INTERRUPTED_MESSAGE } }));
      expect(failures).toBe(2);
      await eventually(async () => expect(warnings.heard).toContain('FlowgramStoreWarning: flowgram store: recovering interrupted tasks failed: disk full'));
    } finally {
      await runtime.close();
      await warnings.stop();
    }
  });

  it('refuse a lease that is not a positive number of milliseconds', () => {
    for (const leaseMs of [0, -1, Number.NaN]) {
      expect(() => createRuntime({ store: createMemoryStore(), recovery: { leaseMs } })).toThrow(/recovery\.leaseMs/);
    }
  });

  it("settle a crashed runtime's tasks within about a lease, each by exactly one survivor", async () => {
    const path = dbPath();
    const { store, kill } = await killableStore(path);
    const survivorStores = [await startedStore(path), await startedStore(path)];
    const crashed = createRuntime({ executors: testExecutors(), store, recovery: sharing });
    const lost = crashed.start(slowFlow(60_000, AT_MOST_ONCE), { text: 'lost' });
    const again = crashed.start(slowFlow(1_000, { resumable: true }), { text: 'again' });
    const survivors = survivorStores.map((survivorStore) => createRuntime({ executors: testExecutors(), store: survivorStore, recovery: sharing }));
    try {
      await crashed.flush();
      await Promise.all(survivors.map((survivor) => survivor.flush()));
      // Its owner is alive: left alone.
      expect(await survivors[0].getResult(lost.id)).toEqual({ status: 'processing', outputs: {} });
      expect(await survivors[1].getResult(again.id)).toEqual({ status: 'processing', outputs: {} });

      kill();
      lost.cancel();
      again.cancel();
      const killedAt = Date.now();
      await eventually(async () => {
        expect(await survivors[0].getResult(lost.id)).toMatchObject({ status: 'failed', outputs: {}, error: { code: ErrorCodes.TASK_INTERRUPTED } });
      });
      expect(Date.now() - killedAt).toBeLessThan(4 * sharing.leaseMs);
      // The resumable task is re-run, by one survivor only.
      const runners = survivors.filter((survivor) => survivor.getTask(again.id) !== undefined);
      expect(runners).toHaveLength(1);
      await runners[0].getTask(again.id)?.done;
      await runners[0].flush();
      expect(await survivors[0].getResult(again.id)).toEqual({ status: 'succeeded', outputs: { text: 'again' } });
      const report = await survivors[1].getReport(lost.id);
      expect(report?.messages.error.map((message) => message.message)).toEqual([INTERRUPTED_MESSAGE]);
    } finally {
      await Promise.all(survivors.map((survivor) => survivor.close()));
    }
  });
});

describe('runtime with the memory store', () => {
  it('serves the same queries through the store interface', async () => {
    const store: TaskStore = createMemoryStore();
    const runtime = createRuntime({ store, retention: { maxTasks: 0 } });
    try {
      const task = runtime.start(echoFlow, { text: 'mem' });
      await task.done;
      expect(runtime.getTask(task.id)).toBeUndefined();
      expect(await runtime.getResult(task.id)).toEqual({ status: 'succeeded', outputs: { text: 'mem' } });
      expect(parseReport(await runtime.getReport(task.id))).toBeTruthy();
      expect(await runtime.listTasks()).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });
});
