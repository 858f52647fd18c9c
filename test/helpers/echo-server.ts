/**
 * A plain node:http server on 127.0.0.1 for HTTP node tests. It records every request (raw body
 * bytes, headers, arrival time, whether the client hung up) and offers routes for each behaviour:
 *   /echo?delay=N      any method; replies JSON { method, path, query, headers, bodyBase64 } (after N ms)
 *   /json              replies {"hello":"world","list":[1,2,3]} as application/json
 *   /status/<code>     replies with that status
 *   /flaky/<key>?failures=N&status=503&retryAfter=S&slowMs=M   N failures for that key (each M ms late), then 200
 *   /drop/<key>?failures=N   the first N requests for that key lose their connection (a network error), then 200 JSON
 *   /redirect?to=<url>&status=302                      a redirect
 *   /slow?ms=N         replies after N ms (stops waiting when the client hangs up)
 *   /hang              never replies
 *   /big?bytes=N&length=1   N bytes, chunked, or with Content-Length when length=1
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** When the request arrived (performance.now() of this process). */
  time: number;
  /** Set when the client closed the connection before the server replied. */
  abortedByClient: boolean;
}

export interface EchoServer {
  /** e.g. http://127.0.0.1:34567 */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  /** Resolves when a request to `path` has arrived (or already had). */
  waitForRequest(path: string): Promise<RecordedRequest>;
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

export async function startEchoServer(): Promise<EchoServer> {
  const requests: RecordedRequest[] = [];
  const failuresSeen = new Map<string, number>();
  const waiters: Array<{ path: string; resolve: (request: RecordedRequest) => void }> = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
        time: performance.now(),
        abortedByClient: false,
      };
      requests.push(record);
      res.on('close', () => {
        if (!res.writableFinished) record.abortedByClient = true;
      });
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].path === record.path) waiters.splice(i, 1)[0].resolve(record);
      }
      route(record, res);
    });
  });

  function route(request: RecordedRequest, res: ServerResponse): void {
    const { path, query } = request;
    if (path === '/echo') {
      const body = JSON.stringify({
        method: request.method,
        path,
        query: Object.fromEntries(query),
        headers: request.headers,
        bodyBase64: request.body.toString('base64'),
      });
      const send = (): void => reply(res, 200, body, { 'content-type': 'application/json', 'x-echo': 'yes' });
      const delay = Number(query.get('delay') ?? 0);
      if (delay > 0) {
        const timer = setTimeout(send, delay);
        res.on('close', () => clearTimeout(timer));
      } else send();
    } else if (path === '/json') {
      reply(res, 200, JSON.stringify({ hello: 'world', list: [1, 2, 3] }), { 'content-type': 'application/json' });
    } else if (path.startsWith('/status/')) {
      const status = Number(path.slice('/status/'.length));
      reply(res, status, `status ${status}`);
    } else if (path.startsWith('/flaky/')) {
      const key = path.slice('/flaky/'.length);
      const seen = failuresSeen.get(key) ?? 0;
      if (seen < Number(query.get('failures') ?? 1)) {
        failuresSeen.set(key, seen + 1);
        const retryAfter = query.get('retryAfter');
        const fail = (): void => reply(res, Number(query.get('status') ?? 503), 'try again', retryAfter ? { 'retry-after': retryAfter } : {});
        const slowMs = Number(query.get('slowMs') ?? 0);
        if (slowMs > 0) {
          const timer = setTimeout(fail, slowMs);
          res.on('close', () => clearTimeout(timer));
        } else fail();
      } else {
        reply(res, 200, JSON.stringify({ ok: true, attempt: seen + 1 }), { 'content-type': 'application/json' });
      }
    } else if (path.startsWith('/drop/')) {
      const key = `drop:${path.slice('/drop/'.length)}`;
      const seen = failuresSeen.get(key) ?? 0;
      if (seen < Number(query.get('failures') ?? 1)) {
        failuresSeen.set(key, seen + 1);
        res.socket?.destroy();
      } else {
        reply(res, 200, JSON.stringify({ ok: true, attempt: seen + 1 }), { 'content-type': 'application/json' });
      }
    } else if (path === '/redirect') {
      res.writeHead(Number(query.get('status') ?? 302), { location: query.get('to') ?? '/echo' });
      res.end();
    } else if (path === '/slow') {
      const timer = setTimeout(() => reply(res, 200, 'slow done'), Number(query.get('ms') ?? 1000));
      res.on('close', () => clearTimeout(timer));
    } else if (path === '/hang') {
      // Never answers; the socket is destroyed on close().
    } else if (path === '/big') {
      const bytes = Number(query.get('bytes') ?? 0);
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (query.get('length') === '1') headers['content-length'] = String(bytes);
      res.writeHead(200, headers);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
          sent += piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => {
        sent = bytes;
      });
      pump();
    } else {
      reply(res, 404, 'not found');
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((request) => request.path === path),
    waitForRequest(path) {
      const seen = requests.find((request) => request.path === path);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ path, resolve }));
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
