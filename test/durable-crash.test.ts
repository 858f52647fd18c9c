/**
 * Crash recovery continues from checkpoints: a server process (SQLite, then PostgreSQL) is killed with
 * SIGKILL while a workflow is in the middle of a loop over 20 items; the next process takes the task
 * over and continues it. A counting echo server shows that nothing durable ran again (only the item in
 * flight did) and the outputs equal those of an uninterrupted run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore, createRuntime, createSqliteStore, type TaskStore } from '../src/index.js';
import { RESUMED_MESSAGE } from '../src/store/recovery.js';
import { callsByStep, loopFlow, waitForItem } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { postgresBinDir, startPostgres, type PostgresInstance } from './helpers/postgres.js';
import { killStoreServer, startStoreServer, storeServerChildren } from './helpers/store-server-process.js';

const ITEMS = Array.from({ length: 20 }, (_, i) => `item${i}`);
const KILL_AT = 12;

const dir = mkdtempSync(join(tmpdir(), 'flowgram-durable-crash-'));
let echo: EchoServer;
beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  for (const child of storeServerChildren) child.kill('SIGKILL');
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the loop workflow on a server process on `db`, kills it while item 12 is in flight, starts
 * another on the same database and checks what the continued task did. `openStore` reads the journal
 * the killed process left (what it had made durable).
 */
async function crashAndContinue(db: string, openStore: () => Promise<TaskStore>): Promise<void> {
  echo.requests.length = 0;
  const schema = loopFlow(echo.origin);
  const first = await startStoreServer(db);
  const response = await fetch(`${first.base}/run`, { method: 'POST', body: JSON.stringify({ schema, inputs: { items: ITEMS } }) });
  const { taskID } = (await response.json()) as { taskID: string };
  await waitForItem(echo, `item${KILL_AT}`);
  await sleep(75); // the journal writes every 200 ms: some finished items are durable, some may not be
  await killStoreServer(first);

  const reader = await openStore();
  const durable = (await reader.getEvents(taskID)).filter((event) => event.type === 'loop_iteration').length;
  await reader.close();
  // At most one journal interval (~2 items) lost; the task is continued from what was written.
  expect(durable).toBeGreaterThanOrEqual(KILL_AT - 3);
  expect(durable).toBeLessThanOrEqual(KILL_AT);
  const beforeCrash = callsByStep(echo);

  const second = await startStoreServer(db);
  let result: { status: string; outputs: Record<string, unknown> } | undefined;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(50)) {
    result = (await (await fetch(`${second.base}/result?taskID=${taskID}`)).json()) as typeof result;
    if (result && TERMINAL.has(result.status)) break;
  }
  expect(result?.status).toBe('succeeded');
  const report = (await (await fetch(`${second.base}/report?taskID=${taskID}`)).json()) as unknown;
  TaskReportDefine.schema.output.parse(report);
  expect((report as { messages: { warning: Array<{ message: string }> } }).messages.warning.map((message) => message.message)).toContain(RESUMED_MESSAGE);
  await killStoreServer(second);

  // Exactly once in all: `before`, the durable items, `after` (which never ran before the crash);
  // the items after the durable ones once more in the continued run (the one in flight: twice in all).
  const total = callsByStep(echo);
  expect(total.get('before')).toBe(1);
  expect(total.get('after')).toBe(1);
  for (let i = 0; i < ITEMS.length; i++) {
    const item = `item${i}`;
    const again = (total.get(item) ?? 0) - (beforeCrash.get(item) ?? 0);
    expect(again, `${item} ran again after the crash`).toBe(i < durable ? 0 : 1);
  }

  // The same workflow uninterrupted, in this process: the same outputs.
  const reference = createRuntime();
  try {
    expect(result?.outputs).toEqual(await reference.run(schema, { items: ITEMS }));
  } finally {
    await reference.close();
  }
}

describe('crash recovery continues from checkpoints', () => {
  it('SQLite: a process killed in the middle of a loop over 20 items is continued where it stopped', async () => {
    const db = join(dir, 'loop.db');
    await crashAndContinue(db, async () => createSqliteStore({ path: db, retention: { intervalMs: 0 } }));
  }, 90_000);

  describe.skipIf(postgresBinDir() === undefined)('PostgreSQL', () => {
    let server: PostgresInstance;
    beforeAll(async () => {
      server = await startPostgres();
      const admin = new pg.Pool({ connectionString: server.url, max: 1 });
      await admin.query('CREATE DATABASE crash');
      await admin.end();
    });
    afterAll(() => server?.stop());

    it('a process killed in the middle of a loop over 20 items is continued where it stopped', async () => {
      const url = server.url.replace(/\/postgres$/, '/crash');
      await crashAndContinue(url, () => createPostgresStore({ url, retention: { intervalMs: 0 } }));
    }, 90_000);
  });
});
