/**
 * A damaged SQLite file: bytes flipped in pages 2–3 of a real database. The store refuses it at
 * creation with FLOWGRAM_ERR_STORE_CORRUPT, and `flowgram serve` refuses to start with one readable
 * line and a non-zero exit, instead of answering 200 for tasks it cannot keep.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, createSqliteStore, ErrorCodes, FlowgramError } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { helloSchema } from './helpers/server-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'flowgram-corrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A database with some history, written and checkpointed into the main file by a clean close. */
async function databaseWithTasks(name: string): Promise<string> {
  const path = join(dir, name);
  const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path }) });
  await Promise.all(Array.from({ length: 60 }, (_, i) => runtime.run(helloSchema(), { name: `n${i}`.repeat(40) })));
  await runtime.close();
  return path;
}

/** XORs every byte of the given pages (1-based, as SQLite numbers them). */
function flipPages(path: string, pages: number[]): void {
  const pageSize = new Database(path, { readonly: true }).pragma('page_size', { simple: true }) as number;
  expect(statSync(path).size).toBeGreaterThan(pageSize * Math.max(...pages));
  const fd = openSync(path, 'r+');
  try {
    for (const page of pages) {
      const bytes = Buffer.alloc(pageSize);
      readSync(fd, bytes, 0, pageSize, (page - 1) * pageSize);
      for (let i = 0; i < bytes.length; i++) bytes[i] ^= 0xa5;
      writeSync(fd, bytes, 0, pageSize, (page - 1) * pageSize);
    }
  } finally {
    closeSync(fd);
  }
}

function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('a corrupt SQLite database', () => {
  it('is refused by createSqliteStore with FLOWGRAM_ERR_STORE_CORRUPT naming the file and how to recover', async () => {
    const path = await databaseWithTasks('sdk.db');
    const intact = createSqliteStore({ path });
    expect((await intact.listTasks({ limit: 100, offset: 0 })).length).toBe(60);
    await intact.close();

    flipPages(path, [2, 3]);
    const error = errorOf(() => createSqliteStore({ path }));
    expect(error).toBeInstanceOf(FlowgramError);
    expect((error as FlowgramError).code).toBe(ErrorCodes.STORE_CORRUPT);
    expect((error as FlowgramError).message).toContain(path);
    expect((error as FlowgramError).message).toMatch(/backup/);
  });

  it('stops `flowgram serve` before it listens: one line, non-zero exit', async () => {
    const path = await databaseWithTasks('serve.db');
    flipPages(path, [2, 3]);
    const result = spawnSync(process.execPath, [join(root, 'bin/flowgram.js'), 'serve', '--port', '0', '--db', path], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, HOST: '127.0.0.1' },
      timeout: 20_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.status).not.toBeNull(); // it exited, rather than being killed by the timeout while serving
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^flowgram: .*corrupt.*backup/);
    expect(result.stderr).not.toContain('listening');
  });

  it('never lists a row without an ID', async () => {
    const path = await databaseWithTasks('null-id.db');
    // A row whose ID reads back as NULL, as a damaged page can yield: the schema is loosened to store one.
    const raw = new Database(path);
    raw.unsafeMode(true);
    raw.pragma('writable_schema = ON');
    raw.prepare("UPDATE sqlite_schema SET sql = replace(sql, 'id TEXT NOT NULL UNIQUE', 'id TEXT UNIQUE') WHERE name = 'tasks'").run();
    raw.pragma('writable_schema = OFF');
    raw.close();
    const loose = new Database(path);
    loose.prepare("INSERT INTO tasks (id, schema_hash, inputs, status, created_at, start_time) SELECT NULL, schema_hash, '{}', 'succeeded', 0, 0 FROM tasks LIMIT 1").run();
    loose.close();

    const store = createSqliteStore({ path });
    try {
      const tasks = await store.listTasks({ limit: 1_000, offset: 0 });
      expect(tasks).toHaveLength(60);
      expect(tasks.every((task) => typeof task.id === 'string')).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('reads around a row whose text the database damaged: listings go on, the task says what is unreadable, recovery settles it', async () => {
    // Bytes flipped inside a row's text pass PRAGMA quick_check: the pages are well formed, the JSON is not.
    const path = await databaseWithTasks('damaged-rows.db');
    const raw = new Database(path);
    const [first, second, third] = raw.prepare<[], string>('SELECT id FROM tasks ORDER BY seq LIMIT 3').pluck().all();
    raw.prepare(`UPDATE tasks SET status = 'failed', error = '{"code":"X","mess' WHERE id = ?`).run(first);
    raw.prepare(`UPDATE reports SET body = '{"id":"' || char(255) WHERE task_seq = (SELECT seq FROM tasks WHERE id = ?)`).run(second);
    // An unfinished task of a runtime that is gone, with damaged inputs; another one intact.
    raw.prepare(`UPDATE tasks SET status = 'processing', end_time = NULL, owner = NULL, inputs = '{"name":' WHERE id = ?`).run(third);
    const intact = raw.prepare<[], string>('SELECT id FROM tasks ORDER BY seq LIMIT 1 OFFSET 3').pluck().get() as string;
    raw.prepare(`UPDATE tasks SET status = 'processing', end_time = NULL, owner = NULL WHERE id = ?`).run(intact);
    raw.close();

    const store = createSqliteStore({ path });
    const runtime = createRuntime({ executors: testExecutors(), store, recovery: { leaseMs: 60_000 } });
    try {
      const tasks = await runtime.listTasks({ limit: 1_000 });
      expect(tasks).toHaveLength(60);
      expect(tasks.find((task) => task.id === first)?.error).toMatch(/cannot be read/);
      const unreadable = await Promise.resolve()
        .then(() => runtime.getReport(second))
        .then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(unreadable).toBeInstanceOf(FlowgramError);
      expect(unreadable).toMatchObject({ code: ErrorCodes.STORE_CORRUPT });
      expect((unreadable as FlowgramError).message).toMatch(new RegExp(`report of task "${second}".*backup`));
      // Recovery is done once the listing answers; the intact task it continued then ends.
      const deadline = Date.now() + 10_000;
      while ((await store.getTask(intact))?.status !== 'succeeded' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      // The damaged unfinished task failed, saying why; the intact one was continued as before.
      expect(await store.getTask(intact)).toMatchObject({ status: 'succeeded' });
      const settled = await Promise.resolve()
        .then(() => store.getTask(third))
        .then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(settled).toMatchObject({ code: ErrorCodes.STORE_CORRUPT });
      const row = new Database(path, { readonly: true }).prepare<[string], { status: string; error: string }>('SELECT status, error FROM tasks WHERE id = ?').get(third);
      expect(row?.status).toBe('failed');
      expect(JSON.parse(row?.error ?? '{}')).toMatchObject({ code: ErrorCodes.STORE_CORRUPT });
    } finally {
      await runtime.close();
      await store.close();
    }
  });
});
