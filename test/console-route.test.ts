/**
 * How the server serves the web console: the page and its scripts (public: they hold no data), under
 * the plugin's prefix, with a strict content security policy; the old run-viewer URL redirects to the
 * console's viewer; `console: false` turns it all off. The console itself is tested in a browser
 * (console.test.ts).
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, createRuntime, flowgramPlugin } from '../src/index.js';
import { helloSchema, postJson, request, startTestServer, waitForEnd, type TestServer } from './helpers/server-harness.js';

let server: TestServer;
let guarded: TestServer;

beforeAll(async () => {
  [server, guarded] = await Promise.all([startTestServer(), startTestServer({ apiToken: 's3cret' })]);
});
afterAll(async () => {
  await Promise.all([server.close(), guarded.close()]);
});

describe('web console route', () => {
  it('serves the page at / with its scripts from /console/, nothing from elsewhere', async () => {
    const page = await request<string>(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = /<script type="module" src="([^"]+)"/.exec(page.body)?.[1] ?? '';
    expect(script).toMatch(/^\/console\/main\.js\?v=/);
    expect(page.body).not.toMatch(/https?:\/\//);
    const main = await fetch(`${server.url}${script}`);
    expect(main.status).toBe(200);
    expect(main.headers.get('content-type')).toMatch(/^text\/javascript/);
    const body = await main.text();
    for (const imported of body.matchAll(/from '\.\/([a-z-]+\.js)'/g)) expect((await fetch(`${server.url}/console/${imported[1]}`)).status).toBe(200);
    expect((await request(`${server.url}/console/..%2Fpackage.json`)).status).toBe(404);
    expect((await request(`${server.url}/console/nope.js`)).status).toBe(404);
  });

  it('answers the page without the token, the API only with it', async () => {
    expect((await request(`${guarded.url}/`)).status).toBe(200);
    expect((await request(`${guarded.url}/console/main.js`)).status).toBe(200);
    expect((await request(`${guarded.url}/api/tasks`)).status).toBe(401);
    expect((await request(`${guarded.url}/console/../api/tasks`)).status).toBe(401);
  });

  it('redirects the old run viewer URL to the console viewer, dropping any access_token', async () => {
    const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: helloSchema(), inputs: { name: 'Ada' } });
    for (const path of ['/api/task/view', '/task/view']) {
      const answer = await fetch(`${server.url}${path}?taskID=${run.body.taskID}&access_token=s3cret`, { redirect: 'manual' });
      expect(answer.status).toBe(302);
      expect(answer.headers.get('location')).toBe(`/#/task/${run.body.taskID}`);
    }
    const missing = await request<{ code: string }>(`${server.url}/api/task/view`);
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe(ErrorCodes.BAD_REQUEST);
  });

  it('serves the workflow schema a task ran (GET /api/task/schema), 404 for an unknown task', async () => {
    const schema = { ...helloSchema(), title: 'Hello' };
    const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(schema), inputs: { name: 'Ada' } });
    await waitForEnd(server.url, run.body.taskID);
    const answer = await request<unknown>(`${server.url}/api/task/schema?taskID=${run.body.taskID}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(schema);
    const unknown = await request<{ code: string }>(`${server.url}/task/schema?taskID=nope`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe(ErrorCodes.TASK_NOT_FOUND);
  });

  it('documents the listing additions and the schema route in OpenAPI', async () => {
    const document = (await request<{ paths: Record<string, { get: { parameters?: Array<{ name: string }>; responses: Record<string, unknown> } }> }>(`${server.url}/openapi.json`)).body;
    const list = document.paths['/api/tasks'].get;
    expect(list.parameters?.map((parameter) => parameter.name)).toEqual(expect.arrayContaining(['status', 'since', 'until', 'q', 'limit', 'offset']));
    expect(JSON.stringify(list.responses['200'])).toContain('"total"');
    expect(JSON.stringify(list.responses['200'])).toContain('"counts"');
    expect(JSON.stringify(list.responses['200'])).toContain('"title"');
    expect(document.paths['/api/task/schema']).toBeDefined();
  });

  it('lives under the plugin prefix when mounted inside another app, and is off with console: false', async () => {
    const runtime = createRuntime();
    const app = Fastify();
    await app.register(flowgramPlugin, { prefix: '/flow', runtime });
    const off = Fastify();
    await off.register(flowgramPlugin, { runtime, console: false });
    try {
      const page = await app.inject({ method: 'GET', url: '/flow/' });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('src="/flow/console/main.js');
      expect(page.body).toContain('"apiBase":"/flow/api"');
      expect((await app.inject({ method: 'GET', url: '/flow/console/main.js' })).statusCode).toBe(200);
      const view = await app.inject({ method: 'GET', url: '/flow/api/task/view?taskID=t1' });
      expect(view.headers.location).toBe('/flow/#/task/t1');

      expect((await off.inject({ method: 'GET', url: '/' })).statusCode).toBe(404);
      expect((await off.inject({ method: 'GET', url: '/console/main.js' })).statusCode).toBe(404);
      expect((await off.inject({ method: 'GET', url: '/api/task/view?taskID=t1' })).statusCode).toBe(404);
    } finally {
      await app.close();
      await off.close();
      await runtime.close();
    }
  });
});
