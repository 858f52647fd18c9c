/**
 * The task routes of our server against upstream's API functions (@flowgram.ai/runtime-js 1.0.9) where their
 * answers are the wire contract, and against upstream's newer application tests where those settle one.
 */
import { TaskReportAPI } from '@flowgram.ai/runtime-js';
import type { IReport } from '@flowgram.ai/runtime-interface';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, createServer, type FlowgramServer } from '../../src/index.js';
import { testExecutors } from '../fixtures/test-nodes.js';
import { cancelUpstream, installUpstreamTestNodes, startUpstream, silenceConsole, waitUpstream } from '../fixtures/upstream-engine.js';
import type { Schema } from '../fixtures/workflow-builders.js';
import { helloSchema, slowSchema } from '../helpers/server-harness.js';

let server: FlowgramServer;
let restoreConsole: () => void = () => undefined;

beforeAll(async () => {
  restoreConsole = silenceConsole();
  await installUpstreamTestNodes();
  server = await createServer({ runtime: createRuntime({ executors: testExecutors() }), apiToken: null, docs: false, console: false });
});

afterAll(async () => {
  restoreConsole();
  await server?.close();
});

async function call<T>(method: 'GET' | 'POST' | 'PUT', url: string, payload?: Record<string, unknown>): Promise<{ status: number; body: T }> {
  const response = await server.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
  return { status: response.statusCode, body: response.json<T>() };
}

async function runOnServer(schema: Schema, inputs: Record<string, unknown>): Promise<string> {
  const { body } = await call<{ taskID: string }>('POST', '/api/task/run', { schema: JSON.stringify(schema), inputs });
  return body.taskID;
}

const statusOf = async (taskID: string): Promise<string> =>
  (await call<{ workflowStatus: { status: string } }>('GET', `/api/task/report?taskID=${taskID}`)).body.workflowStatus.status;

describe('PUT /api/task/cancel', () => {
  // Mirrors upstream's newer js-core/src/application/workflow.test.ts ("returns true for a retained completed
  // task without changing its terminal status"); upstream 1.0.9's TaskCancelAPI answers the same.
  it('workflow.test.ts › returns true for a retained completed task without changing its terminal status', async () => {
    const upstreamID = await startUpstream(helloSchema(), { name: 'Ada' });
    await waitUpstream(upstreamID);
    expect(await cancelUpstream(upstreamID)).toEqual({ success: true });
    expect(((await TaskReportAPI({ taskID: upstreamID })) as IReport).workflowStatus.status).toBe('succeeded');

    const taskID = await runOnServer(helloSchema(), { name: 'Ada' });
    expect((await call('GET', `/api/task/result?taskID=${taskID}&wait=5000`)).body).toEqual({ greeting: 'Hello, Ada!' });
    expect(await call('PUT', '/api/task/cancel', { taskID })).toEqual({ status: 200, body: { success: true } });
    expect(await statusOf(taskID)).toBe('succeeded');
    expect((await call('GET', `/api/task/result?taskID=${taskID}`)).body).toEqual({ greeting: 'Hello, Ada!' });
  });

  it('a running task: true, and cancelling it again still answers true (as upstream: the task is known)', async () => {
    const upstreamID = await startUpstream(slowSchema(60_000), { name: 'x' });
    expect(await cancelUpstream(upstreamID)).toEqual({ success: true });
    expect(await cancelUpstream(upstreamID)).toEqual({ success: true });

    const taskID = await runOnServer(slowSchema(60_000), { name: 'x' });
    expect((await call('PUT', '/api/task/cancel', { taskID })).body).toEqual({ success: true });
    expect(await statusOf(taskID)).toBe('canceled');
    expect((await call('PUT', '/api/task/cancel', { taskID })).body).toEqual({ success: true });
    expect(await statusOf(taskID)).toBe('canceled');
  });

  it('an unknown task: upstream answers false; we answer 404 with a code (a listed difference)', async () => {
    expect(await cancelUpstream('no-such-task')).toEqual({ success: false });
    expect(await call('PUT', '/api/task/cancel', { taskID: 'no-such-task' })).toMatchObject({ status: 404, body: { code: 'FLOWGRAM_ERR_TASK_NOT_FOUND' } });
  });
});
