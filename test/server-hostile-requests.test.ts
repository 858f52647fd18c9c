/**
 * Requests as a web page or a network peer would send them to a local server: cross-origin posts
 * (no preflight), DNS rebinding (a Host header of another name), and the token in odd encodings of
 * the query string. Each is sent over real HTTP to a server on 127.0.0.1, headers set by hand.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../src/index.js';
import { helloSchema, startTestServer, type TestServer } from './helpers/server-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const server = await startTestServer(options);
  cleanups.push(() => server.close());
  return server;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, so that Host (which fetch will not let us set) and Origin go out exactly as given. */
function send(url: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const runBody = JSON.stringify({ schema: JSON.stringify(helloSchema()), inputs: { name: 'Mallory' } });

async function taskCount(server: TestServer): Promise<number> {
  return (await server.runtime.listTasks()).length;
}

describe('cross-origin requests (a page the operator visits)', () => {
  it('refuses a JSON post from another origin without starting a task', async () => {
    const server = await start();
    const response = await send(server.url, {
      method: 'POST',
      path: '/api/task/run',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: runBody,
    });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body).code).toBe(ErrorCodes.FORBIDDEN);
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(await taskCount(server)).toBe(0);
  });

  it('refuses a simple-request form post (text/plain, no preflight) from another origin, on every route', async () => {
    const server = await start();
    for (const path of ['/api/task/run', '/task/run', '/trpc/task.run', '/api/tasks', '/healthz']) {
      const response = await send(server.url, {
        method: path.includes('run') ? 'POST' : 'GET',
        path,
        headers: { origin: 'https://attacker.test', 'content-type': 'text/plain' },
        body: path.includes('run') ? runBody : undefined,
      });
      expect(response.status, path).toBe(403);
      expect(JSON.parse(response.body).code, path).toBe(ErrorCodes.FORBIDDEN);
    }
    expect(await taskCount(server)).toBe(0);
  });

  it('refuses the opaque "null" origin (sandboxed frames, file pages)', async () => {
    const server = await start();
    const response = await send(server.url, { method: 'POST', path: '/api/task/run', headers: { origin: 'null', 'content-type': 'application/json' }, body: runBody });
    expect(response.status).toBe(403);
    expect(await taskCount(server)).toBe(0);
  });

  it('serves loopback origins by default (a local editor dev server), with CORS headers', async () => {
    const server = await start();
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:5173', 'http://[::1]:8080']) {
      const preflight = await send(server.url, {
        method: 'OPTIONS',
        path: '/api/task/run',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status, origin).toBeLessThan(300);
      expect(preflight.headers['access-control-allow-origin'], origin).toBe(origin);
      const run = await send(server.url, { method: 'POST', path: '/api/task/run', headers: { origin, 'content-type': 'application/json' }, body: runBody });
      expect(run.status, origin).toBe(200);
      expect(run.headers['access-control-allow-origin'], origin).toBe(origin);
    }
    const evilPreflight = await send(server.url, {
      method: 'OPTIONS',
      path: '/api/task/run',
      headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(evilPreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('serves requests without an Origin (curl, the SDK) and from the server\'s own origin', async () => {
    const server = await start();
    expect((await send(server.url, { method: 'POST', path: '/api/task/run', headers: { 'content-type': 'application/json' }, body: runBody })).status).toBe(200);
    const host = new URL(server.url).host;
    const own = await send(server.url, { method: 'POST', path: '/api/task/run', headers: { origin: `http://${host}`, 'content-type': 'application/json' }, body: runBody });
    expect(own.status).toBe(200);
  });

  it('widens deliberately: configured origins, or any with cors: true', async () => {
    const listed = await start({ cors: ['https://editor.example'] });
    const ok = await send(listed.url, { method: 'POST', path: '/api/task/run', headers: { origin: 'https://editor.example', 'content-type': 'application/json' }, body: runBody });
    expect(ok.status).toBe(200);
    const other = await send(listed.url, { method: 'POST', path: '/api/task/run', headers: { origin: 'http://localhost:3000', 'content-type': 'application/json' }, body: runBody });
    expect(other.status).toBe(403);

    const any = await start({ cors: true });
    const anyOrigin = await send(any.url, { method: 'POST', path: '/api/task/run', headers: { origin: 'http://anything.example', 'content-type': 'application/json' }, body: runBody });
    expect(anyOrigin.status).toBe(200);
    expect(anyOrigin.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('DNS rebinding (another name resolving to 127.0.0.1)', () => {
  it('refuses a Host that is not a loopback name when no token is set, on every route', async () => {
    const server = await start();
    const port = new URL(server.url).port;
    for (const path of ['/api/info', '/api/tasks', '/healthz', '/api/task/run']) {
      const response = await send(server.url, {
        method: path === '/api/task/run' ? 'POST' : 'GET',
        path,
        headers: { host: `rebind.evil.example:${port}`, origin: `http://rebind.evil.example:${port}`, 'content-type': 'application/json' },
        body: path === '/api/task/run' ? runBody : undefined,
      });
      expect(response.status, path).toBe(403);
      expect(JSON.parse(response.body).code, path).toBe(ErrorCodes.FORBIDDEN);
    }
    expect(await taskCount(server)).toBe(0);
  });

  it('answers loopback names and addresses', async () => {
    const server = await start();
    const port = new URL(server.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`, 'localhost']) {
      expect((await send(server.url, { path: '/api/info', headers: { host } })).status, host).toBe(200);
    }
  });

  it('answers other names when they are allowed, or when a token protects the server', async () => {
    const allowed = await start({ allowedHosts: ['flow.internal'] });
    const port = new URL(allowed.url).port;
    expect((await send(allowed.url, { path: '/api/info', headers: { host: `flow.internal:${port}` } })).status).toBe(200);
    expect((await send(allowed.url, { path: '/api/info', headers: { host: `other.internal:${port}` } })).status).toBe(403);

    const any = await start({ allowedHosts: true });
    expect((await send(any.url, { path: '/api/info', headers: { host: 'whatever.example' } })).status).toBe(200);

    const withToken = await start({ apiToken: 's3cret' });
    expect((await send(withToken.url, { path: '/api/info', headers: { host: 'proxy.example' } })).status).toBe(200);
    expect((await send(withToken.url, { path: '/api/tasks', headers: { host: 'proxy.example' } })).status).toBe(401);
  });
});

describe('the token in the query string', () => {
  it('never reaches the log, whatever encoding carries it', async () => {
    const lines: string[] = [];
    const logger = { level: 'info', stream: { write: (line: string) => void lines.push(line) } };
    const token = 'tok-3f9a_secret';
    const server = await start({ apiToken: token, logger });
    const encoded = encodeURIComponent(token).replace(/_/g, '%5F').replace(/-/g, '%2D');
    const queries = [
      `access_token=${token}`,
      `access%5Ftoken=${token}`,
      `access%5ftoken=${encoded}`,
      `ACCESS_TOKEN=${token}`,
      `access_token[]=${token}`,
      `access_token%5B%5D=${token}`,
      `access_token[x]=${token}`,
      `access_token=${token}&access_token=${token}`,
      `other=${token}`,
      `other=${encoded}`,
      `a=1&b=${token}x`,
    ];
    for (const query of queries) {
      await send(server.url, { path: `/api/tasks?${query}` });
      await send(server.url, { path: `/api/task/report?taskID=x&${query}` });
    }
    await send(server.url, { path: `/api/${token}` });
    await send(server.url, { path: `/api/${encoded}?x=1` });
    const logged = lines.join('');
    expect(lines.length).toBeGreaterThanOrEqual(queries.length * 2 + 2);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(encoded);
    expect(logged).not.toContain('3f9a');
    // The canonical spellings still authenticate a GET (the viewer, EventSource).
    expect((await send(server.url, { path: `/api/tasks?access_token=${token}` })).status).toBe(200);
    expect((await send(server.url, { path: `/api/tasks?access%5Ftoken=${token}` })).status).toBe(200);
  });
});

/** Opens a raw connection, writes `head` and never finishes; resolves with what the server answered once it closed (or `undefined` after `giveUpMs`). */
function stall(url: string, head: string, giveUpMs: number): Promise<{ answer: string; afterMs: number } | undefined> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, giveUpMs);
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ answer, afterMs: performance.now() - started });
    });
    socket.on('error', () => undefined);
  });
}

describe('slow clients', () => {
  it('a body that never finishes arriving is cut off after the request timeout (408)', async () => {
    const server = await start({ requestTimeoutMs: 300 });
    const head = 'POST /api/task/run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"schema":';
    const cut = await stall(server.url, head, 5_000);
    expect(cut).toBeDefined();
    expect(cut?.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(await taskCount(server)).toBe(0);
    // The server keeps serving everyone else.
    expect((await send(server.url, { path: '/api/info' })).status).toBe(200);
  });

  it('headers that never finish are cut off too', async () => {
    const server = await start({ requestTimeoutMs: 300 });
    const cut = await stall(server.url, 'GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 5_000);
    expect(cut).toBeDefined();
  });

  it('the default bounds the wait as well (30 s), and refuses a timeout that is not positive', async () => {
    const { DEFAULT_REQUEST_TIMEOUT_MS } = await import('../src/server/index.js');
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    const server = await start();
    expect(server.server.app.server.requestTimeout).toBe(DEFAULT_REQUEST_TIMEOUT_MS);
    expect(server.server.app.server.headersTimeout).toBeLessThanOrEqual(10_000);
    await expect(startTestServer({ requestTimeoutMs: 0 })).rejects.toMatchObject({ code: ErrorCodes.BAD_REQUEST });
  });
});
