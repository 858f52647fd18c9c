import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, ErrorCodes, type RuntimeOptions } from '../src/index.js';
import { startEchoServer, type EchoServer } from './helpers/echo-server.js';
import { closedPort, runFailing } from './helpers/node-test-kit.js';

const meta = { position: { x: 0, y: 0 } };
const constant = (content: unknown) => ({ type: 'constant', content });
const ref = (...content: string[]) => ({ type: 'ref', content });
const template = (content: string) => ({ type: 'template', content });

interface HttpNodeOptions {
  method?: string;
  url: string;
  headers?: Record<string, { type: string; value: unknown }>;
  params?: Record<string, { type: string; value: unknown }>;
  body?: Record<string, unknown>;
  timeout?: { timeout?: number; retryTimes?: number };
  /** Declared type of the `body` output: 'string' (default) or 'object' to get parsed JSON. */
  bodyOutputType?: string;
}

function declared(entries: Record<string, { type: string; value: unknown }> = {}) {
  const properties: Record<string, { type: string }> = {};
  const values: Record<string, unknown> = {};
  for (const [key, { type, value }] of Object.entries(entries)) {
    properties[key] = { type };
    values[key] = value;
  }
  return { schema: { type: 'object', properties }, values };
}

/** start (inputs: name, token) → http → end (statusCode, headers, body). */
function httpWorkflow(options: HttpNodeOptions) {
  const headers = declared(options.headers);
  const params = declared(options.params);
  const bodyType = options.bodyOutputType ?? 'string';
  const outputs = { statusCode: { type: 'integer' }, headers: { type: 'object' }, body: { type: bodyType } };
  return {
    nodes: [
      {
        id: 'start_0',
        type: 'start',
        meta,
        data: { title: 'Start', outputs: { type: 'object', properties: { name: { type: 'string', default: 'ada' }, token: { type: 'string', default: 't0k' } } } },
      },
      {
        id: 'http_0',
        type: 'http',
        meta,
        data: {
          title: 'HTTP',
          outputs: { type: 'object', properties: outputs },
          api: { method: options.method ?? 'GET', url: template(options.url) },
          headers: headers.schema,
          headersValues: headers.values,
          params: params.schema,
          paramsValues: params.values,
          body: options.body ?? { bodyType: 'none' },
          timeout: { timeout: 2_000, retryTimes: 0, ...options.timeout },
        },
      },
      {
        id: 'end_0',
        type: 'end',
        meta,
        data: {
          title: 'End',
          inputs: { type: 'object', properties: outputs },
          inputsValues: { statusCode: ref('http_0', 'statusCode'), headers: ref('http_0', 'headers'), body: ref('http_0', 'body') },
        },
      },
    ],
    edges: [
      { sourceNodeID: 'start_0', targetNodeID: 'http_0' },
      { sourceNodeID: 'http_0', targetNodeID: 'end_0' },
    ],
  };
}

interface Echo {
  method: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  bodyBase64: string;
}

let server: EchoServer;
const runtimes: Array<ReturnType<typeof createRuntime>> = [];

function runtime(options: RuntimeOptions = {}) {
  const created = createRuntime({ ...options, limits: { http: { retryBaseDelayMs: 20, retryMaxDelayMs: 2_000 }, ...options.limits } });
  runtimes.push(created);
  return created;
}

beforeAll(async () => {
  server = await startEchoServer();
});

afterAll(async () => {
  await Promise.all(runtimes.map((created) => created.close()));
  await server.close();
});

describe('HTTP node: request bodies arrive byte-exact with the right content type', () => {
  const echoed = async (body: Record<string, unknown>, headers?: HttpNodeOptions['headers']): Promise<{ echo: Echo; bytes: Buffer }> => {
    const out = await runtime().run(httpWorkflow({ method: 'POST', url: `${server.origin}/echo`, body, headers, bodyOutputType: 'object' }));
    const echo = out.body as Echo;
    return { echo, bytes: Buffer.from(echo.bodyBase64, 'base64') };
  };

  it('JSON (templated)', async () => {
    const { echo, bytes } = await echoed({ bodyType: 'JSON', json: template('{"name":"{{start_0.name}}","n":1}') });
    expect(echo.headers['content-type']).toBe('application/json');
    expect(bytes.toString('utf8')).toBe('{"name":"ada","n":1}');
  });

  it('raw-text from its own field, and from the json field as upstream 1.0.9 writes it', async () => {
    const own = await echoed({ bodyType: 'raw-text', rawText: template('héllo {{start_0.name}}\nline 2') });
    expect(own.echo.headers['content-type']).toBe('text/plain');
    expect(own.bytes.equals(Buffer.from('héllo ada\nline 2', 'utf8'))).toBe(true);
    const legacy = await echoed({ bodyType: 'raw-text', json: template('legacy {{start_0.name}}') });
    expect(legacy.bytes.toString('utf8')).toBe('legacy ada');
  });

  it('x-www-form-urlencoded', async () => {
    const { echo, bytes } = await echoed({
      bodyType: 'x-www-form-urlencoded',
      xWwwFormUrlencoded: { type: 'object', properties: { name: { type: 'string' }, note: { type: 'string' }, n: { type: 'integer' } } },
      xWwwFormUrlencodedValues: { name: ref('start_0', 'name'), note: constant('a&b=c d'), n: constant(3) },
    });
    expect(echo.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(bytes.toString('utf8')).toBe('name=ada&note=a%26b%3Dc+d&n=3');
  });

  it('form-data (multipart with a boundary)', async () => {
    const { echo, bytes } = await echoed({
      bodyType: 'form-data',
      formData: { type: 'object', properties: { name: { type: 'string' }, note: { type: 'string' } } },
      formDataValues: { name: ref('start_0', 'name'), note: constant('ünïcode\r\nand lines') },
    });
    expect(echo.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const form = await new Response(bytes, { headers: { 'content-type': echo.headers['content-type'] } }).formData();
    expect(form.get('name')).toBe('ada');
    expect(form.get('note')).toBe('ünïcode\r\nand lines');
  });

  it('binary: a base64 data URL sends exact bytes with its media type; plain text goes as UTF-8', async () => {
    const raw = Buffer.from([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x0d, 0x0a]);
    const exact = await echoed({ bodyType: 'binary', binary: template(`data:image/png;base64,${raw.toString('base64')}`) });
    expect(exact.echo.headers['content-type']).toBe('image/png');
    expect(exact.bytes.equals(raw)).toBe(true);
    const text = await echoed({ bodyType: 'binary', binary: template('plain {{start_0.name}}') });
    expect(text.echo.headers['content-type']).toBe('application/octet-stream');
    expect(text.bytes.toString('utf8')).toBe('plain ada');
  });

  it('none sends no body; a Content-Type header the node sets wins over the default', async () => {
    const none = await echoed({ bodyType: 'none' });
    expect(none.bytes.length).toBe(0);
    expect(none.echo.headers['content-type']).toBeUndefined();
    const custom = await echoed({ bodyType: 'JSON', json: template('{}') }, { 'Content-Type': { type: 'string', value: constant('application/vnd.api+json') } });
    expect(custom.echo.headers['content-type']).toBe('application/vnd.api+json');
  });
});

describe('HTTP node: URL, params, headers, outputs', () => {
  it('renders the templated URL, adds params (skipping empty ones) and sends headers from constants and refs', async () => {
    const out = await runtime().run(
      httpWorkflow({
        url: `${server.origin}/echo?fixed=1&who={{start_0.name}}`,
        params: {
          q: { type: 'string', value: constant('a b&c') },
          user: { type: 'string', value: ref('start_0', 'name') },
          empty: { type: 'string', value: constant('') },
          page: { type: 'integer', value: constant(2) },
        },
        headers: {
          Authorization: { type: 'string', value: template('Bearer {{start_0.token}}') },
          'X-Trace': { type: 'string', value: constant('abc') },
        },
        bodyOutputType: 'object',
      }),
      { name: 'grace', token: 'secret-1' },
    );
    const echo = out.body as Echo;
    expect(echo.method).toBe('GET');
    expect(echo.query).toEqual({ fixed: '1', who: 'grace', q: 'a b&c', user: 'grace', page: '2' });
    // Sent as given; echoed back, the credential is masked in the outputs.
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer secret-1');
    expect(echo.headers.authorization).toBe('[redacted]');
    expect(echo.headers['x-trace']).toBe('abc');
  });

  // Mirrors upstream's newer js-core/src/domain/__tests__/schemas/http.test.ts ("should execute a workflow with HTTP
  // request"): the http node's snapshot inputs are the resolved request (1.0.9 records {}).
  it('http.test.ts › the snapshot records the resolved request as the node inputs, secrets masked', async () => {
    const task = runtime().start(
      httpWorkflow({
        method: 'POST',
        url: `${server.origin}/echo?who={{start_0.name}}&api_key=k3y-value`,
        params: { q: { type: 'string', value: constant('x') }, empty: { type: 'string', value: constant('') }, token: { type: 'string', value: ref('start_0', 'token') } },
        headers: {
          Authorization: { type: 'string', value: template('Bearer {{start_0.token}}') },
          'X-Trace': { type: 'string', value: constant('abc') },
        },
        body: { bodyType: 'JSON', json: template('{"name":"{{start_0.name}}"}') },
        timeout: { timeout: 1_500, retryTimes: 2 },
      }),
      { name: 'grace', token: 'secret-1' },
    );
    await task.wait();
    const snapshot = task.report().reports.http_0.snapshots[0];
    expect(snapshot.inputs).toEqual({
      method: 'POST',
      url: `${server.origin}/echo?who=grace&api_key=%5Bredacted%5D&q=x&token=%5Bredacted%5D`,
      headers: { Authorization: '[redacted]', 'X-Trace': 'abc' },
      params: { q: 'x', token: '[redacted]' },
      bodyType: 'JSON',
      body: '{"name":"grace"}',
      timeout: 1_500,
      retryTimes: 2,
    });
    expect(JSON.stringify(snapshot.inputs)).not.toContain('secret-1');
  });

  it('the snapshot shows a form body as its fields and an urlencoded body as the text sent', async () => {
    const fields = { formData: { type: 'object', properties: { a: { type: 'string' } } }, formDataValues: { a: constant('1 2') } };
    const form = runtime().start(httpWorkflow({ method: 'POST', url: `${server.origin}/echo`, body: { bodyType: 'form-data', ...fields } }));
    await form.wait();
    expect(form.report().reports.http_0.snapshots[0].inputs).toMatchObject({ bodyType: 'form-data', body: { a: '1 2' } });
    const urlencoded = { xWwwFormUrlencoded: fields.formData, xWwwFormUrlencodedValues: fields.formDataValues };
    const encoded = runtime().start(httpWorkflow({ method: 'PUT', url: `${server.origin}/echo`, body: { bodyType: 'x-www-form-urlencoded', ...urlencoded } }));
    await encoded.wait();
    expect(encoded.report().reports.http_0.snapshots[0].inputs).toMatchObject({ method: 'PUT', body: 'a=1+2', headers: {}, params: {}, retryTimes: 0 });
  });

  it('outputs statusCode, lower-cased headers and the body as text unless body is declared as an object', async () => {
    const asText = await runtime().run(httpWorkflow({ url: `${server.origin}/json` }));
    expect(asText.statusCode).toBe(200);
    expect((asText.headers as Record<string, string>)['content-type']).toBe('application/json');
    expect(asText.body).toBe('{"hello":"world","list":[1,2,3]}');
    const parsed = await runtime().run(httpWorkflow({ url: `${server.origin}/json`, bodyOutputType: 'object' }));
    expect(parsed.body).toEqual({ hello: 'world', list: [1, 2, 3] });
  });

  it('returns 4xx as outputs without retrying them', async () => {
    const before = server.requestsTo('/status/404').length;
    const out = await runtime().run(httpWorkflow({ url: `${server.origin}/status/404`, timeout: { retryTimes: 3 } }));
    expect(out.statusCode).toBe(404);
    expect(out.body).toBe('status 404');
    expect(server.requestsTo('/status/404').length - before).toBe(1);
  });

  it('fails clearly on a missing or malformed URL or an unsupported method', async () => {
    const empty = await runFailing(runtime().run(httpWorkflow({ url: '' })));
    expect(empty.message).toContain('HTTP url is required');
    const bad = await runFailing(runtime().run(httpWorkflow({ url: 'not a url' })));
    expect(bad.message).toContain('"not a url" is not a valid URL');
    const method = await runFailing(runtime().run(httpWorkflow({ method: 'TRACE', url: `${server.origin}/echo` })));
    expect(method.message).toContain('HTTP method "TRACE" is not supported');
  });
});

describe('HTTP node: redirects', () => {
  it('follows a 302 (POST becomes GET, body dropped) and a 307 (method and body kept)', async () => {
    const to = encodeURIComponent(`${server.origin}/echo`);
    const body = { bodyType: 'raw-text', rawText: template('payload') };
    const found = await runtime().run(httpWorkflow({ method: 'POST', url: `${server.origin}/redirect?status=302&to=${to}`, body, bodyOutputType: 'object' }));
    expect(found.statusCode).toBe(200);
    expect((found.body as Echo).method).toBe('GET');
    expect((found.body as Echo).bodyBase64).toBe('');
    const temporary = await runtime().run(httpWorkflow({ method: 'POST', url: `${server.origin}/redirect?status=307&to=${to}`, body, bodyOutputType: 'object' }));
    expect((temporary.body as Echo).method).toBe('POST');
    expect(Buffer.from((temporary.body as Echo).bodyBase64, 'base64').toString()).toBe('payload');
  });
});

describe('HTTP node: timeouts, retries and backoff', () => {
  it('times out a slow server per the node timeout', async () => {
    const started = performance.now();
    const error = await runFailing(runtime().run(httpWorkflow({ url: `${server.origin}/slow?ms=5000`, timeout: { timeout: 150 } })));
    const elapsed = performance.now() - started;
    expect(error.code).toBe(ErrorCodes.NODE_FAILED);
    expect(error.message).toContain('timed out after 150 ms');
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(2_000);
  });

  it('retries 5xx with exponential backoff (gaps measured by the server) and then succeeds', async () => {
    const baseDelay = 40;
    const task = runtime({ limits: { http: { retryBaseDelayMs: baseDelay } } }).start(
      httpWorkflow({ url: `${server.origin}/flaky/five-hundreds?failures=3&status=503`, timeout: { retryTimes: 3 }, bodyOutputType: 'object' }),
    );
    const out = await task.wait();
    expect(out.statusCode).toBe(200);
    expect(out.body).toEqual({ ok: true, attempt: 4 });
    const times = server.requestsTo('/flaky/five-hundreds').map((request) => request.time);
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((time, i) => time - times[i]);
    // Equal jitter: retry i waits between half and all of base * 2^i.
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual((baseDelay * 2 ** i) / 2 - 5);
      expect(gap).toBeLessThan(baseDelay * 2 ** i + 400);
    });
    const snapshot = task.report().reports.http_0.snapshots[0] as { data: Record<string, unknown> };
    expect(snapshot.data.attempts).toBe(4);
    const warnings = task.report().messages.warning.map((message) => message.message);
    expect(warnings.some((message) => message.includes('attempt 1 failed (status 503)'))).toBe(true);
  });

  it('honours Retry-After on 429 instead of its own shorter backoff', async () => {
    const out = await runtime().run(httpWorkflow({ url: `${server.origin}/flaky/rate?failures=1&status=429&retryAfter=1`, timeout: { retryTimes: 1 } }));
    expect(out.statusCode).toBe(200);
    const [first, second] = server.requestsTo('/flaky/rate').map((request) => request.time);
    expect(second - first).toBeGreaterThanOrEqual(990);
  });

  // Mirrors upstream's newer js-core/src/domain/__tests__/schemas/http.test.ts ("should use a fresh timeout signal
  // when retrying a timed out request"): the retry after a timed-out attempt gets a whole timeout of its own.
  it('http.test.ts › a retry after a timed-out attempt gets a fresh timeout and succeeds', async () => {
    const started = performance.now();
    const task = runtime().start(httpWorkflow({ url: `${server.origin}/flaky/timed-out-once?failures=1&slowMs=5000`, timeout: { timeout: 300, retryTimes: 1 }, bodyOutputType: 'object' }));
    const out = await task.wait();
    expect(out.statusCode).toBe(200);
    expect(out.body).toEqual({ ok: true, attempt: 2 });
    expect(server.requestsTo('/flaky/timed-out-once')).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(4_000);
    expect((task.report().reports.http_0.snapshots[0] as { data: Record<string, unknown> }).data.attempts).toBe(2);
  });

  it('returns the last 5xx once retries run out', async () => {
    const before = server.requestsTo('/status/502').length;
    const out = await runtime().run(httpWorkflow({ url: `${server.origin}/status/502`, timeout: { retryTimes: 2 } }));
    expect(out.statusCode).toBe(502);
    expect(server.requestsTo('/status/502').length - before).toBe(3);
  });

  it('retries network errors and reports the cause after the last attempt', async () => {
    const port = await closedPort();
    const error = await runFailing(runtime().run(httpWorkflow({ url: `http://127.0.0.1:${port}/x`, timeout: { retryTimes: 2 } })));
    expect(error.message).toMatch(/request to http:\/\/127\.0\.0\.1:\d+ failed: ECONNREFUSED.*\(after 3 attempts\)/);
  });
});

describe('HTTP node: cancel and size limits', () => {
  it('cancel aborts the in-flight request', async () => {
    const task = runtime().start(httpWorkflow({ url: `${server.origin}/hang`, timeout: { timeout: 10_000 } }));
    const request = await server.waitForRequest('/hang');
    const cancelledAt = performance.now();
    task.cancel();
    await task.wait().catch(() => undefined);
    expect(task.status).toBe('canceled');
    expect(performance.now() - cancelledAt).toBeLessThan(500);
    await expect.poll(() => request.abortedByClient, { timeout: 1_000 }).toBe(true);
  });

  it('refuses a response body over maxResponseBytes, declared or streamed', async () => {
    const limits = { http: { maxResponseBytes: 1024 * 1024 } };
    for (const length of ['0', '1']) {
      const error = await runFailing(runtime({ limits }).run(httpWorkflow({ url: `${server.origin}/big?bytes=${5 * 1024 * 1024}&length=${length}` })));
      expect(error.code).toBe(ErrorCodes.LIMIT_EXCEEDED);
      expect(error.message).toContain('http.maxResponseBytes');
    }
    const fits = await runtime({ limits }).run(httpWorkflow({ url: `${server.origin}/big?bytes=${1024 * 1024}` }));
    expect((fits.body as string).length).toBe(1024 * 1024);
  });
});

describe('HTTP node: network policy', () => {
  it('refuses hosts on the deny list without sending anything', async () => {
    const before = server.requests.length;
    const error = await runFailing(runtime({ network: { denyHosts: ['127.0.0.1'] } }).run(httpWorkflow({ url: `${server.origin}/echo` })));
    expect(error.code).toBe(ErrorCodes.NETWORK_POLICY);
    expect(server.requests.length).toBe(before);
  });

  it('refuses hosts missing from a non-empty allow list, and allows listed ones', async () => {
    const refused = await runFailing(runtime({ network: { allowHosts: ['*.example.com'] } }).run(httpWorkflow({ url: `${server.origin}/echo` })));
    expect(refused.code).toBe(ErrorCodes.NETWORK_POLICY);
    const allowed = await runtime({ network: { allowHosts: ['127.0.0.1'] } }).run(httpWorkflow({ url: `${server.origin}/echo` }));
    expect(allowed.statusCode).toBe(200);
  });

  it('refuses loopback when private networks are denied', async () => {
    const error = await runFailing(runtime({ network: { denyPrivateNetworks: true } }).run(httpWorkflow({ url: `${server.origin}/echo` })));
    expect(error.code).toBe(ErrorCodes.NETWORK_POLICY);
    expect(error.message).toContain('private address 127.0.0.1');
  });

  it('checks every redirect hop: an allowed host cannot bounce the request to a denied one', async () => {
    const port = new URL(server.origin).port;
    const before = server.requestsTo('/echo').length;
    const to = encodeURIComponent(`http://localhost:${port}/echo`);
    const error = await runFailing(runtime({ network: { denyHosts: ['localhost'] } }).run(httpWorkflow({ url: `${server.origin}/redirect?to=${to}` })));
    expect(error.code).toBe(ErrorCodes.NETWORK_POLICY);
    expect(server.requestsTo('/echo').length).toBe(before);
  });
});

describe('examples/http.json', () => {
  it('runs against a local server given as the url input', async () => {
    const schema = JSON.parse(await readFile(new URL('../examples/http.json', import.meta.url), 'utf8')) as Record<string, unknown>;
    const out = await runtime().run(schema, { url: `${server.origin}/echo`, name: 'Ada' });
    expect(out.status).toBe(200);
    const echo = out.reply as Echo;
    expect(echo.method).toBe('POST');
    expect(echo.query).toEqual({ lang: 'en' });
    expect(echo.headers['x-request-source']).toBe('flowgram-runtime example');
    expect(JSON.parse(Buffer.from(echo.bodyBase64, 'base64').toString('utf8'))).toEqual({ greeting: 'Hello, Ada!' });
  });
});
