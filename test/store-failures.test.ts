/**
 * The store isolates failures, on a real server over a real SQLite file: a task that cannot be
 * serialized fails alone (stored as failed with FLOWGRAM_ERR_STORE_WRITE_FAILED) while every other
 * task, before and after it, is written and survives a restart; a store that cannot write at all (the
 * file locked by another process) makes /api/task/run answer 503 and /healthz not ok — never a task
 * ID for a task that would be lost — and once it can write again, tasks are accepted and kept.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRuntime, createSqliteStore, ErrorCodes, type NodeExecutor } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { chain, endNode, input, ref, startNode, workflow } from './fixtures/workflow-builders.js';
import { hearWarnings } from './helpers/process-warnings.js';
import { helloSchema, postJson, request, slowSchema, startTestServer, waitForEnd, type TestServer } from './helpers/server-harness.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'flowgram-store-failures-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

/** A custom node whose output JSON cannot be written (a BigInt): its task's report cannot be serialized. */
const unserializable: NodeExecutor = { type: 'unserializable', execute: () => ({ outputs: { value: 10n } }) };

const unserializableFlow = workflow(
  [
    startNode('start_0', {}),
    { id: 'bad_0', type: 'unserializable', meta: { position: { x: 0, y: 0 } }, data: { title: 'Bad', outputs: { type: 'object', properties: { value: { type: 'number' } } } } },
    endNode('end_0', { value: input('number', ref('bad_0', 'value')) }),
  ],
  chain('start_0', 'bad_0', 'end_0'),
);

async function serverOn(path: string, storeOptions: { busyTimeoutMs?: number } = {}, leaseMs?: number): Promise<TestServer> {
  const runtime = createRuntime({
    executors: [...testExecutors(), unserializable],
    store: createSqliteStore({ path, ...storeOptions }),
    ...(leaseMs ? { recovery: { leaseMs } } : {}),
  });
  const server = await startTestServer({ runtime });
  cleanups.push(async () => {
    await server.close();
    await runtime.close();
  });
  return server;
}

const run = (url: string, schema: unknown, inputs: unknown = {}) =>
  postJson<{ taskID: string; code?: string }>(`${url}/api/task/run`, { schema: JSON.stringify(schema), inputs });

describe('a task that cannot be serialized', () => {
  it('fails alone: every other task is written, before and after it, and survives a restart', async () => {
    const path = join(dir, 'unserializable.db');
    const server = await serverOn(path);
    const before = await Promise.all(Array.from({ length: 5 }, (_, i) => run(server.url, helloSchema(), { name: `before ${i}` })));
    const bad = await run(server.url, unserializableFlow);
    const alongside = await Promise.all(Array.from({ length: 5 }, (_, i) => run(server.url, helloSchema(), { name: `alongside ${i}` })));
    for (const response of [...before, bad, ...alongside]) expect(response.status).toBe(200);
    await server.runtime.getTask(bad.body.taskID)?.done;
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => run(server.url, helloSchema(), { name: `after ${i}` })));
    for (const response of after) expect(response.status).toBe(200);
    const listed = await request<{ tasks: Array<{ id: string }> }>(`${server.url}/api/tasks?limit=100`);
    expect(listed.status).toBe(200);
    expect(listed.body.tasks).toHaveLength(16);
    expect((await request(`${server.url}/healthz`)).status).toBe(200);
    const good = [...before, ...alongside, ...after].map((response) => response.body.taskID);
    for (const taskID of good) await waitForEnd(server.url, taskID);
    await server.server.close();
    await server.runtime.close(); // closing writes what is pending: no uncaught error while the store flushes

    const reopened = createSqliteStore({ path });
    try {
      for (const taskID of good) expect((await reopened.getTask(taskID))?.status, taskID).toBe('succeeded');
      const stored = await reopened.getTask(bad.body.taskID);
      expect(stored?.status).toBe('failed');
      expect(stored?.error?.code).toBe(ErrorCodes.STORE_WRITE_FAILED);
      const report = await reopened.getReport(bad.body.taskID);
      expect(report?.workflowStatus.status).toBe('failed');
    } finally {
      await reopened.close();
    }
  });

  it('with SIGTERM while the store flushes it: the server drains and exits 0', async () => {
    const path = join(dir, 'sigterm.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'test/helpers/unstorable-server.ts'), path], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /listening (http:\S+)/.exec(stdout);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
    });
    const bad = await run(url, unserializableFlow);
    const good = await run(url, helloSchema(), { name: 'kept' });
    expect([bad.status, good.status]).toEqual([200, 200]);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).not.toMatch(/RangeError|TypeError|Uncaught/);
    const reopened = createSqliteStore({ path });
    try {
      expect((await reopened.getTask(good.body.taskID))?.status).toBe('succeeded');
      expect((await reopened.getTask(bad.body.taskID))?.error?.code).toBe(ErrorCodes.STORE_WRITE_FAILED);
    } finally {
      await reopened.close();
    }
  });
});

describe("the issue's template bomb (800 placeholders over a 600 KB input)", () => {
  it('fails that task alone; every task after it is accepted, written and kept across a restart', async () => {
    const path = join(dir, 'bomb.db');
    const server = await serverOn(path);
    const schema = {
      nodes: [
        startNode('start_0', { s: 'string' }),
        endNode('end_0', { out: input('string', { type: 'template', content: '{{start_0.s}}'.repeat(800) }) }),
      ],
      edges: chain('start_0', 'end_0'),
    };
    const bomb = await run(server.url, schema, { s: 'x'.repeat(600 * 1024) });
    expect(bomb.status).toBe(200);
    await server.runtime.getTask(bomb.body.taskID)?.done;
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => run(server.url, helloSchema(), { name: `after ${i}` })));
    for (const response of after) expect(response.status).toBe(200);
    for (const response of after) await waitForEnd(server.url, response.body.taskID);
    expect((await request(`${server.url}/api/tasks`)).status).toBe(200);
    const report = await request<{ workflowStatus: { status: string } }>(`${server.url}/api/task/report?taskID=${bomb.body.taskID}`);
    expect(report.status).toBe(200);
    expect(report.body.workflowStatus.status).toBe('failed');
    await server.server.close();
    await server.runtime.close();

    const reopened = createSqliteStore({ path });
    try {
      expect((await reopened.getTask(bomb.body.taskID))?.status).toBe('failed');
      for (const response of after) expect((await reopened.getTask(response.body.taskID))?.status).toBe('succeeded');
    } finally {
      await reopened.close();
    }
  });
});

describe('a store that cannot write at all', () => {
  it('answers 503 to new tasks and /healthz is not ok; once it can write, tasks are accepted and kept', async () => {
    const path = join(dir, 'locked.db');
    const server = await serverOn(path, { busyTimeoutMs: 100 }, 600);
    const first = await run(server.url, helloSchema(), { name: 'first' });
    expect(first.status).toBe(200);
    await waitForEnd(server.url, first.body.taskID);

    const running = await run(server.url, slowSchema(300), { name: 'ends during the outage' });
    expect(running.status).toBe(200);

    // Another process takes the write lock and keeps it: every write of the server fails, and is warned about
    // (heard here instead of printed into the test run's output).
    const warnings = hearWarnings();
    cleanups.push(() => warnings.stop());
    const locker = new Database(path);
    cleanups.push(() => void (locker.open && locker.close()));
    locker.exec('BEGIN IMMEDIATE');
    await server.runtime.getTask(running.body.taskID)?.done;
    await server.runtime.getResult(running.body.taskID); // its final write was attempted, and failed
    const refused = await run(server.url, helloSchema(), { name: 'would be lost' });
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe(ErrorCodes.STORE_UNAVAILABLE);
    const health = await request<{ status: string }>(`${server.url}/healthz`);
    expect(health.status).toBe(503);
    expect(health.body.status).toBe('unavailable');
    const again = await run(server.url, helloSchema(), { name: 'still refused' });
    expect(again.status).toBe(503);
    // Reads still work.
    expect((await request(`${server.url}/api/tasks`)).status).toBe(200);
    expect((await request(`${server.url}/api/task/report?taskID=${first.body.taskID}`)).status).toBe(200);

    locker.exec('ROLLBACK');
    locker.close();
    const deadline = Date.now() + 10_000;
    while ((await request(`${server.url}/healthz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('the server did not see its store recover');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const accepted = await run(server.url, helloSchema(), { name: 'kept' });
    expect(accepted.status).toBe(200);
    await waitForEnd(server.url, accepted.body.taskID);
    await server.server.close();
    await server.runtime.close();
    await warnings.stop();
    expect(warnings.heard).toContain('FlowgramStoreWarning: flowgram store: write failed: database is locked');
    for (const warning of warnings.heard) expect(warning).toMatch(/^FlowgramStoreWarning: flowgram store: (write|heartbeat|recovering interrupted tasks) failed: database is locked$/);

    const reopened = createSqliteStore({ path });
    try {
      expect((await reopened.getTask(first.body.taskID))?.status).toBe('succeeded');
      expect((await reopened.getTask(accepted.body.taskID))?.outputs).toEqual({ greeting: 'Hello, kept!' });
      // Accepted before the outage and ended during it: written once the store could write again.
      expect(await reopened.getTask(running.body.taskID)).toMatchObject({ status: 'succeeded', outputs: { name: 'ends during the outage' } });
      expect((await reopened.getReport(running.body.taskID))?.workflowStatus.status).toBe('succeeded');
    } finally {
      await reopened.close();
    }
  });
});
