/**
 * The PostgreSQL store against a private PostgreSQL cluster: the same contract as the SQLite and memory
 * stores, migrations shared safely by processes starting together, and a runtime writing through it.
 */
import type { IReport } from '@flowgram.ai/runtime-interface';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes } from '../src/index.js';
import { MIGRATIONS } from '../src/store/postgres-migrations.js';
import { createPostgresStore } from '../src/store/postgres.js';
import type { StoreRetention, TaskStore } from '../src/store/types.js';
import { INTERRUPTED_MESSAGE } from '../src/store/recovery.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { chain, delayNode, edge, endNode, input, ref, startNode, workflow } from './fixtures/workflow-builders.js';
import { postgresBinDir, startPostgres, type PostgresInstance } from './helpers/postgres.js';
import { batch, expectClaimRules, expectListingRules, record, sleep } from './helpers/store-contract.js';

const available = postgresBinDir() !== undefined;
if (!available) console.warn('postgres-store.test: skipped, PostgreSQL binaries (initdb, pg_ctl) are not installed');

let server: PostgresInstance;
let admin: pg.Pool;
let databases = 0;
const stores: TaskStore[] = [];

/** A fresh, empty database for each test, so tests never see each other's rows. */
async function freshDatabase(): Promise<string> {
  const name = `t${++databases}`;
  await admin.query(`CREATE DATABASE ${name}`);
  return server.url.replace(/\/postgres$/, `/${name}`);
}

async function create(retention?: StoreRetention, url?: string): Promise<TaskStore> {
  const store = await createPostgresStore({ url: url ?? (await freshDatabase()), retention: { intervalMs: 0, ...retention } });
  stores.push(store);
  return store;
}

const recovery = { leaseMs: 500 };
const slowFlow = (ms: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...workflow(
    [startNode('start_0', { text: 'string' }), delayNode('wait', ms, { text: input('string', ref('start_0', 'text')) }), endNode('end_0', { text: input('string', ref('wait', 'text')) })],
    [edge('start_0', 'wait'), edge('wait', 'end_0')],
  ),
  ...extra,
});
const report = (id: string): IReport => ({ id, inputs: { n: 1 }, outputs: { ok: true } }) as unknown as IReport;

describe.skipIf(!available)('PostgreSQL store', () => {
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await admin?.end();
    await server?.stop();
  });

  it('stores a task, its journal while it runs, and its report once it ended', async () => {
    const store = await create();
    await store.write(batch({ tasks: [record('a')] }));
    await store.write(batch({ events: [{ type: 'node_started', taskID: 'a', nodeID: 'start_0', nodeType: 'start', title: 'Start', time: 1_001 }] }));
    expect(await store.getEvents('a')).toEqual([{ type: 'node_started', taskID: 'a', nodeID: 'start_0', nodeType: 'start', title: 'Start', time: 1_001 }]);
    expect((await store.claimAbandoned('r1', 60_000)).map((task) => task.id)).toEqual(['a']);

    await store.write(
      batch({
        updates: [{ id: 'a', status: 'succeeded', startTime: 1_000, endTime: 1_010, outputs: { ok: true } }],
        reports: [{ taskID: 'a', reportJSON: JSON.stringify(report('a')) }],
      }),
    );
    expect(await store.getTask('a')).toEqual({
      id: 'a',
      schemaHash: 'hash-1',
      schema: '{"nodes":[],"edges":[]}',
      inputs: { n: 1 },
      status: 'succeeded',
      createdAt: 1_000,
      startTime: 1_000,
      endTime: 1_010,
      outputs: { ok: true },
      owner: 'r1', // claimed above
    });
    expect(await store.getReport('a')).toEqual(report('a'));
    expect(await store.getEvents('a')).toEqual([]); // the report replaced the journal
    expect(await store.claimAbandoned('r2', 60_000)).toEqual([]);
    expect(await store.getTask('missing')).toBeUndefined();
    expect(await store.getReport('missing')).toBeUndefined();
  });

  it('lists and counts tasks by status, time range and search of ID or title', async () => {
    const store = await create();
    await expectListingRules(store);
  });

  it('claims the unfinished tasks of runtimes that are gone or silent for a lease, never a live one', async () => {
    const store = await create();
    await expectClaimRules(store);
  });

  it('gives each abandoned task to exactly one of several stores claiming at once', async () => {
    const url = await freshDatabase();
    const [a, b, c] = await Promise.all([create(undefined, url), create(undefined, url), create(undefined, url)]);
    const ids = Array.from({ length: 300 }, (_, i) => `x${i}`);
    await a.write(batch({ tasks: ids.map((id) => record(id, { owner: 'dead' })) }));
    await Promise.all([a.heartbeat('a', true), b.heartbeat('b', true), c.heartbeat('c', true)]);
    const claims = await Promise.all([a.claimAbandoned('a', 60_000), b.claimAbandoned('b', 60_000), c.claimAbandoned('c', 60_000)]);
    expect(claims.flat().map((task) => task.id).sort()).toEqual([...ids].sort());
  });

  it('leaves the running tasks of a live runtime to it (a rolling restart): it finishes them', async () => {
    const url = await freshDatabase();
    const old = createRuntime({ executors: testExecutors(), store: await createPostgresStore({ url }), recovery });
    const next = createRuntime({ executors: testExecutors(), store: await createPostgresStore({ url }), recovery });
    try {
      const plain = old.start(slowFlow(3_000), { text: 'plain' });
      const resumable = old.start(slowFlow(3_000, { resumable: true }), { text: 'resumable' });
      await old.flush();
      await sleep(3 * recovery.leaseMs); // several recoveries of `next`
      expect(next.getTask(resumable.id)).toBeUndefined();
      expect(await next.getResult(plain.id)).toEqual({ status: 'processing', outputs: {} });
      expect(await next.getResult(resumable.id)).toEqual({ status: 'processing', outputs: {} });
      await Promise.all([plain.done, resumable.done]);
      await old.flush();
      expect(next.getTask(resumable.id)).toBeUndefined(); // never re-run beside the original
      expect(await next.getResult(plain.id)).toEqual({ status: 'succeeded', outputs: { text: 'plain' } });
      expect(await next.getResult(resumable.id)).toEqual({ status: 'succeeded', outputs: { text: 'resumable' } });
    } finally {
      await Promise.all([old.close(), next.close()]);
    }
  });

  it("settles a crashed runtime's tasks within about a lease, each by exactly one survivor", async () => {
    const url = await freshDatabase();
    // The crashed runtime: its tasks were written, its heartbeat stops now.
    const crashed = await create(undefined, url);
    await crashed.heartbeat('crashed', true);
    const schema = (flow: unknown): string => JSON.stringify(flow);
    await crashed.write(
      batch({
        tasks: [
          record('lost', { owner: 'crashed', schemaHash: 'lost', schema: schema(slowFlow(60_000, { resumable: false })), inputs: { text: 'lost' } }),
          record('again', { owner: 'crashed', schemaHash: 'again', schema: schema(slowFlow(200, { resumable: true })), inputs: { text: 'again' } }),
        ],
      }),
    );
    const beatAt = Date.now();
    const survivors = await Promise.all(
      [0, 1].map(async () => createRuntime({ executors: testExecutors(), store: await createPostgresStore({ url }), recovery })),
    );
    try {
      await Promise.all(survivors.map((survivor) => survivor.flush()));
      if (Date.now() - beatAt < recovery.leaseMs) expect(await survivors[0].getResult('lost')).toEqual({ status: 'processing', outputs: {} });
      for (;;) {
        if ((await survivors[0].getResult('lost'))?.status === 'failed') break;
        expect(Date.now() - beatAt, 'settled within about a lease').toBeLessThan(4 * recovery.leaseMs);
        await sleep(25);
      }
      const runners = survivors.filter((survivor) => survivor.getTask('again') !== undefined);
      expect(runners).toHaveLength(1);
      await runners[0].getTask('again')?.done;
      await runners[0].flush();
      expect(await survivors[1].getResult('again')).toEqual({ status: 'succeeded', outputs: { text: 'again' } });
      const lost = await survivors[1].getReport('lost');
      expect(lost?.messages.error.map((message) => message.message)).toEqual([INTERRUPTED_MESSAGE]);
    } finally {
      await Promise.all(survivors.map((survivor) => survivor.close()));
    }
  });

  it('commits batches handed over without waiting in call order (the pool has many connections)', async () => {
    const store = await create();
    const writes = [store.write(batch({ tasks: [record('o')] }))];
    for (let i = 1; i <= 20; i++) writes.push(store.write(batch({ updates: [{ id: 'o', status: 'processing', startTime: i }] })));
    writes.push(store.write(batch({ updates: [{ id: 'o', status: 'succeeded', startTime: 20, endTime: 30, outputs: {} }], reports: [{ taskID: 'o', reportJSON: JSON.stringify(report('o')) }] })));
    await Promise.all(writes);
    expect(await store.getTask('o')).toMatchObject({ status: 'succeeded', startTime: 20, endTime: 30 });
    expect(await store.getReport('o')).toEqual(report('o'));
  });

  it('lists newest first with status and time filters and paging', async () => {
    const store = await create();
    const tasks = Array.from({ length: 5 }, (_, i) =>
      record(`t${i}`, {
        status: i % 2 === 0 ? 'succeeded' : 'failed',
        startTime: 100 * i,
        endTime: 100 * i + 5,
        error: i % 2 ? { code: 'X', message: `boom ${i}` } : undefined,
      }),
    );
    await store.write(batch({ tasks }));
    const ids = async (filter: Parameters<TaskStore['listTasks']>[0]): Promise<string[]> => (await store.listTasks(filter)).map((task) => task.id);
    expect(await ids({ limit: 10, offset: 0 })).toEqual(['t4', 't3', 't2', 't1', 't0']);
    expect(await ids({ status: 'failed', limit: 10, offset: 0 })).toEqual(['t3', 't1']);
    expect(await ids({ since: 100, until: 400, limit: 10, offset: 0 })).toEqual(['t3', 't2', 't1']);
    expect(await ids({ limit: 2, offset: 1 })).toEqual(['t3', 't2']);
    expect((await store.listTasks({ status: 'failed', limit: 1, offset: 0 }))[0]).toEqual({
      id: 't3',
      status: 'failed',
      title: '',
      startTime: 300,
      endTime: 305,
      timeCost: 5,
      error: 'boom 3',
    });
  });

  it('deletes a task with its journal and report', async () => {
    const store = await create();
    await store.write(batch({ tasks: [record('d', { status: 'succeeded', endTime: 2_000 })], reports: [{ taskID: 'd', reportJSON: JSON.stringify(report('d')) }] }));
    expect(await store.deleteTask('d')).toBe(true);
    expect(await store.deleteTask('d')).toBe(false);
    expect(await store.getTask('d')).toBeUndefined();
    expect(await store.getReport('d')).toBeUndefined();
  });

  it('replaces a task written again under the same ID (a resumed run)', async () => {
    const store = await create();
    await store.write(batch({ tasks: [record('r')], events: [{ type: 'workflow_started', taskID: 'r', time: 1 }] }));
    await store.write(batch({ tasks: [record('r', { inputs: { n: 2 }, createdAt: 5_000 })] }));
    expect(await store.getTask('r')).toMatchObject({ inputs: { n: 2 }, createdAt: 5_000 });
    expect(await store.getEvents('r')).toEqual([]);
    expect(await store.listTasks({ limit: 10, offset: 0 })).toHaveLength(1);
  });

  it('prunes ended tasks by age and by count, never running ones, and drops orphaned schemas', async () => {
    const store = await create({ maxAgeMs: 1_000, maxTasks: 2 });
    await store.write(
      batch({
        tasks: [
          record('old', { status: 'succeeded', endTime: 1_000, schemaHash: 'only-old', schema: '{"old":true}' }),
          record('running', { status: 'processing' }),
          record('e1', { status: 'succeeded', endTime: 9_000 }),
          record('e2', { status: 'failed', endTime: 9_100 }),
          record('e3', { status: 'canceled', endTime: 9_200 }),
        ],
      }),
    );
    expect(await store.prune(10_000)).toBe(2); // 'old' by age, then 'e1' by count
    expect((await store.listTasks({ limit: 10, offset: 0 })).map((task) => task.id)).toEqual(['e3', 'e2', 'running']);
    const url = server.url.replace(/\/postgres$/, `/t${databases}`);
    const direct = new pg.Pool({ connectionString: url, max: 1 });
    expect((await direct.query('SELECT hash FROM schemas ORDER BY hash')).rows).toEqual([{ hash: 'hash-1' }]);
    await direct.end();
  });

  it('migrates once when many processes open the same database at once, and refuses a newer schema', async () => {
    const url = await freshDatabase();
    const opened = await Promise.all([create(undefined, url), create(undefined, url), create(undefined, url)]);
    await opened[0].write(batch({ tasks: [record('shared')] }));
    expect(await opened[2].getTask('shared')).toMatchObject({ id: 'shared' });

    const direct = new pg.Pool({ connectionString: url, max: 1 });
    expect((await direct.query('SELECT version FROM flowgram_schema_version')).rows).toEqual([{ version: MIGRATIONS.length }]);
    await direct.query('UPDATE flowgram_schema_version SET version = $1', [MIGRATIONS.length + 1]);
    await direct.end();
    await expect(createPostgresStore({ url })).rejects.toThrow(/newer than this runtime supports/);
  });

  it('fails with one clear message when the database cannot be reached, without the password', async () => {
    const url = `postgres://someone:secret@127.0.0.1:${server.port}/no_such_database`;
    const error = await createPostgresStore({ url }).catch((caught: unknown) => caught as Error);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^store: cannot open PostgreSQL database postgres:\/\/someone:\*\*\*@127\.0\.0\.1:\d+\/no_such_database: /);
    expect((error as Error).message).not.toContain('secret');
  });

  it('keeps the history of a runtime for another process reading the same database', async () => {
    const url = await freshDatabase();
    const flow = workflow(
      [startNode('start_0', { text: 'string' }), endNode('end_0', { text: input('string', ref('start_0', 'text')) })],
      chain('start_0', 'end_0'),
    );
    const runtime = createRuntime({ store: await createPostgresStore({ url }) });
    const task = runtime.start(flow, { text: 'hello' });
    expect(await task.wait()).toEqual({ text: 'hello' });
    await runtime.close();

    const reader = await create(undefined, url);
    expect(await reader.getTask(task.id)).toMatchObject({ status: 'succeeded', outputs: { text: 'hello' }, inputs: { text: 'hello' } });
    const stored = await reader.getReport(task.id);
    expect(stored?.workflowStatus.status).toBe('succeeded');
    expect(Object.keys(stored?.reports ?? {}).sort()).toEqual(['end_0', 'start_0']);
  });

  it('writes every other task when one in the same batch cannot be serialized; that one is stored as failed', async () => {
    const url = await freshDatabase();
    const unserializable = { type: 'unserializable', execute: () => ({ outputs: { value: 10n } }) };
    const good = workflow([startNode('start_0', { text: 'string' }), endNode('end_0', { text: input('string', ref('start_0', 'text')) })], chain('start_0', 'end_0'));
    const bad = workflow(
      [startNode('start_0', {}), { id: 'bad_0', type: 'unserializable', meta: { position: { x: 0, y: 0 } }, data: { title: 'Bad' } }, endNode('end_0')],
      chain('start_0', 'bad_0', 'end_0'),
    );
    const runtime = createRuntime({ executors: [unserializable], store: await createPostgresStore({ url }) });
    // Started in one synchronous stretch: their rows share batches.
    const tasks = [runtime.start(good, { text: 'a' }), runtime.start(bad), runtime.start(good, { text: 'b' })];
    await Promise.all(tasks.map((task) => task.done));
    await runtime.flush();
    const later = runtime.start(good, { text: 'after' });
    await later.wait();
    await runtime.close();

    const reader = await create(undefined, url);
    expect(await reader.getTask(tasks[0].id)).toMatchObject({ status: 'succeeded', outputs: { text: 'a' } });
    expect(await reader.getTask(tasks[2].id)).toMatchObject({ status: 'succeeded', outputs: { text: 'b' } });
    expect(await reader.getTask(later.id)).toMatchObject({ status: 'succeeded', outputs: { text: 'after' } });
    expect(await reader.getTask(tasks[1].id)).toMatchObject({ status: 'failed', error: { code: ErrorCodes.STORE_WRITE_FAILED } });
    expect((await reader.getReport(tasks[1].id))?.workflowStatus.status).toBe('failed');
  });
});

