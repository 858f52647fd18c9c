/**
 * Checkpoints never hold a secret, so a node whose outputs had one masked is no checkpoint: resume,
 * re-run and crash recovery run it again and hand the real value on, instead of `[redacted]`. The
 * counting echo server shows the other earlier nodes are still not called again.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, createSqliteStore, type Runtime, type TaskEvent } from '../src/index.js';
import { SecretStore } from '../src/secrets/store.js';
import { countedFlow, stepCalls } from './helpers/counted-flow.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';

const secret = `sk-${randomBytes(12).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'flowgram-checkpoint-secrets-'));
let echo: EchoServer;
let runtime: Runtime;
beforeAll(async () => {
  echo = await startEchoServer();
  runtime = createRuntime({ store: createSqliteStore({ path: join(dir, 'tasks.db') }), secrets: new SecretStore({ values: { API_KEY: secret }, env: false }) });
});
afterAll(async () => {
  await runtime?.close();
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The counted flow with `auth` (code: 'Bearer ' + the secret) first, and `after` sending it as its Authorization header. */
function authFlow(): Record<string, unknown> {
  const flow = countedFlow(echo.origin) as { nodes: Array<Record<string, unknown>>; edges: Array<{ sourceNodeID: string; targetNodeID: string }> };
  const auth = {
    id: 'auth',
    type: 'code',
    meta: { position: { x: 0, y: 0 } },
    data: {
      title: 'Auth',
      inputs: { type: 'object', properties: { key: { type: 'string' } } },
      inputsValues: { key: { type: 'ref', content: ['secrets', 'API_KEY'] } },
      outputs: { type: 'object', properties: { header: { type: 'string' } } },
      script: { language: 'javascript', content: "function main({ params }) { return { header: 'Bearer ' + params.key }; }" },
    },
  };
  flow.nodes.splice(1, 0, auth);
  flow.edges = [{ sourceNodeID: 'start_0', targetNodeID: 'auth' }, { sourceNodeID: 'auth', targetNodeID: 'before' }, ...flow.edges.slice(1)];
  const after = flow.nodes.find((node) => node.id === 'after') as { data: Record<string, unknown> };
  after.data.headers = { type: 'object', properties: { Authorization: { type: 'string' } } };
  after.data.headersValues = { Authorization: { type: 'ref', content: ['auth', 'header'] } };
  return flow;
}

/** Runs the flow to its failure at code_0; its ID and the events it emitted (its journal). */
async function failOnce(): Promise<{ taskID: string; events: TaskEvent[] }> {
  echo.requests.length = 0;
  const task = runtime.start(authFlow(), { fail: true });
  const events: TaskEvent[] = [];
  task.subscribe((event) => events.push(event));
  await task.done;
  expect(task.status).toBe('failed');
  expect(stepCalls(echo)).toEqual({ before: 1, after: 0 });
  return { taskID: task.id, events };
}

function expectRealKeySentOnce(): void {
  expect(stepCalls(echo)).toEqual({ before: 1, after: 1 });
  const sent = echo.requestsTo('/echo').filter((request) => request.query.get('step') === 'after');
  expect(sent.map((request) => request.headers.authorization)).toEqual([`Bearer ${secret}`]);
}

function filesHolding(needle: string): string[] {
  return readdirSync(dir).filter((name) => readFileSync(join(dir, name)).includes(Buffer.from(needle)));
}

describe('a node whose outputs held a secret', () => {
  it('runs again on resume: the node after it gets the key, not [redacted]', async () => {
    const { taskID } = await failOnce();
    const resumed = await runtime.resume(taskID, { inputs: { fail: false } });
    expect(await resumed.wait()).toEqual({ checked: 200, after: 200 });
    expectRealKeySentOnce();
    const report = JSON.stringify(resumed.report());
    expect(report).not.toContain(secret);
    expect((resumed.report().reports.auth.snapshots as unknown[]).length).toBe(2);
  });

  it('runs again on a re-run from a later node', async () => {
    const { taskID } = await failOnce();
    const rerun = await runtime.rerun(taskID, { fromNodeID: 'code_0', inputs: { fail: false } });
    expect(await rerun.wait()).toEqual({ checked: 200, after: 200 });
    expectRealKeySentOnce();
  });

  it('runs again when a task is continued from its journal (crash recovery)', async () => {
    const { taskID, events } = await failOnce();
    // The journal as a crash right after `before` finished would have left it.
    const cut = events.findIndex((event) => event.type === 'node_finished' && event.nodeID === 'before');
    const journal = events.slice(0, cut + 1).filter((event) => event.type !== 'workflow_started' && event.type !== 'message');
    expect(JSON.stringify(journal)).toContain('Bearer [redacted]');
    const schema = JSON.stringify(authFlow());
    const record = { id: `${taskID}-continued`, schema, inputs: { fail: true }, startTime: 0, createdAt: 0 };
    const continued = runtime.continueTask(record, { events: journal }, { fail: false });
    expect(await continued.wait()).toEqual({ checked: 200, after: 200 });
    expectRealKeySentOnce();
    await runtime.flush();
    expect(filesHolding(secret)).toEqual([]);
  });
});
