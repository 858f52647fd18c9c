import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, createServer, createSqliteStore, ErrorCodes, type Runtime } from '../src/index.js';
import { SecretStore } from '../src/secrets/store.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { startOpenAIServer, type OpenAIServer } from './helpers/openai-server.js';
import { runFailing } from './helpers/node-test-kit.js';
import { constant, ref, secretFlow, template } from './helpers/secret-flows.js';
import { filesContaining } from './helpers/secret-serve.js';

let llm: OpenAIServer;
let echo: EchoServer;
const secret = `sk-${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  llm = await startOpenAIServer();
  echo = await startEchoServer();
});
afterAll(async () => {
  await llm.close();
  await echo.close();
});

function runtimeWith(values: Record<string, string>): Runtime {
  return createRuntime({ secrets: new SecretStore({ values, env: false }) });
}

describe('secret references', () => {
  it('resolve as refs and templates in any node, reach the LLM and HTTP servers, and are masked in outputs, report and events', async () => {
    const runtime = runtimeWith({ OPENAI_KEY: secret });
    const schema = secretFlow(llm.baseURL, `${echo.origin}/echo`, {
      apiKey: ref('secrets', 'OPENAI_KEY'),
      authorization: template('Bearer {{secrets.OPENAI_KEY}}'),
      param: ref('secrets', 'OPENAI_KEY'),
      prompt: template('repeat {{secrets.OPENAI_KEY}}'),
    });
    const task = runtime.start(schema);
    const events: unknown[] = [];
    task.subscribe((event) => events.push(event));
    const outputs = await task.wait();
    expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    expect(echo.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    expect(outputs.code).toBe('[redacted]');
    expect(String(outputs.llm)).toContain('[redacted]');
    expect(String(outputs.http)).toContain('[redacted]');
    const everything = JSON.stringify([outputs, task.report(), events, task.events(), task.result(), await runtime.getResult(task.id)]);
    expect(everything).not.toContain(secret);
    await runtime.close();
  });

  it('an unknown name is a validation error with its path, and a run fails before any node with FLOWGRAM_ERR_SECRET_UNKNOWN', async () => {
    const runtime = runtimeWith({ OPENAI_KEY: secret });
    const schema = secretFlow(llm.baseURL, `${echo.origin}/echo`, {
      apiKey: ref('secrets', 'OPENAI_KEY'),
      authorization: template('Bearer {{secrets.MISSING}}'),
      param: constant('x'),
    });
    expect(runtime.validate(schema)).toEqual({ valid: false, errors: ['nodes[2].data.headersValues.Authorization: unknown secret "MISSING"'] });
    const before = llm.requests.length;
    const error = await runFailing(runtime.run(schema));
    expect(error.code).toBe(ErrorCodes.SECRET_UNKNOWN);
    expect(error.message).toContain('nodes[2].data.headersValues.Authorization');
    expect(Object.keys(error.report.reports)).toEqual([]);
    expect(llm.requests.length).toBe(before);
    await runtime.close();
  });

  it('read FLOWGRAM_SECRET_<NAME> variables, never the key variable', async () => {
    const store = new SecretStore({ env: { FLOWGRAM_SECRET_OPENAI_KEY: secret, FLOWGRAM_SECRET_KEY: 'a'.repeat(64) } });
    expect(store.has('OPENAI_KEY')).toBe(true);
    expect(store.has('KEY')).toBe(false);
    expect(await store.resolve(['OPENAI_KEY', 'KEY'])).toEqual(new Map([['OPENAI_KEY', secret]]));
  });
});

describe('maxSecretsPerTask', () => {
  it('a node that would bring one distinct secret too many fails with FLOWGRAM_ERR_LIMIT_EXCEEDED before sending it', async () => {
    const runtime = createRuntime({ limits: { maxSecretsPerTask: 3 }, secrets: new SecretStore({ env: false }) });
    try {
      const flow = {
        nodes: [
          { id: 'start_0', type: 'start', meta: { position: { x: 0, y: 0 } }, data: { title: 'Start', outputs: { type: 'object', properties: { items: { type: 'array', items: { type: 'string' } } } } } },
          {
            id: 'loop_0',
            type: 'loop',
            meta: { position: { x: 0, y: 0 } },
            data: { title: 'Loop', loopFor: ref('start_0', 'items') },
            blocks: [
              { id: 'bs', type: 'block-start', meta: { position: { x: 0, y: 0 } }, data: {} },
              {
                id: 'http_0',
                type: 'http',
                meta: { position: { x: 0, y: 0 } },
                data: {
                  title: 'HTTP',
                  api: { method: 'GET', url: constant(`${echo.origin}/echo?step=limited`) },
                  headers: { type: 'object', properties: { Authorization: { type: 'string' } } },
                  // A distinct credential per item, each masked from then on.
                  headersValues: { Authorization: template('Bearer token-{{loop_0_locals.item}}') },
                  body: { bodyType: 'none' },
                  outputs: { type: 'object', properties: { statusCode: { type: 'integer' } } },
                },
              },
              { id: 'be', type: 'block-end', meta: { position: { x: 0, y: 0 } }, data: {} },
            ],
            edges: [
              { sourceNodeID: 'bs', targetNodeID: 'http_0' },
              { sourceNodeID: 'http_0', targetNodeID: 'be' },
            ],
          },
          { id: 'end_0', type: 'end', meta: { position: { x: 0, y: 0 } }, data: { title: 'End', inputs: { type: 'object', properties: {} }, inputsValues: {} } },
        ],
        edges: [
          { sourceNodeID: 'start_0', targetNodeID: 'loop_0' },
          { sourceNodeID: 'loop_0', targetNodeID: 'end_0' },
        ],
      };
      const sent = (): number => echo.requestsTo('/echo').filter((request) => request.query.get('step') === 'limited').length;
      const before = sent();
      const error = await runFailing(runtime.run(flow, { items: ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee'] }));
      expect(error.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
      expect(error.message).toContain('maxSecretsPerTask');
      expect(sent() - before).toBe(3);
      // Secrets of the store count too: four referenced with room for three fail before any node runs.
      const many = createRuntime({ limits: { maxSecretsPerTask: 3 }, secrets: new SecretStore({ env: false, values: { A: 'value-a', B: 'value-b', C: 'value-c', D: 'value-d' } }) });
      try {
        const four = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'A'), authorization: ref('secrets', 'B'), param: ref('secrets', 'C'), prompt: ref('secrets', 'D') });
        const refused = await runFailing(many.run(four));
        expect(refused.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
        expect(Object.keys(refused.report.reports)).toEqual([]);
      } finally {
        await many.close();
      }
    } finally {
      await runtime.close();
    }
  });
});

describe('error messages', () => {
  it('a node that fails with a secret in its error message: masked in the error, the report, the events and the result', async () => {
    const runtime = runtimeWith({ OPENAI_KEY: secret });
    try {
      const flow = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'OPENAI_KEY'), authorization: constant('Bearer x-other'), param: ref('secrets', 'OPENAI_KEY') }) as {
        nodes: Array<{ data: { script?: { content: string } } }>;
      };
      (flow.nodes[3].data.script as { content: string }).content = 'function main({ params }) { throw new Error("rejected key " + params.key); }';
      const task = runtime.start(flow);
      const events: unknown[] = [];
      task.subscribe((event) => events.push(event));
      const error = await runFailing(task.wait());
      expect(error.message).toContain('rejected key [redacted]');
      expect(task.error?.message).toContain('rejected key [redacted]');
      const everything = JSON.stringify([error.message, error.report, task.error, task.report(), events, await runtime.getResult(task.id)]);
      expect(everything).not.toContain(secret);
    } finally {
      await runtime.close();
    }
  });
});

describe('literal keys typed into forms', () => {
  it('move into the secret store when a task is accepted: the task keeps references, identical keys share one name, re-runs work', async () => {
    const runtime = runtimeWith({});
    const schema = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant(secret), authorization: constant(`Bearer ${secret}`), param: constant('plain') });
    const task = runtime.start(schema);
    await task.wait();
    expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    expect(echo.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    const stored = JSON.stringify(await runtime.getSchema(task.id));
    expect(stored).not.toContain(secret);
    expect(stored).toMatch(/"content":\["secrets","literal_[0-9a-f]{20}"\]/);
    expect(JSON.stringify(schema)).toContain(secret); // the caller's object is not changed
    const again = runtime.start(schema);
    await again.wait();
    expect(JSON.stringify(await runtime.getSchema(again.id))).toBe(stored);
    expect((await runtime.secrets.list()).filter((entry) => entry.name.startsWith('literal_'))).toHaveLength(2);
    await runtime.close();
  });

  it('the same key typed into another field is referenced too, so the stored schema holds it nowhere', async () => {
    const runtime = runtimeWith({});
    const task = runtime.start(secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant(secret), authorization: constant('Bearer x-other'), param: constant(secret) }));
    const outputs = await task.wait();
    expect(outputs.code).toBe('[redacted]');
    expect(JSON.stringify(await runtime.getSchema(task.id))).not.toContain(secret);
    expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    await runtime.close();
  });
});

describe('task inputs fed into secret inputs', () => {
  it('are masked in the stored task, its report and its result', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store, secrets: new SecretStore({ env: false }) });
    const task = runtime.start(secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('start_0', 'key'), authorization: constant('Bearer x-other'), param: ref('start_0', 'key') }), { key: secret });
    await task.wait();
    await runtime.flush();
    expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
    expect((await store.getTask(task.id))?.inputs).toEqual({ key: '[redacted]' });
    expect(JSON.stringify([await store.getReport(task.id), await runtime.getResult(task.id)])).not.toContain(secret);
    await runtime.close();
  });
});

describe('the run viewer', () => {
  it('shows the schema (GET /api/task/schema, what the viewer draws) with a secret\'s value masked wherever it is, e.g. typed into a script', async () => {
    const runtime = runtimeWith({ OPENAI_KEY: secret });
    const flow = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('secrets', 'OPENAI_KEY'), authorization: constant('Bearer x-other'), param: constant('plain') }) as {
      nodes: Array<{ data: { script?: { content: string } } }>;
    };
    const script = flow.nodes[3].data.script as { content: string };
    script.content = `// ${secret}\n${script.content}`;
    const server = await createServer({ runtime, apiToken: null });
    const base = await server.listen({ port: 0 });
    try {
      const task = runtime.start(flow);
      await task.wait();
      const shown = await (await fetch(`${base}/api/task/schema?taskID=${task.id}`)).text();
      expect(shown).toContain('// [redacted]');
      expect(shown).not.toContain(secret);
      expect(JSON.stringify(flow)).toContain(secret); // what the task runs is unchanged
    } finally {
      await server.close();
      await runtime.close();
    }
  });
});

describe('credentials that are not secrets of the store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgram-credentials-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a task input sent as an HTTP Authorization header (ref or template) or built by a node is masked in the stored task, the echoed body and the report', async () => {
    const path = join(dir, 'inputs.db');
    const runtime = createRuntime({ store: createSqliteStore({ path }), secrets: new SecretStore({ env: false }) });
    try {
      const token = `tok-${randomBytes(12).toString('hex')}`;
      const flows = {
        ref: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant('sk-unused'), authorization: ref('start_0', 'token'), param: constant('plain') }),
        template: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant('sk-unused'), authorization: template('Bearer {{start_0.token}}'), param: constant('plain') }),
        // Built by the LLM node (it echoes its prompt): known only when the HTTP node sends it.
        computed: secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: constant('sk-unused'), authorization: ref('llm_0', 'result'), param: constant('plain'), prompt: constant(token) }),
      };
      for (const [how, flow] of Object.entries(flows)) {
        if (how === 'computed') {
          // The inputs-fed ones are done: neither the database nor its WAL holds the token.
          await runtime.flush();
          expect(filesContaining(dir, token)).toEqual([]);
        }
        (flow as { nodes: Array<{ data: { outputs: { properties: Record<string, unknown> } } }> }).nodes[0].data.outputs.properties.token = { type: 'string' };
        const task = runtime.start(flow, how === 'computed' ? {} : { token });
        const events: unknown[] = [];
        task.subscribe((event) => events.push(event));
        const outputs = await task.wait();
        expect(String(echo.requests.at(-1)?.headers.authorization), how).toContain(token);
        expect(String(outputs.http), how).toContain('[redacted]');
        if (how !== 'computed') expect(JSON.stringify([outputs, task.report(), events, await runtime.getResult(task.id)]), how).not.toContain(token);
      }
    } finally {
      await runtime.close();
    }
  });

  it('a key typed into runNode\'s form for an LLM node is masked in its report and never stored', async () => {
    const path = join(dir, 'run-node.db');
    const runtime = createRuntime({ store: createSqliteStore({ path }), secrets: new SecretStore({ env: false }) });
    try {
      // The HTTP node references a secret nobody set: testing the LLM node alone does not need it.
      const flow = secretFlow(llm.baseURL, `${echo.origin}/echo`, { apiKey: ref('start_0', 'key'), authorization: ref('secrets', 'NOT_SET'), param: constant('plain') });
      const result = await runtime.runNode(flow, 'llm_0', { inputs: { modelName: 'echo', apiKey: secret, apiHost: llm.baseURL, temperature: 0, prompt: 'hello' } });
      expect(result).toMatchObject({ status: 'succeeded', outputs: { result: 'Echo: hello' } });
      expect(llm.requests.at(-1)?.headers.authorization).toBe(`Bearer ${secret}`);
      expect(JSON.stringify(result)).not.toContain(secret);
      await runtime.flush();
      expect(JSON.stringify(await runtime.getReport(result.taskID))).not.toContain(secret);
      expect(filesContaining(dir, secret)).toEqual([]);
      // The HTTP node itself does need it.
      const http = await runtime.runNode(flow, 'http_0', { inputs: {} });
      expect(http.error).toMatchObject({ code: ErrorCodes.SECRET_UNKNOWN, message: expect.stringContaining('NOT_SET') });
    } finally {
      await runtime.close();
    }
  });
});
