import { describe, expect, it } from 'vitest';
import { createRuntime } from '../runtime.js';
import { createServer } from '../server/index.js';
import { createMetrics } from './metrics.js';

const flow = {
  nodes: [
    { id: 'start_0', type: 'start', meta: { position: { x: 0, y: 0 } }, data: { outputs: { type: 'object', properties: { n: { type: 'number' } } } } },
    {
      id: 'end_0',
      type: 'end',
      meta: { position: { x: 0, y: 0 } },
      data: { inputs: { type: 'object', properties: { n: { type: 'number' } } }, inputsValues: { n: { type: 'ref', content: ['start_0', 'n'] } } },
    },
  ],
  edges: [{ sourceNodeID: 'start_0', targetNodeID: 'end_0' }],
};

describe('createMetrics', () => {
  it('counts tasks by outcome and node durations by type, in the Prometheus text format', async () => {
    const metrics = createMetrics();
    const runtime = createRuntime();
    const ok = runtime.start(flow, { n: 1 });
    metrics.observe(ok);
    const invalid = runtime.start({ nodes: [], edges: [] });
    metrics.observe(invalid);
    await Promise.all([ok.done, invalid.done]);
    metrics.watchQueue({ jobs: async () => ({ waiting: 3, active: 1, delayed: 0, failed: 2 }), workers: async () => 4 });

    const text = await metrics.render();
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(text).toContain('flowgram_tasks_started_total 2');
    expect(text).toContain('flowgram_tasks_finished_total{status="succeeded"} 1');
    expect(text).toContain('flowgram_tasks_finished_total{status="failed"} 1');
    expect(text).toContain('flowgram_tasks_finished_total{status="canceled"} 0');
    expect(text).toMatch(/flowgram_node_duration_seconds_count\{node_type="end",status="succeeded"\} 1/);
    expect(text).toContain('flowgram_queue_jobs{state="waiting"} 3');
    expect(text).toContain('flowgram_queue_workers 4');
    await runtime.close();
  });

  it('is served at GET /metrics, counting the tasks the server runs', async () => {
    const metrics = createMetrics();
    const server = await createServer({ metrics, apiToken: null, docs: false });
    const run = await server.app.inject({ method: 'POST', url: '/api/task/run', payload: { schema: JSON.stringify(flow), inputs: { n: 2 } } });
    const { taskID } = run.json<{ taskID: string }>();
    await server.app.inject({ method: 'GET', url: `/api/task/result?taskID=${taskID}&wait=5000` });
    const response = await server.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toContain('flowgram_tasks_started_total 1');
    expect(response.body).toContain('flowgram_tasks_finished_total{status="succeeded"} 1');
    await server.close();
  });
});
