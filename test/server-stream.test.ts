/**
 * Live progress over Server-Sent Events: event order, late clients, Last-Event-ID, and the end of the
 * stream after workflow_finished.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/index.js';
import { failingSchema, postJson, readEventStream, request, slowSchema, startTestServer, waitForEnd, type TestServer } from './helpers/server-harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

async function run(schema: unknown, inputs: unknown = {}): Promise<string> {
  const response = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(schema), inputs });
  return response.body.taskID;
}

const types = (events: Array<{ event?: string }>) => events.map((event) => event.event);

describe('GET /api/task/stream', () => {
  it('streams a running task from the start to workflow_finished, in order, then ends', async () => {
    const taskID = await run(slowSchema(150), { name: 'live' });
    const { status, contentType, events } = await readEventStream(`${server.url}/api/task/stream?taskID=${taskID}`);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/event-stream/);
    expect(types(events)).toEqual([
      'workflow_started',
      'node_started',
      'node_finished',
      'node_started',
      'node_finished',
      'node_started',
      'node_finished',
      'workflow_finished',
    ]);
    expect(events.map((event) => Number(event.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const delayFinished = events[4].data as { nodeID: string; status: string; timeCost: number; outputs: unknown };
    expect(delayFinished).toMatchObject({ nodeID: 'delay_0', status: 'succeeded', outputs: { name: 'live' } });
    expect(delayFinished.timeCost).toBeGreaterThanOrEqual(100);
    expect(events.at(-1)?.data).toMatchObject({ type: 'workflow_finished', status: 'succeeded', outputs: { name: 'live' } });
  });

  it('a client that connects late first gets the events so far', async () => {
    const taskID = await run(slowSchema(10), { name: 'late' });
    await waitForEnd(server.url, taskID);
    const { events } = await readEventStream(`${server.url}/task/stream?taskID=${taskID}`);
    expect(types(events)[0]).toBe('workflow_started');
    expect(types(events).at(-1)).toBe('workflow_finished');
    expect(events).toHaveLength(8);
  });

  it('resumes after Last-Event-ID', async () => {
    const taskID = await run(slowSchema(10), { name: 'resume' });
    await waitForEnd(server.url, taskID);
    const { events } = await readEventStream(`${server.url}/api/task/stream?taskID=${taskID}`, { 'last-event-id': '5' });
    expect(events.map((event) => event.id)).toEqual(['6', '7', '8']);
  });

  it('reports a failing node with its error and the workflow as failed', async () => {
    const taskID = await run(failingSchema());
    const { events } = await readEventStream(`${server.url}/api/task/stream?taskID=${taskID}`);
    const failed = events.find((event) => event.event === 'node_finished' && (event.data as { status: string }).status === 'failed');
    expect(failed?.data).toMatchObject({ nodeID: 'fail_0', error: expect.stringContaining('boom') });
    expect(events.at(-1)?.data).toMatchObject({ type: 'workflow_finished', status: 'failed' });
  });

  it('ends with a cancelled workflow_finished when the task is cancelled mid-stream', async () => {
    const taskID = await run(slowSchema(5_000), { name: 'x' });
    const streaming = readEventStream(`${server.url}/api/task/stream?taskID=${taskID}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await postJson(`${server.url}/api/task/cancel`, { taskID }, 'PUT');
    const { events } = await streaming;
    expect(events.at(-1)?.data).toMatchObject({ type: 'workflow_finished', status: 'canceled' });
  });

  it('closes at once with workflow_finished for a task only the store still knows', async () => {
    const { createRuntime } = await import('../src/index.js');
    const { createSqliteStore } = await import('../src/store/sqlite.js');
    const { testExecutors } = await import('./fixtures/test-nodes.js');
    const runtime = createRuntime({ executors: testExecutors(), store: createSqliteStore({ path: ':memory:' }), retention: { maxTasks: 1 } });
    const stored = await startTestServer({ runtime });
    try {
      const first = await postJson<{ taskID: string }>(`${stored.url}/api/task/run`, { schema: JSON.stringify(slowSchema(1)), inputs: { name: 'old' } });
      await waitForEnd(stored.url, first.body.taskID);
      const second = await postJson<{ taskID: string }>(`${stored.url}/api/task/run`, { schema: JSON.stringify(slowSchema(1)), inputs: { name: 'new' } });
      await waitForEnd(stored.url, second.body.taskID);
      await runtime.listTasks();
      expect(runtime.getTask(first.body.taskID)).toBeUndefined();
      const { events } = await readEventStream(`${stored.url}/api/task/stream?taskID=${first.body.taskID}`);
      expect(events).toHaveLength(1);
      expect(events[0].data).toMatchObject({ type: 'workflow_finished', status: 'succeeded', outputs: { name: 'old' } });
    } finally {
      await stored.close();
      await runtime.close();
    }
  });

  it('survives a client that goes away mid-stream', async () => {
    const taskID = await run(slowSchema(300), { name: 'gone' });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/task/stream?taskID=${taskID}`, { signal: controller.signal });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    const result = await request(`${server.url}/api/task/result?taskID=${taskID}&wait=5000`);
    expect(result.body).toEqual({ name: 'gone' });
    expect((await request(`${server.url}/healthz`)).status).toBe(200);
  });

  it('answers 404 {code, message} for an unknown task', async () => {
    const response = await request<{ code: string }>(`${server.url}/api/task/stream?taskID=nope`);
    expect(response.status).toBe(404);
    expect(response.body.code).toBe(ErrorCodes.TASK_NOT_FOUND);
  });
});
