import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { IReport } from '@flowgram.ai/runtime-interface';
import { createMemoryStore } from './memory.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import { toRows } from './sqlite-rows.js';
import { MAX_IN_FLIGHT, SqliteWriterThread } from './sqlite-writer-thread.js';
import { createSqliteStore } from './sqlite.js';
import { batch, expectClaimRules, expectListingRules, record } from '../../test/helpers/store-contract.js';
import type { StoreRetention, TaskRecord, TaskStore } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'flowgram-sqlite-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = (id: string): IReport => ({ id, inputs: { n: 1 }, outputs: { ok: true } }) as unknown as IReport;

let files = 0;
const dbPath = (): string => join(dir, `contract-${++files}.db`);

// The same contract for every implementation: the memory store is the reference. A SQLite file is
// written by the writer thread; `:memory:` on the caller's thread.
describe.each([
  ['sqlite file', (retention?: StoreRetention) => createSqliteStore({ path: dbPath(), retention })],
  ['sqlite :memory:', (retention?: StoreRetention) => createSqliteStore({ path: ':memory:', retention })],
  ['memory', (retention?: StoreRetention) => createMemoryStore({ retention })],
] as Array<[string, (retention?: StoreRetention) => TaskStore]>)('%s store', (_name, create) => {
  it('stores a task, its journal while it runs, and its report once it ended', async () => {
    const store = create();
    await store.write(batch({ tasks: [record('a')] }));
    await store.write(
      batch({ events: [{ type: 'node_started', taskID: 'a', nodeID: 'start_0', nodeType: 'start', title: 'Start', time: 1_001 }] }),
    );
    expect(await store.getEvents('a')).toHaveLength(1);
    expect((await store.claimAbandoned('r1', 60_000)).map((task) => task.id)).toEqual(['a']);

    await store.write(
      batch({
        updates: [{ id: 'a', status: 'succeeded', startTime: 1_000, endTime: 1_010, outputs: { ok: true } }],
        reports: [{ taskID: 'a', reportJSON: JSON.stringify(report('a')) }],
      }),
    );
    expect(await store.getTask('a')).toMatchObject({ id: 'a', status: 'succeeded', endTime: 1_010, outputs: { ok: true }, inputs: { n: 1 } });
    expect(await store.getReport('a')).toEqual(report('a'));
    expect(await store.getEvents('a')).toEqual([]); // the report replaced the journal
    expect(await store.claimAbandoned('r2', 60_000)).toEqual([]);
    await store.close();
  });

  it('lists newest first with status and time filters and paging', async () => {
    const store = create();
    const tasks = Array.from({ length: 5 }, (_, i) =>
      record(`t${i}`, { status: i % 2 === 0 ? 'succeeded' : 'failed', startTime: 100 * i, endTime: 100 * i + 5, error: i % 2 ? { code: 'X', message: `boom ${i}` } : undefined }),
    );
    await store.write(batch({ tasks }));
    expect((await store.listTasks({ limit: 10, offset: 0 })).map((task) => task.id)).toEqual(['t4', 't3', 't2', 't1', 't0']);
    expect((await store.listTasks({ status: 'failed', limit: 10, offset: 0 })).map((task) => task.id)).toEqual(['t3', 't1']);
    expect((await store.listTasks({ since: 100, until: 400, limit: 10, offset: 0 })).map((task) => task.id)).toEqual(['t3', 't2', 't1']);
    expect((await store.listTasks({ limit: 2, offset: 1 })).map((task) => task.id)).toEqual(['t3', 't2']);
    expect((await store.listTasks({ status: 'failed', limit: 1, offset: 0 }))[0]).toEqual({
      id: 't3',
      status: 'failed',
      title: '',
      startTime: 300,
      endTime: 305,
      timeCost: 5,
      error: 'boom 3',
    });
    await store.close();
  });

  it('deletes a task with its journal and report', async () => {
    const store = create();
    await store.write(batch({ tasks: [record('d', { status: 'succeeded', endTime: 2_000 })], reports: [{ taskID: 'd', reportJSON: JSON.stringify(report('d')) }] }));
    expect(await store.deleteTask('d')).toBe(true);
    expect(await store.deleteTask('d')).toBe(false);
    expect(await store.getTask('d')).toBeUndefined();
    expect(await store.getReport('d')).toBeUndefined();
    await store.close();
  });

  it('replaces a task written again under the same ID (a resumed run)', async () => {
    const store = create();
    await store.write(batch({ tasks: [record('r')], events: [{ type: 'workflow_started', taskID: 'r', time: 1 }] }));
    await store.write(batch({ tasks: [record('r', { inputs: { n: 2 }, createdAt: 5_000 })] }));
    expect(await store.getTask('r')).toMatchObject({ inputs: { n: 2 }, createdAt: 5_000 });
    expect(await store.getEvents('r')).toEqual([]);
    expect(await store.listTasks({ limit: 10, offset: 0 })).toHaveLength(1);
    await store.close();
  });

  it('lists and counts tasks by status, time range and search of ID or title', async () => {
    const store = create();
    await expectListingRules(store);
    await store.close();
  });

  it('claims the unfinished tasks of runtimes that are gone or silent for a lease, never a live one', async () => {
    const store = create();
    await expectClaimRules(store);
    await store.close();
  });

  it('prunes ended tasks by age and by count, never running ones', async () => {
    const store = create({ maxAgeMs: 1_000, maxTasks: 2 });
    await store.write(
      batch({
        tasks: [
          record('old', { status: 'succeeded', endTime: 1_000 }),
          record('running', { status: 'processing' }),
          record('e1', { status: 'succeeded', endTime: 9_000 }),
          record('e2', { status: 'failed', endTime: 9_100 }),
          record('e3', { status: 'canceled', endTime: 9_200 }),
        ],
      }),
    );
    expect(await store.prune(10_000)).toBe(2); // 'old' by age, then 'e1' by count
    expect((await store.listTasks({ limit: 10, offset: 0 })).map((task) => task.id)).toEqual(['e3', 'e2', 'running']);
    await store.close();
  });
});

describe('createSqliteStore', () => {
  it('creates the directory, and keeps tasks across reopening the file', async () => {
    const path = join(dir, 'nested', 'deeper', 'flowgram.db');
    const first = createSqliteStore({ path });
    await first.write(batch({ tasks: [record('kept', { status: 'succeeded', endTime: 3_000 })], reports: [{ taskID: 'kept', reportJSON: JSON.stringify(report('kept')) }] }));
    await first.close();
    expect(existsSync(path)).toBe(true);
    const second = createSqliteStore({ path });
    expect(await second.getReport('kept')).toEqual(report('kept'));
    await second.close();
  });

  it('uses WAL and records the schema version', async () => {
    const path = join(dir, 'wal.db');
    const store = createSqliteStore({ path });
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('upgrades a database of version 1: its unfinished tasks have no owner and count as abandoned', async () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    db.prepare('INSERT INTO schemas (hash, body) VALUES (?, ?)').run('h', '{}');
    db.prepare(`INSERT INTO tasks (id, schema_hash, inputs, status, created_at, start_time) VALUES ('old', 'h', '{}', 'processing', 1, 1)`).run();
    db.close();
    const store = createSqliteStore({ path });
    await store.heartbeat('me', true);
    expect((await store.claimAbandoned('me', 60_000)).map((task) => [task.id, task.owner])).toEqual([['old', 'me']]);
    await store.close();
  });

  it('refuses a database from a newer version', () => {
    const path = join(dir, 'newer.db');
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => createSqliteStore({ path })).toThrow(/newer than this runtime supports/);
  });

  it('rejects a negative retention', () => {
    expect(() => createSqliteStore({ path: ':memory:', retention: { maxTasks: -1 } })).toThrow(/retention.maxTasks/);
  });
});

describe('SQLite store shared by processes', () => {
  it('gives each abandoned task to exactly one of two stores claiming at once', async () => {
    const path = dbPath();
    const [a, b] = [createSqliteStore({ path }), createSqliteStore({ path })];
    const ids = Array.from({ length: 300 }, (_, i) => `x${i}`);
    await a.write(batch({ tasks: ids.map((id) => record(id, { owner: 'dead' })) }));
    await Promise.all([a.heartbeat('a', true), b.heartbeat('b', true)]);
    const claims = await Promise.all([a.claimAbandoned('a', 60_000), b.claimAbandoned('b', 60_000), a.claimAbandoned('a', 60_000)]);
    const claimed = claims.flat().map((task) => task.id);
    expect(claimed.sort()).toEqual([...ids].sort());
    for (const task of claims[1]) expect(await a.getTask(task.id)).toMatchObject({ owner: 'b' });
    await Promise.all([a.close(), b.close()]);
  });
});

describe('SQLite writer thread', () => {
  it('applies writes handed over without waiting in call order, each settling once committed', async () => {
    const path = dbPath();
    const store = createSqliteStore({ path });
    const writes: Array<Promise<void> | void> = [store.write(batch({ tasks: [record('o')] }))];
    for (let i = 1; i <= 30; i++) writes.push(store.write(batch({ updates: [{ id: 'o', status: 'processing', startTime: i }] })));
    writes.push(store.write(batch({ updates: [{ id: 'o', status: 'succeeded', startTime: 30, endTime: 40, outputs: {} }], reports: [{ taskID: 'o', reportJSON: JSON.stringify(report('o')) }] })));
    await Promise.all(writes);
    const reader = createSqliteStore({ path, retention: { intervalMs: 0 } });
    expect(await reader.getTask('o')).toMatchObject({ status: 'succeeded', startTime: 30, endTime: 40 });
    expect(await reader.getReport('o')).toEqual(report('o'));
    await reader.close();
    await store.close();
  });

  it('keeps at most MAX_IN_FLIGHT requests in flight: the caller waits for room instead', async () => {
    const path = dbPath();
    await createSqliteStore({ path }).close(); // the store's first connection creates the tables
    const thread = new SqliteWriterThread(path);
    const rows = toRows(batch({ tasks: Array.from({ length: 200 }, (_, i) => record(`f${i}`)) }));
    const settled: Array<Promise<unknown>> = [];
    let most = 0;
    for (let i = 0; i < 20; i++) {
      settled.push(thread.request({ kind: 'write', rows: i === 0 ? rows : toRows(batch({ updates: [{ id: 'f0', status: 'processing', startTime: i }] })) }));
      most = Math.max(most, thread.inFlight);
    }
    expect(most).toBe(MAX_IN_FLIGHT);
    await Promise.all(settled);
    expect(thread.inFlight).toBe(0);
    await thread.close();
  });

  it('rejects a write that fails and goes on with the next ones', async () => {
    const store = createSqliteStore({ path: dbPath() });
    const broken = { ...record('x'), inputs: undefined } as unknown as TaskRecord; // no inputs: NOT NULL fails
    await expect(store.write(batch({ tasks: [record('before'), broken] }))).rejects.toThrow(/NOT NULL/);
    await store.write(batch({ tasks: [record('after')] }));
    expect(await store.getTask('before')).toBeUndefined(); // the failed batch was rolled back whole
    expect(await store.getTask('after')).toMatchObject({ id: 'after' });
    await store.close();
  });

  it('fails the requests of a thread that cannot start, without taking the process down', async () => {
    const thread = new SqliteWriterThread(dir); // a directory: the thread cannot open it
    // More requests than may be in flight: the caller stops waiting for room once the thread is gone.
    const requests = Array.from({ length: 2 * MAX_IN_FLIGHT }, () => thread.request({ kind: 'delete', taskID: 'a' }));
    for (const request of requests) await expect(request).rejects.toThrow(/cannot open SQLite database/);
    await expect(thread.request({ kind: 'delete', taskID: 'a' })).rejects.toThrow(/cannot open SQLite database/); // a new thread, same fate
    await thread.close();
    await expect(thread.request({ kind: 'delete', taskID: 'a' })).rejects.toThrow(/closed/);
  });

  it('close() waits for the writes in flight', async () => {
    const path = dbPath();
    const store = createSqliteStore({ path });
    void store.write(batch({ tasks: Array.from({ length: 500 }, (_, i) => record(`c${i}`)) }));
    await store.close();
    const reader = createSqliteStore({ path, retention: { intervalMs: 0 } });
    expect(await reader.listTasks({ limit: 1_000, offset: 0 })).toHaveLength(500);
    await reader.close();
  });

  it('keeps the process alive while a write is in flight, and not a moment longer', () => {
    const path = dbPath();
    // A script that writes without awaiting and never closes the store: it must commit, then exit on its own.
    const script = `
      import { createSqliteStore } from ${JSON.stringify(new URL('./sqlite.ts', import.meta.url).href)};
      const store = createSqliteStore({ path: ${JSON.stringify(path)} });
      void store.write({ tasks: [${JSON.stringify(record('child'))}], updates: [], events: [], reports: [] });
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.error).toBeUndefined(); // no timeout: nothing kept it alive after the write
    expect(child.status, child.stderr).toBe(0);
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT id FROM tasks').pluck().all()).toEqual(['child']);
    reader.close();
  });
});
