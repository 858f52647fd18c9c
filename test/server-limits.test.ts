/**
 * Hostile workflows and bodies sent to a real server on 127.0.0.1 (issue #13 items 1, 2, 5, 6): each is a
 * bounded failure of that one task or request, and the server keeps serving everyone else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, createSqliteStore, ErrorCodes, type IReport } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { nestedLoop } from './fixtures/workflow-builders.js';
import { helloSchema, postJson, request, startTestServer, type TestServer } from './helpers/server-harness.js';

let server: TestServer;
let directory: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'flowgram-limits-'));
  const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path: join(directory, 'flowgram.db') }) });
  server = await startTestServer({ runtime });
  // The server does not own a runtime it was given.
  const close = server.close.bind(server);
  server.close = async () => {
    await close();
    await runtime.close();
  };
});

afterAll(async () => {
  await server.close();
  rmSync(directory, { recursive: true, force: true });
});

interface ErrorBody {
  code: string;
  message: string;
}

function nested(depth: number, leaf: string, open: string, close: string): string {
  return `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
}

async function result(taskID: string): Promise<{ status: number; report: IReport }> {
  const outcome = await request(`${server.url}/api/task/result?taskID=${taskID}&wait=30000`);
  const report = await request<IReport>(`${server.url}/api/task/report?taskID=${taskID}`);
  return { status: outcome.status, report: report.body };
}

async function helloStillWorks(): Promise<void> {
  const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(helloSchema()), inputs: { name: 'Ada' } });
  expect(run.status).toBe(200);
  const outputs = await request(`${server.url}/api/task/result?taskID=${run.body.taskID}&wait=10000`);
  expect(outputs.body).toEqual({ greeting: 'Hello, Ada!' });
  expect((await request(`${server.url}/api/tasks`)).status).toBe(200);
}

describe('item 1: the template bomb', () => {
  it('fails only that task, naming the limit and the node, and the server serves on', async () => {
    const schema = helloSchema();
    const end = schema.nodes[1];
    (end.data as { inputsValues: Record<string, unknown> }).inputsValues.greeting = { type: 'template', content: '{{start_0.name}}'.repeat(800) };
    const body = JSON.stringify({ schema: JSON.stringify(schema), inputs: { name: 'x'.repeat(600_000) } });
    expect(body.length).toBeGreaterThan(600_000);
    const run = await request<{ taskID: string }>(`${server.url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(run.status).toBe(200);
    const { report } = await result(run.body.taskID);
    expect(report.workflowStatus.status).toBe('failed');
    expect(report.reports.end_0.status).toBe('failed');
    const error = report.messages.error.map((message) => message.message).join('\n');
    expect(error).toMatch(/end_0/);
    expect(error).toMatch(/maxValueBytes/);
    const listed = await request<{ tasks: Array<{ id: string; error?: string }> }>(`${server.url}/api/tasks`);
    expect(listed.body.tasks.find((task) => task.id === run.body.taskID)?.error).toMatch(/maxValueBytes/);
    await helloStillWorks();
  });
});

describe('item 5: deep or odd JSON', () => {
  it('answers 400 naming maxJsonDepth for 400k-deep inputs, without admitting a task', async () => {
    const before = (await server.runtime.listTasks({ limit: 1000 })).length;
    const body = `{"schema":${JSON.stringify(JSON.stringify(helloSchema()))},"inputs":{"name":${nested(400_000, '1', '[', ']')}}}`;
    expect(body.length).toBeLessThan(1024 * 1024);
    const response = await request<ErrorBody>(`${server.url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    expect(response.body.message).toMatch(/maxJsonDepth/);
    expect((await server.runtime.listTasks({ limit: 1000 })).length).toBe(before);
    await helloStillWorks();
  });

  it('answers 400 naming maxJsonDepth for a 400k-deep schema, as an object or as a JSON string', async () => {
    const before = (await server.runtime.listTasks({ limit: 1000 })).length;
    const text = `${JSON.stringify(helloSchema()).slice(0, -1)},"extra":${nested(400_000, '1', '{"a":', '}')}}`;
    expect(text.length).toBeGreaterThan(1024 * 1024);
    for (const body of [`{"schema":${text}}`, `{"schema":${JSON.stringify(`${JSON.stringify(helloSchema()).slice(0, -1)},"extra":${nested(300_000, '1', '[', ']')}}`)}}`]) {
      const response = await request<ErrorBody>(`${server.url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect([response.status, response.body.code]).toEqual([body.length > 1024 * 1024 ? 413 : 400, ErrorCodes.LIMIT_EXCEEDED]);
      expect(response.body.message).toMatch(body.length > 1024 * 1024 ? /body/ : /maxJsonDepth/);
    }
    // Under 1 MiB as an object too: the body's own nesting is refused before anything else reads it.
    const object = await request<ErrorBody>(`${server.url}/api/task/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"schema":${JSON.stringify(helloSchema()).slice(0, -1)},"extra":${nested(200_000, '1', '[', ']')}}}`,
    });
    expect([object.status, object.body.code]).toEqual([400, ErrorCodes.LIMIT_EXCEEDED]);
    expect(object.body.message).toMatch(/maxJsonDepth/);
    expect((await server.runtime.listTasks({ limit: 1000 })).length).toBe(before);
    const validate = await request<ErrorBody>(`${server.url}/api/task/validate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"schema":${JSON.stringify(`${JSON.stringify(helloSchema()).slice(0, -1)},"extra":${nested(300_000, '1', '[', ']')}}`)}}`,
    });
    expect(validate.status).toBe(200);
    expect(validate.body).toMatchObject({ valid: false, errors: [expect.stringMatching(/maxJsonDepth/)] });
  });

  it('reports odd declarations (null, arrays, non-objects) as validation errors, never a 500', async () => {
    for (const properties of [{ name: null }, { name: [] }, { name: 'string' }, []]) {
      const schema = helloSchema();
      (schema.nodes[0].data as { outputs: unknown }).outputs = { type: 'object', properties };
      const validate = await postJson<{ valid: boolean; errors: string[] }>(`${server.url}/api/task/validate`, { schema: JSON.stringify(schema), inputs: {} });
      expect(validate.status).toBe(200);
      expect(validate.body.valid).toBe(false);
      expect(validate.body.errors.join('\n')).toMatch(/nodes\[0\]\.data\.outputs\.properties/);
      const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(schema), inputs: {} });
      expect(run.status).toBe(200);
      const { report } = await result(run.body.taskID);
      expect(report.workflowStatus.status).toBe('failed');
    }
  });
});

describe('item 6: declarations too big to validate quickly', () => {
  it('answers 400 naming maxDeclarationProperties for a 40k-property start node, at once', async () => {
    const schema = helloSchema();
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 40_000; i++) properties[`p${i}`] = {};
    (schema.nodes[0].data as { outputs: unknown }).outputs = { type: 'object', properties };
    const started = Date.now();
    const response = await postJson<ErrorBody>(`${server.url}/api/task/run`, { schema, inputs: {} });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
    expect(response.body.message).toMatch(/maxDeclarationProperties/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('item 2: one task never blocks the event loop', () => {
  it('answers GET /api/info promptly while the 1000 × 1000 nested loop runs', async () => {
    const items = Array.from({ length: 1_000 }, (_, i) => i);
    const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(nestedLoop()), inputs: { items } });
    expect(run.status).toBe(200);
    const task = server.runtime.getTask(run.body.taskID);
    const latencies: number[] = [];
    while (task && !task.ended) {
      const sent = performance.now();
      expect((await request(`${server.url}/api/info`)).status).toBe(200);
      if (!task.ended) latencies.push(performance.now() - sent);
    }
    const { report } = await result(run.body.taskID);
    expect(report.workflowStatus.status).toBe('failed');
    // Before, not one request was answered while the task ran (7–23 s).
    expect(latencies.length).toBeGreaterThan(10);
    latencies.sort((a, b) => a - b);
    // The goal is p99 < 50 ms (see `npm run bench:server`); the bound is generous for a loaded test machine.
    expect(latencies[Math.floor(latencies.length * 0.9)]).toBeLessThan(250);
  });
});
