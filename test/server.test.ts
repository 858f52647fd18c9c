/**
 * The upstream wire contract over real HTTP: every task route under /api and without it, each answer
 * parsed with the matching `FlowGramAPIs[...].schema.output` of @flowgram.ai/runtime-interface, and
 * every error path answering `{ code, message }` with the right status.
 */
import { FlowGramAPIName, FlowGramAPIs } from '@flowgram.ai/runtime-interface';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/index.js';
import {
  failingSchema,
  helloSchema,
  postJson,
  request,
  slowSchema,
  startTestServer,
  waitForEnd,
  type TestServer,
} from './helpers/server-harness.js';

const output = (name: FlowGramAPIName) => FlowGramAPIs[name].schema.output;

interface ErrorBody {
  code: string;
  message: string;
}

let server: TestServer;
let url: string;

beforeAll(async () => {
  server = await startTestServer({ bodyLimit: 64 * 1024 });
  url = server.url;
});
afterAll(async () => {
  await server.close();
});

async function runTask(base: string, schema: unknown, inputs: unknown = {}): Promise<string> {
  const response = await postJson<{ taskID: string }>(`${base}/task/run`, { schema: JSON.stringify(schema), inputs });
  expect(response.status).toBe(200);
  return output(FlowGramAPIName.TaskRun).parse(response.body).taskID as string;
}

describe.each([
  ['/api', () => `${url}/api`],
  ['no prefix (Python port paths)', () => url],
])('task routes under %s', (_label, base) => {
  it('run → report → result answer what the upstream schemas describe', async () => {
    const taskID = await runTask(base(), helloSchema(), { name: 'Ada' });
    await waitForEnd(url, taskID);

    const report = await request(`${base()}/task/report?taskID=${taskID}`);
    expect(report.status).toBe(200);
    const parsedReport = output(FlowGramAPIName.TaskReport).parse(report.body);
    expect(parsedReport.workflowStatus).toMatchObject({ status: 'succeeded', terminated: true });
    expect(Object.keys(parsedReport.reports)).toEqual(expect.arrayContaining(['start_0', 'end_0']));

    const result = await request(`${base()}/task/result?taskID=${taskID}`);
    expect(result.status).toBe(200);
    expect(output(FlowGramAPIName.TaskResult).parse(result.body)).toEqual({ greeting: 'Hello, Ada!' });
  });

  it('validate lists every problem, and says valid for a good schema', async () => {
    const good = await postJson(`${base()}/task/validate`, { schema: JSON.stringify(helloSchema()), inputs: { name: 'x' } });
    expect(good.status).toBe(200);
    expect(output(FlowGramAPIName.TaskValidate).parse(good.body)).toEqual({ valid: true });

    const bad = await postJson(`${base()}/task/validate`, { schema: JSON.stringify({ nodes: [], edges: [] }), inputs: {} });
    expect(bad.status).toBe(200);
    const parsed = output(FlowGramAPIName.TaskValidate).parse(bad.body);
    expect(parsed.valid).toBe(false);
    expect(parsed.errors?.length).toBeGreaterThan(0);
  });

  it('validate answers warnings beside an upstream-compatible valid flag', async () => {
    const schema = helloSchema();
    const end = schema.nodes.find((node) => node.type === 'end') as unknown as { data: { inputsValues: Record<string, unknown> } };
    end.data.inputsValues.greeting = { type: 'ref', content: ['start_0', 'undeclared'] };
    const answer = await postJson<{ valid: boolean; warnings?: string[] }>(`${base()}/task/validate`, { schema: JSON.stringify(schema), inputs: { name: 'x' } });
    expect(answer.status).toBe(200);
    expect(output(FlowGramAPIName.TaskValidate).parse(answer.body)).toEqual({ valid: true });
    expect(answer.body.warnings).toEqual([expect.stringMatching(/^nodes\[\d\]\.data\.inputsValues\.greeting: ref "start_0\.undeclared"/)]);
  });

  it('cancel stops a running task and the report records it', async () => {
    const taskID = await runTask(base(), slowSchema(5_000), { name: 'slow' });
    const cancel = await postJson(`${base()}/task/cancel`, { taskID }, 'PUT');
    expect(cancel.status).toBe(200);
    expect(output(FlowGramAPIName.TaskCancel).parse(cancel.body)).toEqual({ success: true });
    await waitForEnd(url, taskID);
    const report = await request<{ workflowStatus: { status: string } }>(`${base()}/task/report?taskID=${taskID}`);
    expect(report.body.workflowStatus.status).toBe('canceled');

    const again = await postJson(`${base()}/task/cancel`, { taskID }, 'PUT');
    expect(again.body).toEqual({ success: true }); // as upstream: an ended task stays as it ended
  });
});

describe('server info', () => {
  it.each(['/api/info', '/info'])('%s parses with the ServerInfo schema', async (path) => {
    const response = await request(`${url}${path}`);
    expect(response.status).toBe(200);
    const info = output(FlowGramAPIName.ServerInfo).parse(response.body);
    expect(info.runtime).toBe('Node.js');
    expect(Number.isNaN(Date.parse(info.time as string))).toBe(false);
  });
});

describe('a cancelled task', () => {
  it('answers 409 TASK_CANCELLED for its result (also after ?wait=), and the report messages record the reason', async () => {
    const taskID = await runTask(`${url}/api`, slowSchema(5_000), { name: 'c' });
    await postJson(`${url}/api/task/cancel`, { taskID, reason: 'changed my mind' }, 'PUT');
    const result = await request<ErrorBody>(`${url}/api/task/result?taskID=${taskID}&wait=5000`);
    expect(result.status).toBe(409);
    expect(result.body.code).toBe(ErrorCodes.TASK_CANCELLED);
    expect(result.body.message).toContain('changed my mind');
    const report = await request<{ messages: { warning: Array<{ message: string }> } }>(`${url}/api/task/report?taskID=${taskID}`);
    expect(report.body.messages.warning.map((message) => message.message)).toContain('task cancelled: changed my mind');
  });
});

describe('task result before the end', () => {
  it('answers 409 TASK_NOT_FINISHED while the task runs (the editor reads any {code} answer as "no result")', async () => {
    const taskID = await runTask(`${url}/api`, slowSchema(300), { name: 'a' });
    const early = await request<ErrorBody>(`${url}/api/task/result?taskID=${taskID}`);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe(ErrorCodes.TASK_NOT_FINISHED);
    expect(early.body.message).toMatch(/^taskID: /);
  });

  it('long-polls with ?wait= until the task ends', async () => {
    const taskID = await runTask(`${url}/api`, slowSchema(50), { name: 'waited' });
    const result = await request(`${url}/api/task/result?taskID=${taskID}&wait=5000`);
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ name: 'waited' });
  });

  it('a failed task answers 409 TASK_FAILED naming the failing node and why, and the report carries the error', async () => {
    const taskID = await runTask(`${url}/api`, failingSchema());
    await waitForEnd(url, taskID);
    const result = await request<ErrorBody & { nodeID?: string }>(`${url}/api/task/result?taskID=${taskID}`);
    expect(result.status).toBe(409);
    expect(result.body.code).toBe(ErrorCodes.TASK_FAILED);
    expect(result.body.nodeID).toBeTruthy();
    expect(result.body.message).toContain(`node "${result.body.nodeID}"`);
    expect(result.body.message).toContain('boom');
    const report = await request<{ workflowStatus: { status: string }; messages: { error: Array<{ message: string }> } }>(
      `${url}/api/task/report?taskID=${taskID}`,
    );
    expect(report.body.workflowStatus.status).toBe('failed');
    expect(JSON.stringify(report.body.messages.error)).toContain('boom');
  });
});

describe('a schema that parses but is invalid', () => {
  it('still creates a (failed) task, as upstream does, whose report explains why', async () => {
    const taskID = await runTask(`${url}/api`, { nodes: [{ id: 'x', type: 'nope' }], edges: [] });
    await waitForEnd(url, taskID);
    const report = await request<{ workflowStatus: { status: string } }>(`${url}/api/task/report?taskID=${taskID}`);
    output(FlowGramAPIName.TaskReport).parse(report.body);
    expect(report.body.workflowStatus.status).toBe('failed');
  });
});

describe('errors: {code, message} with the right status, naming the bad field', () => {
  const cases: Array<[string, () => Promise<{ status: number; body: unknown }>, number, string, RegExp]> = [
    ['schema that is not JSON', () => postJson(`${url}/api/task/run`, { schema: '{"nodes":}', inputs: {} }), 400, ErrorCodes.SCHEMA_PARSE, /^schema: /],
    ['schema that is not an object', () => postJson(`${url}/api/task/run`, { schema: '[1]', inputs: {} }), 400, ErrorCodes.SCHEMA_PARSE, /^schema: /],
    ['missing schema', () => postJson(`${url}/api/task/run`, { inputs: {} }), 400, ErrorCodes.BAD_REQUEST, /^schema: /],
    ['schema of the wrong type', () => postJson(`${url}/api/task/run`, { schema: 42 }), 400, ErrorCodes.BAD_REQUEST, /^schema: /],
    ['inputs of the wrong type', () => postJson(`${url}/api/task/run`, { schema: '{}', inputs: 'x' }), 400, ErrorCodes.BAD_REQUEST, /^inputs: /],
    ['a body that is not an object', () => postJson(`${url}/api/task/run`, [1, 2]), 400, ErrorCodes.BAD_REQUEST, /^body: /],
    [
      'malformed JSON',
      () => request(`${url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"schema": ' }),
      400,
      ErrorCodes.BAD_REQUEST,
      /^body: /,
    ],
    [
      'an empty JSON body',
      () => request(`${url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'application/json' } }),
      400,
      ErrorCodes.BAD_REQUEST,
      /^body: /,
    ],
    [
      'text/plain',
      () => request(`${url}/api/task/run`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
      415,
      ErrorCodes.BAD_REQUEST,
      /^content-type: /,
    ],
    [
      'an oversized body',
      () => postJson(`${url}/api/task/run`, { schema: 'x'.repeat(70 * 1024) }),
      413,
      ErrorCodes.LIMIT_EXCEEDED,
      /^body: /,
    ],
    ['report without taskID', () => request(`${url}/api/task/report`), 400, ErrorCodes.BAD_REQUEST, /^taskID: is required/],
    ['report of an unknown task', () => request(`${url}/api/task/report?taskID=nope`), 404, ErrorCodes.TASK_NOT_FOUND, /^taskID: no such task/],
    ['result of an unknown task', () => request(`${url}/api/task/result?taskID=nope`), 404, ErrorCodes.TASK_NOT_FOUND, /^taskID: /],
    ['result with a bad wait', () => request(`${url}/api/task/result?taskID=x&wait=-1`), 400, ErrorCodes.BAD_REQUEST, /^wait: /],
    ['cancel of an unknown task', () => postJson(`${url}/api/task/cancel`, { taskID: 'nope' }, 'PUT'), 404, ErrorCodes.TASK_NOT_FOUND, /^taskID: /],
    ['cancel without taskID', () => postJson(`${url}/api/task/cancel`, {}, 'PUT'), 400, ErrorCodes.BAD_REQUEST, /^taskID: /],
    ['validate without schema', () => postJson(`${url}/api/task/validate`, {}), 400, ErrorCodes.BAD_REQUEST, /^schema: /],
    ['tasks with a bad status', () => request(`${url}/api/tasks?status=done`), 400, ErrorCodes.BAD_REQUEST, /^status: /],
    ['delete of an unknown task', () => request(`${url}/api/task?taskID=nope`, { method: 'DELETE' }), 404, ErrorCodes.TASK_NOT_FOUND, /^taskID: /],
    ['an unknown route', () => request(`${url}/api/nope`), 404, ErrorCodes.NOT_FOUND, /^route: /],
  ];

  it.each(cases)('%s', async (_name, send, status, code, message) => {
    const response = await send();
    expect(response.status).toBe(status);
    const body = response.body as ErrorBody;
    expect(body.code).toBe(code);
    expect(body.message).toMatch(message);
  });

  it('the server keeps answering after all of them', async () => {
    expect((await request(`${url}/healthz`)).status).toBe(200);
  });
});

describe('task listing and deletion', () => {
  it('lists recent tasks with status and times, filtered by status and limited', async () => {
    const ok = await runTask(`${url}/api`, helloSchema(), { name: 'list' });
    const failed = await runTask(`${url}/api`, failingSchema());
    await waitForEnd(url, ok);
    await waitForEnd(url, failed);

    const all = await request<{ tasks: Array<{ id: string; status: string; startTime: number; endTime?: number }> }>(`${url}/api/tasks?limit=100`);
    expect(all.status).toBe(200);
    const listed = all.body.tasks.find((task) => task.id === ok);
    expect(listed).toMatchObject({ status: 'succeeded' });
    expect(listed?.endTime).toBeGreaterThanOrEqual(listed?.startTime ?? Infinity);

    const onlyFailed = await request<{ tasks: Array<{ status: string }> }>(`${url}/tasks?status=failed`);
    expect(onlyFailed.body.tasks.length).toBeGreaterThan(0);
    expect(onlyFailed.body.tasks.every((task) => task.status === 'failed')).toBe(true);

    const one = await request<{ tasks: Array<{ id: string }> }>(`${url}/api/tasks?limit=1`);
    expect(one.body.tasks).toHaveLength(1);
    const next = await request<{ tasks: Array<{ id: string }> }>(`${url}/api/tasks?limit=1&offset=1`);
    expect(next.body.tasks).toHaveLength(1);
    expect(next.body.tasks[0].id).not.toBe(one.body.tasks[0].id);

    const future = Date.now() + 60_000;
    expect((await request<{ tasks: unknown[] }>(`${url}/api/tasks?since=${future}`)).body.tasks).toEqual([]);
    const before = await request<{ tasks: unknown[] }>(`${url}/api/tasks?until=${future}&limit=1000`);
    expect(before.body.tasks.length).toBe(all.body.tasks.length);
  });

  it('lists each task with its workflow title, searches by ID or title, and counts per status', async () => {
    const named = await runTask(`${url}/api`, { ...helloSchema(), title: 'Invoice run <b>' }, { name: 'q' });
    await waitForEnd(url, named);
    type Listing = { tasks: Array<{ id: string; title: string }>; total: number; counts: Record<string, number> };
    const byTitle = await request<Listing>(`${url}/api/tasks?q=${encodeURIComponent('invoice RUN')}`);
    expect(byTitle.status).toBe(200);
    expect(byTitle.body.tasks.map((task) => task.id)).toEqual([named]);
    expect(byTitle.body.tasks[0].title).toBe('Invoice run <b>');
    expect(byTitle.body.total).toBe(1);
    expect(byTitle.body.counts).toEqual({ pending: 0, processing: 0, waiting: 0, succeeded: 1, failed: 0, canceled: 0 });
    const byID = await request<Listing>(`${url}/api/tasks?q=${named.slice(0, 12)}&limit=1`);
    expect(byID.body.tasks.map((task) => task.id)).toEqual([named]);
    const all = await request<Listing>(`${url}/api/tasks?limit=1`);
    expect(all.body.tasks).toHaveLength(1);
    expect(all.body.total).toBe(Object.values(all.body.counts).reduce((sum, n) => sum + n, 0));
    expect(all.body.total).toBeGreaterThan(1);
    const failed = await request<Listing>(`${url}/api/tasks?status=failed&limit=1`);
    expect(failed.body.total).toBe(failed.body.counts.failed);
    const untitled = await request<Listing>(`${url}/api/tasks?q=${all.body.tasks[0].id}`);
    expect(typeof untitled.body.tasks[0].title).toBe('string');
  });

  it('DELETE /api/task forgets a task', async () => {
    const taskID = await runTask(`${url}/api`, helloSchema(), { name: 'gone' });
    await waitForEnd(url, taskID);
    const deleted = await request(`${url}/api/task?taskID=${taskID}`, { method: 'DELETE' });
    expect(deleted).toMatchObject({ status: 200, body: { success: true } });
    expect((await request(`${url}/api/task/report?taskID=${taskID}`)).status).toBe(404);
  });
});

describe('CORS', () => {
  it('answers the editor\'s preflight from a loopback origin by default, reflecting it', async () => {
    const preflight = await fetch(`${url}/api/task/run`, {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    const info = await fetch(`${url}/api/info`, { headers: { origin: 'http://localhost:3000' } });
    expect(info.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  });
});
