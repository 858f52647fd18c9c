import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type RuntimeOptions } from '../src/index.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';
import { closedPort, runFailing } from './helpers/node-test-kit.js';

const meta = { position: { x: 0, y: 0 } };
const constant = (content: unknown) => ({ type: 'constant', content });
const ref = (...content: string[]) => ({ type: 'ref', content });
const template = (content: string) => ({ type: 'template', content });

const API_KEY = 'sk-test-7f3a9c1e5b2d4f60';

const LLM_INPUT_TYPES: Record<string, string> = {
  modelName: 'string',
  apiKey: 'string',
  apiHost: 'string',
  temperature: 'number',
  systemPrompt: 'string',
  prompt: 'string',
  maxTokens: 'integer',
  responseFormat: 'string',
};

/** start (question) → llm → end (result). `values` override the LLM node's inputsValues. */
function llmWorkflow(server: OpenAIServer, values: Record<string, unknown>, resultType = 'string') {
  const inputsValues: Record<string, unknown> = {
    modelName: constant('echo'),
    apiKey: constant(API_KEY),
    apiHost: constant(server.baseURL),
    temperature: constant(0.2),
    systemPrompt: template('You are terse.'),
    prompt: template('{{start_0.question}}'),
    ...values,
  };
  for (const key of Object.keys(inputsValues)) if (inputsValues[key] === undefined) delete inputsValues[key];
  const properties = Object.fromEntries(Object.keys(LLM_INPUT_TYPES).map((key) => [key, { type: LLM_INPUT_TYPES[key] }]));
  return {
    nodes: [
      { id: 'start_0', type: 'start', meta, data: { title: 'Start', outputs: { type: 'object', properties: { question: { type: 'string', default: 'hello there' } } } } },
      {
        id: 'llm_0',
        type: 'llm',
        meta,
        data: {
          title: 'LLM',
          inputs: { type: 'object', properties },
          inputsValues,
          outputs: { type: 'object', properties: { result: { type: resultType } } },
        },
      },
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: { result: { type: resultType } } },
          inputsValues: { result: ref('llm_0', 'result') },
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'llm_0' },
      { sourceNodeID: 'llm_0', targetNodeID: 'end_0' },
    ],
  };
}

let server: OpenAIServer;
const runtimes: Array<ReturnType<typeof createRuntime>> = [];

function runtime(options: RuntimeOptions = {}) {
  const created = createRuntime({ ...options, limits: { llm: { retryBaseDelayMs: 10, timeoutMs: 5_000 }, ...options.limits } });
  runtimes.push(created);
  return created;
}

function llmSnapshot(report: { reports: Record<string, { snapshots: unknown[] }> }): { data: Record<string, unknown>; inputs: Record<string, unknown> } {
  const snapshots = report.reports.llm_0?.snapshots ?? [];
  return snapshots[snapshots.length - 1] as { data: Record<string, unknown>; inputs: Record<string, unknown> };
}

beforeAll(async () => {
  server = await startOpenAIServer({ slowTokenMs: 80 });
});

afterAll(async () => {
  await Promise.all(runtimes.map((created) => created.close()));
  await server.close();
});

describe('LLM node against a local OpenAI-compatible server', () => {
  it('sends the chat request and outputs the reply; usage and finish reason land in the snapshot', async () => {
    const task = runtime().start(llmWorkflow(server, {}), { question: 'what is 2+2?' });
    expect(await task.wait()).toEqual({ result: 'Echo: what is 2+2?' });
    const [request] = server.requestsFor('echo').slice(-1);
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'what is 2+2?' },
    ]);
    expect(request.body.temperature).toBe(0.2);
    expect(request.body.stream).toBe(true);
    const snapshot = llmSnapshot(task.report());
    expect(snapshot.data).toMatchObject({
      streamingText: 'Echo: what is 2+2?',
      finishReason: 'stop',
      usage: { promptTokens: 7, completionTokens: 4, totalTokens: 11 },
      attempts: 1,
    });
  });

  it('streams tokens into the live snapshot: a report polled mid-run shows partial text', async () => {
    const question = 'one two three four five six seven eight';
    const task = runtime().start(llmWorkflow(server, { modelName: constant('slow-stream') }), { question });
    let partial: string | undefined;
    await expect
      .poll(
        () => {
          const text = llmSnapshot(task.report())?.data.streamingText;
          if (task.status === 'processing' && typeof text === 'string' && text.length > 0) partial = text;
          return partial;
        },
        { timeout: 3_000, interval: 20 },
      )
      .toBeDefined();
    const out = await task.wait();
    expect(out.result).toBe(`Echo: ${question}`);
    expect((out.result as string).startsWith(partial as string)).toBe(true);
    expect((partial as string).length).toBeLessThan((out.result as string).length);
  });

  it('retries a 429, waiting as long as Retry-After says', async () => {
    const out = await runtime().run(llmWorkflow(server, { modelName: constant('rate-limited') }));
    expect(out.result).toBe('Echo: hello there');
    const [first, second] = server.requestsFor('rate-limited').map((request) => request.time);
    expect(second - first).toBeGreaterThanOrEqual(990);
  });

  it('fails a 500 with a message naming the host and the server error, after the configured retries', async () => {
    const error = await runFailing(runtime({ limits: { llm: { maxRetries: 1, retryBaseDelayMs: 10 } } }).run(llmWorkflow(server, { modelName: constant('server-error') })));
    expect(error.code).toBe(ErrorCodes.NODE_FAILED);
    expect(error.message).toContain(`LLM api "${server.baseURL}" answered 500`);
    expect(error.message).toContain('the model exploded');
    expect(server.requestsFor('server-error')).toHaveLength(2);
  });

  it('times out a hanging server', async () => {
    const started = performance.now();
    const error = await runFailing(runtime({ limits: { llm: { timeoutMs: 200 } } }).run(llmWorkflow(server, { modelName: constant('hang') })));
    expect(error.message).toContain('timed out after 200 ms');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('cancel aborts the request mid-stream', async () => {
    const task = runtime().start(llmWorkflow(server, { modelName: constant('slow-stream') }), { question: 'a b c d e f g h i j k l m n o p' });
    await expect.poll(() => llmSnapshot(task.report())?.data.streamingText, { timeout: 3_000, interval: 20 }).toBeTruthy();
    task.cancel();
    await task.wait().catch(() => undefined);
    expect(task.status).toBe('canceled');
    const request = server.requestsFor('slow-stream').slice(-1)[0];
    await expect.poll(() => request.abortedByClient, { timeout: 1_000 }).toBe(true);
  });

  it('never shows the API key: not in the report, the messages, or an error that quotes it', async () => {
    const task = runtime().start(llmWorkflow(server, { modelName: constant('bad-key') }));
    const error = await runFailing(task.wait());
    expect(server.requestsFor('bad-key')[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(error.message).toContain('Incorrect API key provided: [redacted]');
    expect(error.message).not.toContain(API_KEY);
    expect(JSON.stringify(task.report())).not.toContain(API_KEY);
    expect(llmSnapshot(task.report()).inputs.apiKey).toBe('[redacted]');

    // A retried failure also logs a warning; neither it nor the error may carry the key.
    const retried = runtime({ limits: { llm: { maxRetries: 1, retryBaseDelayMs: 5 } } }).start(llmWorkflow(server, { modelName: constant('server-error') }));
    await retried.wait().catch(() => undefined);
    expect(retried.report().messages.warning.length).toBeGreaterThan(0);
    expect(JSON.stringify(retried.report())).not.toContain(API_KEY);
  });

  it('lists every missing input in one error, and rejects a bad apiHost clearly', async () => {
    const missing = await runFailing(runtime().run(llmWorkflow(server, { modelName: undefined, apiKey: undefined, prompt: undefined })));
    expect(missing.message).toContain('LLM node missing required inputs: "modelName", "apiKey", "prompt"');
    const badHost = await runFailing(runtime().run(llmWorkflow(server, { apiHost: constant('not a host') })));
    expect(badHost.message).toContain('LLM apiHost "not a host" is not a valid URL');
    const host = `http://127.0.0.1:${await closedPort()}/v1`;
    const unreachable = await runFailing(runtime().run(llmWorkflow(server, { apiHost: constant(host) })));
    expect(unreachable.message).toContain(`Network error: unreachable api "${host}" (ECONNREFUSED)`);
  });

  it('with responseFormat "json" asks for a JSON object and outputs the parsed reply; maxTokens is passed on', async () => {
    const out = await runtime().run(
      llmWorkflow(server, { modelName: constant('json'), responseFormat: constant('json'), maxTokens: constant(64) }, 'object'),
    );
    expect(out.result).toEqual({ answer: 42 });
    const [request] = server.requestsFor('json').slice(-1);
    expect(request.body.response_format).toEqual({ type: 'json_object' });
    expect(request.body.max_tokens).toBe(64);
  });

  it('obeys the network policy', async () => {
    const before = server.requests.length;
    const task = runtime({ network: { denyPrivateNetworks: true } }).start(llmWorkflow(server, {}));
    const error = await runFailing(task.wait());
    expect(error.code).toBe(ErrorCodes.NETWORK_POLICY);
    expect(server.requests.length).toBe(before);
    // A refusal is final: no retries.
    expect(task.report().messages.warning).toHaveLength(0);
  });

  it('masks a key given as a workflow input everywhere: report inputs, start outputs, live events, replay', async () => {
    const schema = llmWorkflow(server, { apiKey: ref('start_0', 'key') });
    const start = (schema.nodes[0].data as { outputs: { properties: Record<string, unknown> } }).outputs;
    start.properties.key = { type: 'string' };
    const task = runtime().start(schema, { question: 'hi', key: API_KEY });
    const heard: string[] = [];
    task.subscribe((event) => heard.push(JSON.stringify(event)));
    await task.wait();
    expect(server.requestsFor('echo').slice(-1)[0].headers.authorization).toBe(`Bearer ${API_KEY}`);
    const report = task.report();
    expect(JSON.stringify(report)).not.toContain(API_KEY);
    expect(report.inputs.key).toBe('[redacted]');
    expect(report.reports.start_0.snapshots[0].outputs.key).toBe('[redacted]');
    expect(heard.join('\n')).not.toContain(API_KEY);
    expect(JSON.stringify(task.events())).not.toContain(API_KEY);
  });

  it('runs examples/llm.json with the key and host as workflow inputs', async () => {
    const schema = JSON.parse(await readFile(new URL('../examples/llm.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const out = await runtime().run(schema, { apiKey: API_KEY, apiHost: server.baseURL, model: 'echo', question: 'Why is the sky blue?' });
    expect(out.answer).toBe('Echo: Why is the sky blue?');
  });
});
