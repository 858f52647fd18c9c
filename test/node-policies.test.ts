/**
 * Per-node policies (`retry`, `timeoutMs`, `onError`) on built-in and custom nodes, against real local
 * servers: the echo server that drops the first N connections (retries), hangs (timeouts abort the
 * request), the OpenAI-compatible server that never answers (the LLM stream is aborted), a spinning
 * code node (the sandbox is stopped). Retry delays are checked on a fake clock.
 */
import { TaskReportDefine } from '@flowgram.ai/runtime-interface';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRuntime, ErrorCodes, type NodeExecutor, type TaskEvent } from '../src/index.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { NODE_POLICY_JSON_SCHEMA, retryDelayMs, RETRY_DEFAULTS } from '../src/engine/node-policy.js';
import { testExecutors } from './fixtures/test-nodes.js';
import { edge, endNode, failNode, input, echoNode, ref, startNode, workflow, type NodeSchema } from './fixtures/workflow-builders.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';

const meta = { position: { x: 0, y: 0 } };
let echo: EchoServer;
let openai: OpenAIServer;
beforeAll(async () => {
  [echo, openai] = await Promise.all([startEchoServer(), startOpenAIServer()]);
});
afterAll(async () => {
  await Promise.all([echo?.close(), openai?.close()]);
});
afterEach(() => {
  vi.useRealTimers();
});

type Snapshot = { error?: string; outputs?: Record<string, unknown>; attempt?: number; errorHandled?: boolean };
type NodeReports = Record<string, { status: string; snapshots: Snapshot[] }>;

const withPolicy = (node: NodeSchema, policy: Record<string, unknown>): NodeSchema => ({ ...node, data: { ...node.data, ...policy } });

function httpNode(id: string, url: string): NodeSchema {
  return {
    id,
    type: 'http',
    meta,
    data: {
      title: id,
      outputs: { type: 'object', properties: { statusCode: { type: 'integer' }, body: { type: 'string' } } },
      api: { method: 'GET', url: { type: 'template', content: url } },
      body: { bodyType: 'none' },
      timeout: { timeout: 60_000, retryTimes: 0 },
    },
  } as NodeSchema;
}

/** start → node → end(status) */
function single(node: NodeSchema, outputKey = 'statusCode', type = 'integer'): Record<string, unknown> {
  return workflow(
    [startNode('start_0', {}), node, endNode('end_0', { [outputKey]: input(type, ref(node.id, outputKey)) })],
    [edge('start_0', node.id), edge(node.id, 'end_0')],
  ) as unknown as Record<string, unknown>;
}

describe('retry', () => {
  it('re-runs an HTTP node whose connection drops twice: three attempts, each a snapshot with its error, events and metrics', async () => {
    const runtime = createRuntime();
    const metrics = createMetrics();
    try {
      const flow = single(withPolicy(httpNode('http_0', `${echo.origin}/drop/retry-a?failures=2`), { retry: { maxAttempts: 3, initialDelayMs: 40, backoffFactor: 2 } }));
      const task = runtime.start(flow);
      metrics.observe(task);
      const events: TaskEvent[] = [];
      task.subscribe((event) => events.push(event));
      expect(await task.wait()).toEqual({ statusCode: 200 });
      const report = TaskReportDefine.schema.output.parse(task.report()) as unknown as { reports: NodeReports };
      const node = (task.report() as unknown as { reports: NodeReports }).reports.http_0;
      expect(report.reports.http_0.status).toBe('succeeded');
      expect(node.snapshots.map((snapshot) => [snapshot.attempt, snapshot.error === undefined ? 'ok' : 'error'])).toEqual([[1, 'error'], [2, 'error'], [3, 'ok']]);
      // Every attempt reached the server; the gaps are at least the backoff (40 ms, then 80 ms).
      const arrivals = echo.requestsTo('/drop/retry-a').map((request) => request.time);
      expect(arrivals).toHaveLength(3);
      expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(38);
      expect(arrivals[2] - arrivals[1]).toBeGreaterThanOrEqual(78);
      const finished = events.filter((event) => event.type === 'node_finished' && event.nodeID === 'http_0');
      expect(finished.map((event) => event.type === 'node_finished' && [event.status, event.attempt, event.retryInMs])).toEqual([
        ['failed', 1, 40],
        ['failed', 2, 80],
        ['succeeded', 3, undefined],
      ]);
      expect(task.report().messages.warning.map((message) => message.message)).toEqual([
        expect.stringMatching(/^attempt 1 of node "http_0" failed: .*; retrying in 40 ms$/),
        expect.stringMatching(/^attempt 2 of node "http_0" failed: .*; retrying in 80 ms$/),
      ]);
      const text = await metrics.render();
      expect(text).toContain('flowgram_node_retries_total{node_type="http"} 2');
      expect(text).toMatch(/flowgram_node_duration_seconds_count\{node_type="http",status="failed"\} 2/);
    } finally {
      await runtime.close();
    }
  });

  it('fails with the last error once maxAttempts have failed; the HTTP node\'s own retryTimes still retries inside each attempt', async () => {
    const runtime = createRuntime();
    try {
      const node = httpNode('http_0', `${echo.origin}/drop/retry-b?failures=10`);
      (node.data as { timeout: { retryTimes: number } }).timeout.retryTimes = 1;
      const task = runtime.start(single(withPolicy(node, { retry: { maxAttempts: 2, initialDelayMs: 0 } })));
      await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.NODE_FAILED, nodeID: 'http_0' });
      // 2 attempts × (1 + retryTimes 1) requests.
      expect(echo.requestsTo('/drop/retry-b')).toHaveLength(4);
      const reports = (task.report() as unknown as { reports: NodeReports }).reports;
      expect(reports.http_0.status).toBe('failed');
      expect(reports.http_0.snapshots.map((snapshot) => snapshot.attempt)).toEqual([1, 2]);
    } finally {
      await runtime.close();
    }
  });

  it('waits initialDelayMs × backoffFactor^n (capped at maxDelayMs) between attempts, on a fake clock', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const starts: number[] = [];
    const flaky: NodeExecutor = {
      type: 'flaky',
      execute() {
        starts.push(Date.now());
        if (starts.length < 4) throw new Error(`failure ${starts.length}`);
        return { outputs: { value: starts.length } };
      },
    };
    const runtime = createRuntime({ executors: [flaky] });
    try {
      const node = withPolicy({ id: 'flaky_0', type: 'flaky', meta, data: { outputs: { type: 'object', properties: { value: { type: 'integer' } } } } } as NodeSchema, {
        retry: { maxAttempts: 5, initialDelayMs: 1_000, backoffFactor: 3, maxDelayMs: 5_000 },
      });
      const task = runtime.start(single(node, 'value'));
      expect(starts).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(999);
      expect(starts).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(starts).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(2_999); // 1000 × 3
      expect(starts).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(1);
      expect(starts).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(5_000); // 9000, capped at 5000
      expect(starts).toHaveLength(4);
      expect(await task.wait()).toEqual({ value: 4 });
      expect(starts.map((time) => time - starts[0])).toEqual([0, 1_000, 4_000, 9_000]);
    } finally {
      vi.useRealTimers();
      await runtime.close();
    }
  });

  it('jitter shortens each delay by up to that fraction', () => {
    const retry = { ...RETRY_DEFAULTS, initialDelayMs: 1_000, jitter: 0.5 };
    expect(retryDelayMs(retry, 1, () => 0)).toBe(1_000);
    expect(retryDelayMs(retry, 1, () => 1)).toBe(500);
    expect(retryDelayMs(retry, 2, () => 0.5)).toBe(1_500);
  });

  it('stops retrying when the task is cancelled during the delay', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    try {
      const task = runtime.start(single(withPolicy(failNode('fail_0', 'nope'), { retry: { maxAttempts: 5, initialDelayMs: 60_000 } }), 'x', 'string'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      task.cancel('enough');
      await task.done;
      expect(task.status).toBe('canceled');
      const reports = (task.report() as unknown as { reports: NodeReports }).reports;
      expect(reports.fail_0.snapshots).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });
});

describe('timeoutMs', () => {
  it('fails an HTTP node that hangs with FLOWGRAM_ERR_NODE_TIMEOUT naming it, and its request is aborted', async () => {
    const runtime = createRuntime();
    try {
      const task = runtime.start(single(withPolicy(httpNode('http_0', `${echo.origin}/hang?t=1`), { timeoutMs: 150 })));
      await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.NODE_TIMEOUT, nodeID: 'http_0', message: expect.stringContaining('"http_0" timed out after 150 ms') });
      const request = echo.requestsTo('/hang').find((candidate) => candidate.query.get('t') === '1');
      await vi.waitFor(() => expect(request?.abortedByClient).toBe(true));
    } finally {
      await runtime.close();
    }
  });

  it('aborts an LLM stream that never answers, per attempt, and retries it', async () => {
    const runtime = createRuntime();
    try {
      const llm = {
        id: 'llm_0',
        type: 'llm',
        meta,
        data: {
          title: 'LLM',
          inputs: { type: 'object', properties: { modelName: { type: 'string' }, apiKey: { type: 'string' }, apiHost: { type: 'string' }, temperature: { type: 'number' }, prompt: { type: 'string' } } },
          inputsValues: {
            modelName: { type: 'constant', content: 'hang' },
            temperature: { type: 'constant', content: 0 },
            apiKey: { type: 'constant', content: 'sk-test' },
            apiHost: { type: 'constant', content: openai.baseURL },
            prompt: { type: 'constant', content: 'hello' },
          },
          outputs: { type: 'object', properties: { result: { type: 'string' } } },
          timeoutMs: 200,
          retry: { maxAttempts: 2, initialDelayMs: 10 },
        },
      } as NodeSchema;
      // The first LLM node loads the OpenAI client; loaded, every attempt reaches the server at once.
      const warm = structuredClone(llm);
      (warm.data as { inputsValues: { modelName: { content: string } } }).inputsValues.modelName.content = 'echo';
      expect(await runtime.run(single(warm, 'result', 'string'))).toEqual({ result: 'Echo: hello' });
      const before = openai.requestsFor('hang').length;
      const task = runtime.start(single(llm, 'result', 'string'));
      await expect(task.wait()).rejects.toMatchObject({ code: ErrorCodes.NODE_TIMEOUT, nodeID: 'llm_0' });
      const calls = openai.requestsFor('hang').slice(before);
      expect(calls).toHaveLength(2);
      await vi.waitFor(() => expect(calls.every((call) => call.abortedByClient)).toBe(true));
    } finally {
      await runtime.close();
    }
  });

  it('stops a code node spinning in its sandbox', async () => {
    const runtime = createRuntime();
    try {
      const code = {
        id: 'code_0',
        type: 'code',
        meta,
        data: {
          outputs: { type: 'object', properties: { x: { type: 'string' } } },
          script: { language: 'javascript', content: 'function main() { for (;;) {} }' },
          timeoutMs: 200,
          onError: { continue: { outputs: { x: 'fallback' } } },
        },
      } as NodeSchema;
      const begin = performance.now();
      const task = runtime.start(single(code, 'x', 'string'));
      expect(await task.wait()).toEqual({ x: 'fallback' });
      // Well before the sandbox's own 60 s limit: the timeout stopped it.
      expect(performance.now() - begin).toBeLessThan(30_000);
      const node = (task.report() as unknown as { reports: NodeReports }).reports.code_0;
      expect(node.status).toBe('failed');
      expect(node.snapshots[0]).toMatchObject({ error: expect.stringContaining('timed out after 200 ms'), errorHandled: true, outputs: { x: 'fallback' } });
    } finally {
      await runtime.close();
    }
  });
});

describe('onError', () => {
  it('continue: the node stays failed with errorHandled, its outputs are the defaults, the workflow succeeds', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    try {
      const failing = withPolicy({ ...failNode('fail_0', 'broken'), data: { ...failNode('fail_0', 'broken').data, outputs: { type: 'object', properties: { x: { type: 'string' } } } } }, {
        onError: { continue: { outputs: { x: 'default' } } },
      });
      const task = runtime.start(single(failing, 'x', 'string'));
      expect(await task.wait()).toEqual({ x: 'default' });
      const report = task.report();
      TaskReportDefine.schema.output.parse(report);
      const node = (report as unknown as { reports: NodeReports }).reports.fail_0;
      expect(node.status).toBe('failed');
      expect(node.snapshots).toEqual([expect.objectContaining({ error: 'broken', errorHandled: true, outputs: { x: 'default' } })]);
      expect(report.workflowStatus.status).toBe('succeeded');
    } finally {
      await runtime.close();
    }
  });

  /** start → risky(branch) → ok → join ; risky -error→ handler → join ; join → end */
  function branchFlow(risky: NodeSchema): Record<string, unknown> {
    const nodes = [
      startNode('start_0', {}),
      withPolicy(risky, { onError: 'branch' }),
      echoNode('ok', { path: input('string', { type: 'constant', content: 'normal' }) }),
      echoNode('handler', { code: input('string', ref(risky.id, 'error', 'code')), message: input('string', ref(risky.id, 'error', 'message')) }),
      echoNode('join', { via: input('string', { type: 'template', content: '{{ok.path}}{{handler.code}}' }) }),
      endNode('end_0', { via: input('string', ref('join', 'via')), message: input('string', ref('handler', 'message')) }),
    ];
    const edges = [edge('start_0', risky.id), edge(risky.id, 'ok'), edge(risky.id, 'handler', 'error'), edge('ok', 'join'), edge('handler', 'join'), edge('join', 'end_0')];
    return workflow(nodes, edges) as unknown as Record<string, unknown>;
  }

  it('branch: a failure follows the "error" port with {code, message}; the normal successor is skipped; the join after them runs once', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    try {
      const task = runtime.start(branchFlow(failNode('risky', 'went wrong')));
      expect(await task.wait()).toEqual({ via: ErrorCodes.NODE_FAILED, message: 'went wrong' });
      const reports = (task.report() as unknown as { reports: NodeReports }).reports;
      expect(reports.risky.status).toBe('failed');
      expect(reports.risky.snapshots[0]).toMatchObject({ errorHandled: true, branch: 'error', outputs: { error: { code: ErrorCodes.NODE_FAILED, message: 'went wrong' } } });
      expect(reports.ok).toBeUndefined();
      expect(reports.join.snapshots).toHaveLength(1);
    } finally {
      await runtime.close();
    }
  });

  it('branch: a success takes every port but "error"', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    try {
      const task = runtime.start(branchFlow(echoNode('risky', {})));
      expect(await task.wait()).toEqual({ via: 'normal' });
      const reports = (task.report() as unknown as { reports: NodeReports }).reports;
      expect(reports.risky.status).toBe('succeeded');
      expect(reports.handler).toBeUndefined();
    } finally {
      await runtime.close();
    }
  });

  it('branch after a timeout: the error port gets FLOWGRAM_ERR_NODE_TIMEOUT', async () => {
    const runtime = createRuntime({ executors: testExecutors() });
    try {
      const slow = withPolicy(httpNode('risky', `${echo.origin}/hang?t=2`), { timeoutMs: 100 });
      const task = runtime.start(branchFlow(slow));
      expect(await task.wait()).toEqual({ via: ErrorCodes.NODE_TIMEOUT, message: 'node "risky" timed out after 100 ms' });
    } finally {
      await runtime.close();
    }
  });
});

describe('validation of policies', () => {
  it('reports bad shapes and ranges with field paths, "branch" without an error edge, and defaults that do not fit the outputs', () => {
    const runtime = createRuntime({ executors: testExecutors() });
    const node = (id: string, policy: Record<string, unknown>): NodeSchema =>
      withPolicy({ ...echoNode(id, {}), data: { ...echoNode(id, {}).data, outputs: { type: 'object', properties: { n: { type: 'number' } } } } }, policy);
    const nodes = [
      startNode('start_0', {}),
      node('a', { retry: { maxAttempts: 0, initialDelayMs: -1, backoffFactor: 'x', jitter: 2, maxAttemps: 3 } }),
      node('b', { timeoutMs: 1.5 }),
      node('c', { onError: 'branch' }),
      node('d', { onError: { continue: { outputs: { n: 'not a number' } } } }),
      node('e', { onError: 'ignore', retry: 3 }),
      endNode('end_0'),
    ];
    const result = runtime.validate(workflow(nodes, [edge('start_0', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'd'), edge('d', 'e'), edge('e', 'end_0')]) as unknown as Record<string, unknown>);
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      'nodes[1].data.retry.maxAttempts: must be between 1 and 20, got 0',
      'nodes[1].data.retry.initialDelayMs: must be between 0 and 3600000, got -1',
      'nodes[1].data.retry.backoffFactor: must be a number, got string "x"',
      'nodes[1].data.retry.jitter: must be between 0 and 1, got 2',
      'nodes[1].data.retry.maxAttemps: unknown field (expected maxAttempts, initialDelayMs, backoffFactor, maxDelayMs, jitter)',
      'nodes[2].data.timeoutMs: must be an integer, got 1.5',
      'nodes[3].data.onError: "branch" needs an edge from this node\'s "error" port (sourcePortID "error")',
      'nodes[4].data.onError.continue.outputs.n: must be number',
      'nodes[5].data.retry: must be an object like {"maxAttempts": 3}, got number 3',
      'nodes[5].data.onError: must be "fail", "branch" or {"continue": {"outputs": {…}}}, got "ignore"',
    ]);
    // A run of it fails before any node runs, with every problem.
    const task = runtime.start(workflow(nodes, []) as unknown as Record<string, unknown>);
    expect(task.status).toBe('failed');
    expect(task.error?.code).toBe(ErrorCodes.SCHEMA_INVALID);
  });
});

describe('the policies\' JSON Schema', () => {
  it('is the one in the README, and accepts what validation accepts and refuses what it refuses', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Retry, timeout and error handling'));
    const snippet = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)?.[1] ?? '{}') as { properties: unknown };
    expect(snippet.properties).toEqual(NODE_POLICY_JSON_SCHEMA.properties);
    const check = new Ajv({ strict: false }).compile(NODE_POLICY_JSON_SCHEMA);
    expect(check({ retry: { maxAttempts: 3, jitter: 0.2 }, timeoutMs: 500, onError: { continue: { outputs: { x: 1 } } } })).toBe(true);
    expect(check({ onError: 'branch' })).toBe(true);
    expect(check({ retry: { maxAttempts: 0 } })).toBe(false);
    expect(check({ onError: 'ignore' })).toBe(false);
    expect(check({ retry: { maxAttemps: 3 } })).toBe(false);
  });
});
