/**
 * A small OpenAI-compatible chat completions server (plain node:http, 127.0.0.1 only) for LLM node
 * tests. Replies are deterministic; the model name picks the behaviour:
 *   any other name     "Echo: <last user message>" (streamed word by word when stream=true)
 *   slow-stream        the same, one token every `slowTokenMs` (default 150 ms)
 *   json               replies {"answer":42}
 *   rate-limited[-N]   429 with Retry-After: `retryAfterSeconds` for the first N (default 1) calls, then echo
 *   server-error       always 500 with an OpenAI-style error body
 *   bad-key            401 whose message quotes the Authorization header, as some providers do
 *   slow               waits `slowMs` (default 500 ms) before answering
 *   hang               never answers
 * Requests without `Authorization: Bearer <key>` get 401. Every request is recorded.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequestRecord {
  path: string;
  headers: IncomingHttpHeaders;
  body: {
    model?: string;
    messages?: Array<{ role: string; content: string }>;
    stream?: boolean;
    temperature?: number;
    max_tokens?: number;
    response_format?: { type: string };
    stream_options?: { include_usage?: boolean };
  };
  /** performance.now() when the request arrived. */
  time: number;
  /** Set when the client hung up before the reply was complete. */
  abortedByClient: boolean;
}

export interface OpenAIServerOptions {
  slowTokenMs?: number;
  slowMs?: number;
  retryAfterSeconds?: number;
}

export interface OpenAIServer {
  /** The base URL to use as apiHost, e.g. http://127.0.0.1:34567/v1 */
  readonly baseURL: string;
  readonly requests: ChatRequestRecord[];
  requestsFor(model: string): ChatRequestRecord[];
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function apiError(res: ServerResponse, status: number, message: string, type: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { message, type, param: null, code: null } }, headers);
}

/** Splits a reply into tokens that concatenate back to it exactly. */
function tokenize(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

export async function startOpenAIServer(options: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  const requests: ChatRequestRecord[] = [];
  const calls = new Map<string, number>();
  const slowTokenMs = options.slowTokenMs ?? 150;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: ChatRequestRecord['body'] = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequestRecord['body'];
      } catch {
        apiError(res, 400, 'body is not JSON', 'invalid_request_error');
        return;
      }
      const record: ChatRequestRecord = { path: req.url ?? '', headers: req.headers, body, time: performance.now(), abortedByClient: false };
      requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.abortedByClient = true;
      });
      handle(record, res);
    });
  });

  function handle(record: ChatRequestRecord, res: ServerResponse): void {
    const { body, headers } = record;
    if (!record.path.endsWith('/chat/completions')) return apiError(res, 404, `no route ${record.path}`, 'invalid_request_error');
    const auth = headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || auth.length <= 'Bearer '.length) return apiError(res, 401, 'missing API key', 'invalid_request_error');
    const model = body.model ?? '';
    const call = (calls.get(model) ?? 0) + 1;
    calls.set(model, call);

    const rateLimited = /^rate-limited(?:-(\d+))?$/.exec(model);
    if (rateLimited && call <= Number(rateLimited[1] ?? 1)) {
      return apiError(res, 429, 'Rate limit reached, slow down', 'rate_limit_error', { 'retry-after': String(options.retryAfterSeconds ?? 1) });
    }
    if (model === 'server-error') return apiError(res, 500, 'the model exploded', 'server_error');
    if (model === 'bad-key') return apiError(res, 401, `Incorrect API key provided: ${auth.slice('Bearer '.length)}`, 'invalid_request_error');
    if (model === 'hang') return;

    const lastUser = [...(body.messages ?? [])].reverse().find((message) => message.role === 'user');
    const text = model === 'json' ? '{"answer":42}' : `Echo: ${lastUser?.content ?? ''}`;
    const answer = (): void => (body.stream ? stream(res, model, text, body.stream_options?.include_usage === true) : complete(res, model, text));
    if (model === 'slow') {
      const timer = setTimeout(answer, options.slowMs ?? 500);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    answer();
  }

  function usage(text: string): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
    const completion = tokenize(text).length;
    return { prompt_tokens: 7, completion_tokens: completion, total_tokens: 7 + completion };
  }

  function complete(res: ServerResponse, model: string, text: string): void {
    sendJson(res, 200, {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop', logprobs: null }],
      usage: usage(text),
    });
  }

  function stream(res: ServerResponse, model: string, text: string, includeUsage: boolean): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const base = { id: 'chatcmpl-test', object: 'chat.completion.chunk', created: 1_700_000_000, model };
    const send = (chunk: unknown): void => {
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    };
    const tokens = tokenize(text);
    const delay = model === 'slow-stream' ? slowTokenMs : 0;
    let index = 0;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => clearTimeout(timer));
    send({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    const next = (): void => {
      if (res.destroyed) return;
      if (index < tokens.length) {
        send({ ...base, choices: [{ index: 0, delta: { content: tokens[index++] }, finish_reason: null }] });
        timer = setTimeout(next, delay);
        return;
      }
      send({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
      if (includeUsage) send({ ...base, choices: [], usage: usage(text) });
      res.end('data: [DONE]\n\n');
    };
    next();
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    requestsFor: (model) => requests.filter((request) => request.body.model === model),
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
