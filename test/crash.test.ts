/**
 * Crash safety: a server process running 200 tasks is killed with SIGKILL and restarted on the same
 * SQLite file. Every accepted task must then be answered with a terminal status, and every report a
 * client saw before the kill must come back unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { afterAll, describe, expect, it } from 'vitest';
import { INTERRUPTED_MESSAGE } from '../src/store/recovery.js';
import { chain, delayNode, edge, endNode, input, ref, startNode, workflow } from './fixtures/workflow-builders.js';
import { startStoreServer as startServer, storeServerChildren } from './helpers/store-server-process.js';

const dir = mkdtempSync(join(tmpdir(), 'flowgram-crash-'));

afterAll(() => {
  for (const child of storeServerChildren) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function getJSON(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function startTask(base: string, schema: unknown, inputs: unknown): Promise<string> {
  const response = await fetch(`${base}/run`, { method: 'POST', body: JSON.stringify({ schema, inputs }) });
  return ((await response.json()) as { taskID: string }).taskID;
}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
const fastFlow = workflow(
  [startNode('start_0', { text: 'string' }), endNode('end_0', { text: input('string', ref('start_0', 'text')) })],
  chain('start_0', 'end_0'),
);
// Marked at-most-once: the tasks cut off by the kill fail as interrupted instead of continuing.
const slowFlow = (ms: number): unknown => ({
  resumable: false,
  ...workflow(
    [
      startNode('start_0', { text: 'string' }),
      delayNode('wait', ms, { text: input('string', ref('start_0', 'text')) }),
      endNode('end_0', { text: input('string', ref('wait', 'text')) }),
    ],
    [edge('start_0', 'wait'), edge('wait', 'end_0')],
  ),
});

describe('crash safety', () => {
  it('answers every task after SIGKILL in the middle of 200 running tasks, losing no completed report', async () => {
    const db = join(dir, 'crash.db');
    const first = await startServer(db);

    // Tasks completed before the crash, and what clients saw of them.
    const seen = new Map<string, unknown>();
    const doneIDs = await Promise.all(Array.from({ length: 20 }, (_, i) => startTask(first.base, fastFlow, { text: `done ${i}` })));
    for (const id of doneIDs) {
      let result = await getJSON(`${first.base}/result?taskID=${id}`);
      while (!TERMINAL.has((result.body as { status: string }).status)) result = await getJSON(`${first.base}/result?taskID=${id}`);
      seen.set(id, (await getJSON(`${first.base}/report?taskID=${id}`)).body);
    }

    // 200 tasks: half end within a second (some before the kill), half run for a minute (cut off by it).
    const runningIDs = await Promise.all(
      Array.from({ length: 200 }, (_, i) => startTask(first.base, slowFlow(i % 2 === 0 ? 20 + i * 5 : 60_000), { text: `run ${i}` })),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    const results = await Promise.all(runningIDs.map((id) => getJSON(`${first.base}/result?taskID=${id}`)));
    for (const [i, result] of results.entries()) {
      if (TERMINAL.has((result.body as { status: string }).status)) {
        seen.set(runningIDs[i], (await getJSON(`${first.base}/report?taskID=${runningIDs[i]}`)).body);
      }
    }
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = await startServer(db);
    let interrupted = 0;
    for (const id of [...doneIDs, ...runningIDs]) {
      const result = await getJSON(`${second.base}/result?taskID=${id}`);
      expect(result.status, `task ${id} is known after the restart`).toBe(200);
      const { status } = result.body as { status: string };
      expect(TERMINAL.has(status), `task ${id} has a terminal status, not ${status}`).toBe(true);
      const report = (await getJSON(`${second.base}/report?taskID=${id}`)).body as { workflowStatus: { status: string }; messages: { error: Array<{ message: string }> } };
      TaskReportDefine.schema.output.parse(report);
      expect(report.workflowStatus.status).toBe(status);
      if (seen.has(id)) expect(report, `report of ${id} as seen before the crash`).toEqual(seen.get(id));
      else if (status === 'failed') {
        expect(report.messages.error.map((message) => message.message)).toContain(INTERRUPTED_MESSAGE);
        interrupted++;
      }
    }
    expect(seen.size).toBeGreaterThan(20); // some of the 200 ended before the kill…
    expect(interrupted).toBeGreaterThanOrEqual(100); // …and the long ones were cut off
    second.child.kill('SIGKILL');
  }, 60_000);
});
