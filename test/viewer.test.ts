/**
 * The run viewer page: served by the server for any known task, with the task's graph embedded and
 * pointing its live updates at the task routes under the same prefix.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, flowgramPlugin } from '../src/index.js';
import { helloSchema, postJson, request, startTestServer, waitForEnd, type TestServer } from './helpers/server-harness.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

function embeddedConfig(html: string): { taskID: string; apiBase: string; schema: { nodes: Array<{ id: string }> } } {
  const match = /<script id="viewer-config" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  expect(match).not.toBeNull();
  return JSON.parse((match as RegExpExecArray)[1]);
}

describe('run viewer', () => {
  it('serves an HTML page with the task graph and the API base it was served under', async () => {
    const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(helloSchema()), inputs: { name: 'Ada' } });
    await waitForEnd(server.url, run.body.taskID);
    const page = await request<string>(`${server.url}/api/task/view?taskID=${run.body.taskID}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const config = embeddedConfig(page.body);
    expect(config.taskID).toBe(run.body.taskID);
    expect(config.apiBase).toBe('/api');
    expect(config.schema.nodes.map((node) => node.id)).toEqual(['start_0', 'end_0']);
  });

  it('escapes schema text so it cannot break out of the page', async () => {
    const schema = helloSchema();
    (schema.nodes[0].data as { title?: string }).title = '</script><script>alert(1)</script>';
    const run = await postJson<{ taskID: string }>(`${server.url}/api/task/run`, { schema: JSON.stringify(schema), inputs: { name: 'x' } });
    const page = await request<string>(`${server.url}/task/view?taskID=${run.body.taskID}`);
    expect(page.status).toBe(200);
    expect(page.body).not.toContain('</script><script>alert(1)');
    expect(embeddedConfig(page.body).apiBase).toBe('');
  });

  it('answers 404 with {code, message} for an unknown task', async () => {
    const page = await request<{ code: string; message: string }>(`${server.url}/api/task/view?taskID=nope`);
    expect(page.status).toBe(404);
    expect(page.body.message).toContain('taskID');
  });

  it('points at the plugin prefix when mounted inside another app', async () => {
    const runtime = createRuntime();
    const app = Fastify();
    await app.register(flowgramPlugin, { prefix: '/flow', runtime });
    try {
      const task = runtime.start(helloSchema(), { name: 'Ada' });
      await task.wait();
      const page = await app.inject({ method: 'GET', url: `/flow/api/task/view?taskID=${task.id}` });
      expect(page.statusCode).toBe(200);
      expect(embeddedConfig(page.body).apiBase).toBe('/flow/api');
    } finally {
      await app.close();
      await runtime.close();
    }
  });
});
