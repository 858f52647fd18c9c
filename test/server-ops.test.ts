/**
 * Operating the server: bearer token, CORS origins, concurrency cap with its queue, graceful shutdown,
 * the Fastify plugin under a prefix, the OpenAPI document and Swagger UI, and answering under load.
 */
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, flowgramPlugin } from '../src/index.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { helloSchema, postJson, request, slowSchema, startTestServer, waitForEnd, type TestServer } from './helpers/server-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer(options);
  cleanups.push(() => server.close());
  return server;
}

const runBody = (schema: unknown, inputs: unknown = {}) => ({ schema: JSON.stringify(schema), inputs });

describe('bearer token', () => {
  it('is required on every route but the server info when configured', async () => {
    const { url } = await start({ apiToken: 's3cret' });
    const denied = await postJson<{ code: string; message: string }>(`${url}/api/task/run`, runBody(helloSchema()));
    expect(denied.status).toBe(401);
    expect(denied.body.code).toBe(ErrorCodes.UNAUTHORIZED);
    expect(denied.headers.get('www-authenticate')).toBe('Bearer');

    const wrong = await request(`${url}/api/tasks`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    for (const path of ['/healthz', '/openapi.json', '/task/report?taskID=x', '/trpc/info']) {
      expect((await request(`${url}${path}`)).status, path).toBe(401);
    }

    expect((await request(`${url}/api/info`)).status).toBe(200);
    expect((await request(`${url}/info`)).status).toBe(200);

    const allowed = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(helloSchema()), 'POST', { authorization: 'Bearer s3cret' });
    expect(allowed.status).toBe(200);
    expect(typeof allowed.body.taskID).toBe('string');
  });

  it('comes from FLOWGRAM_API_TOKEN when no option is given', async () => {
    process.env.FLOWGRAM_API_TOKEN = 'from-env';
    try {
      const { url } = await start({ apiToken: undefined });
      expect((await request(`${url}/api/tasks`)).status).toBe(401);
      expect((await request(`${url}/api/tasks`, { headers: { authorization: 'Bearer from-env' } })).status).toBe(200);
    } finally {
      delete process.env.FLOWGRAM_API_TOKEN;
    }
  });

  it('accepts ?access_token= on GET only (the viewer and EventSource cannot send headers), masked in logs', async () => {
    const lines: string[] = [];
    const logger = { level: 'info', stream: { write: (line: string) => void lines.push(line) } };
    const { url } = await start({ apiToken: 's3cret', logger });
    const run = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(helloSchema()), 'POST', { authorization: 'Bearer s3cret' });
    const taskID = run.body.taskID;

    // The stream ends after workflow_finished, so reading it whole also waits for the task.
    const stream = await request<string>(`${url}/api/task/stream?taskID=${taskID}&access_token=s3cret`);
    expect(stream.status).toBe(200);
    expect(stream.body).toContain('event: workflow_finished');
    const viewer = await fetch(`${url}/api/task/view?taskID=${taskID}&access_token=s3cret`, { redirect: 'manual' });
    expect(viewer.status).toBe(302); // to the console's viewer, which asks for the token itself
    expect(viewer.headers.get('location')).not.toContain('s3cret');

    const wrong = await request<{ message: string }>(`${url}/api/task/report?taskID=${taskID}&access_token=nope`);
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('authorization: invalid bearer token');
    // Not for requests that change things: those come from code that can set a header.
    const post = await postJson(`${url}/api/task/run?access_token=s3cret`, runBody(helloSchema()));
    expect(post.status).toBe(401);

    const logged = lines.join('');
    expect(logged).toContain('access_token=***');
    expect(logged).not.toContain('s3cret');
  });

  it('lets CORS preflights through (browsers send no credentials on them)', async () => {
    const { url } = await start({ apiToken: 's3cret', cors: ['http://editor.test'] });
    const preflight = await fetch(`${url}/api/task/run`, {
      method: 'OPTIONS',
      headers: { origin: 'http://editor.test', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(preflight.status).toBeLessThan(300);
  });
});

describe('CORS origins', () => {
  it('allows only the configured origins', async () => {
    const { url } = await start({ cors: ['http://editor.test'] });
    const allowed = await fetch(`${url}/api/info`, { headers: { origin: 'http://editor.test' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://editor.test');
    const other = await fetch(`${url}/api/info`, { headers: { origin: 'http://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('concurrency cap', () => {
  it('queues tasks over the cap (pending) and refuses beyond the queue with 429', async () => {
    const { url } = await start({ concurrency: { maxRunningTasks: 1, maxQueuedTasks: 1 } });
    const first = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(slowSchema(300), { name: 'a' }));
    const second = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(slowSchema(10), { name: 'b' }));
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const queued = await request<{ workflowStatus: { status: string } }>(`${url}/api/task/report?taskID=${second.body.taskID}`);
    expect(queued.body.workflowStatus.status).toBe('pending');

    const third = await postJson<{ code: string }>(`${url}/api/task/run`, runBody(slowSchema(10), { name: 'c' }));
    expect(third.status).toBe(429);
    expect(third.body.code).toBe(ErrorCodes.LIMIT_EXCEEDED);

    const health = await request<{ running: number; queued: number }>(`${url}/healthz`);
    expect(health.body).toMatchObject({ running: 1, queued: 1 });
    const result = await request(`${url}/api/task/result?taskID=${second.body.taskID}&wait=5000`);
    expect(result.body).toEqual({ name: 'b' });
  });
});

describe('graceful shutdown', () => {
  it('refuses new tasks, lets short ones finish, cancels the rest after the grace period with a recorded reason', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    cleanups.push(() => runtime.close());
    const server = await startTestServer({ runtime, shutdownGraceMs: 200 });
    const { url } = server;
    const quick = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(slowSchema(50), { name: 'quick' }));
    const slow = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(slowSchema(10_000), { name: 'slow' }));

    const closing = server.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runtime.getTask(slow.body.taskID)?.status).toBe('processing');

    const startedAt = Date.now();
    await closing;
    expect(Date.now() - startedAt).toBeLessThan(2_000);

    expect(runtime.getTask(quick.body.taskID)?.status).toBe('succeeded');
    const slowTask = runtime.getTask(slow.body.taskID);
    expect(slowTask?.status).toBe('canceled');
    expect(slowTask?.error?.message).toMatch(/server shutting down/);
    // The server is gone.
    await expect(fetch(`${url}/api/info`)).rejects.toThrow();
  });

  it('answers 503 to new tasks while draining, but still serves reports', async () => {
    const server = await startTestServer({ shutdownGraceMs: 1_000 });
    const { url } = server;
    const slow = await postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(slowSchema(300), { name: 'slow' }));
    const closing = server.close();
    const refused = await postJson<{ code: string }>(`${url}/api/task/run`, runBody(helloSchema()));
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe(ErrorCodes.SHUTTING_DOWN);
    const report = await request<{ workflowStatus: { status: string } }>(`${url}/api/task/report?taskID=${slow.body.taskID}`);
    expect(report.body.workflowStatus.status).toBe('processing');
    expect((await request<{ status: string }>(`${url}/healthz`)).body.status).toBe('draining');
    await closing;
    expect(server.runtime.getTask(slow.body.taskID)?.status).toBe('succeeded');
  });
});

describe('closing with a shared runtime', () => {
  it('does not hang on a stream of a task the server did not start', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    cleanups.push(() => runtime.close());
    const server = await startTestServer({ runtime, shutdownGraceMs: 100 });
    const outside = runtime.start(slowSchema(30_000) as unknown as Record<string, unknown>, { name: 'outside' });
    const response = await fetch(`${server.url}/api/task/stream?taskID=${outside.id}`);
    const reader = response.body?.getReader();
    await reader?.read();
    const startedAt = Date.now();
    await server.close();
    expect(Date.now() - startedAt).toBeLessThan(5_000);
    // Not this server's task: it keeps running on the shared runtime.
    expect(outside.status).toBe('processing');
    await reader?.cancel().catch(() => undefined);
    outside.cancel('test over');
  });
});

describe('flowgramPlugin', () => {
  it('mounts every route under a prefix inside an existing Fastify app', async () => {
    const app = Fastify();
    app.get('/', () => ({ mine: true }));
    await app.register(flowgramPlugin, { prefix: '/flow', runtime: createRuntime({ executors: testExecutors() }), apiToken: null });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());

    expect((await request(`${base}/`)).body).toEqual({ mine: true });
    const run = await postJson<{ taskID: string }>(`${base}/flow/api/task/run`, runBody(helloSchema(), { name: 'plugin' }));
    expect(run.status).toBe(200);
    await waitForEnd(`${base}/flow`, run.body.taskID);
    expect((await request(`${base}/flow/task/result?taskID=${run.body.taskID}`)).body).toEqual({ greeting: 'Hello, plugin!' });
    expect((await request(`${base}/flow/trpc/info`)).status).toBe(200);
    const openapi = await request<{ paths: Record<string, unknown> }>(`${base}/flow/openapi.json`);
    expect(Object.keys(openapi.body.paths)).toContain('/flow/api/task/run');
    expect((await request<{ code: string }>(`${base}/flow/api/task/report?taskID=x`)).body.code).toBe(ErrorCodes.TASK_NOT_FOUND);
  });
});

describe('OpenAPI and Swagger UI', () => {
  it('serves an OpenAPI 3 document of every route, generated from the zod schemas', async () => {
    const { url } = await start();
    const { status, body } = await request<{ openapi: string; paths: Record<string, Record<string, { requestBody?: unknown; parameters?: Array<{ name: string }> }>> }>(
      `${url}/openapi.json`,
    );
    expect(status).toBe(200);
    expect(body.openapi).toMatch(/^3\./);
    expect(Object.keys(body.paths)).toEqual(
      expect.arrayContaining(['/api/task/run', '/api/task/report', '/api/task/result', '/api/task/cancel', '/api/task/validate', '/api/task/stream', '/api/tasks', '/api/info']),
    );
    expect(body.paths['/api/task/run'].post.requestBody).toBeDefined();
    expect(body.paths['/api/task/report'].get.parameters?.map((parameter) => parameter.name)).toEqual(['taskID']);
    expect(body.paths['/api/task/cancel'].put).toBeDefined();

    const docs = await request<string>(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('swagger');
  });
});

describe('under load', () => {
  it('keeps answering health checks while hundreds of tasks run', async () => {
    const { url } = await start();
    const runs = Array.from({ length: 200 }, (_, index) => postJson<{ taskID: string }>(`${url}/api/task/run`, runBody(slowSchema(20), { name: `n${index}` })));
    const health = await request(`${url}/healthz`);
    expect(health.status).toBe(200);
    const started = await Promise.all(runs);
    expect(started.every((response) => response.status === 200)).toBe(true);
    const last = started.at(-1)?.body.taskID as string;
    expect((await request(`${url}/api/task/result?taskID=${last}&wait=5000`)).body).toEqual({ name: 'n199' });
  });
});
