import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { createPolicedFetch } from './fetch.js';

let server: Server;
let port = 0;
const seen: Array<{ path: string; method: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: url.pathname, method: req.method ?? '', headers: req.headers });
    if (url.pathname === '/to') {
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('where') ?? '/end' });
      res.end();
    } else if (url.pathname === '/loop') {
      res.writeHead(302, { location: '/loop' });
      res.end();
    } else {
      res.end('end');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const last = () => seen[seen.length - 1];

describe('createPolicedFetch', () => {
  const policedFetch = createPolicedFetch({});

  it('turns a 303 into a GET without the body headers', async () => {
    const response = await policedFetch(`http://127.0.0.1:${port}/to?status=303`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(await response.text()).toBe('end');
    expect(last()).toMatchObject({ path: '/end', method: 'GET' });
    expect(last().headers['content-type']).toBeUndefined();
  });

  it('keeps Authorization on the same origin and drops it across origins', async () => {
    const headers = { authorization: 'Bearer abc' };
    await policedFetch(`http://127.0.0.1:${port}/to`, { headers });
    expect(last().headers.authorization).toBe('Bearer abc');
    await policedFetch(`http://127.0.0.1:${port}/to?where=${encodeURIComponent(`http://localhost:${port}/end`)}`, { headers });
    expect(last().headers.authorization).toBeUndefined();
  });

  it('gives up after 20 redirects, and honours redirect: manual / error', async () => {
    await expect(policedFetch(`http://127.0.0.1:${port}/loop`)).rejects.toThrow(/too many redirects/);
    expect((await policedFetch(`http://127.0.0.1:${port}/to`, { redirect: 'manual' })).status).toBe(302);
    await expect(policedFetch(`http://127.0.0.1:${port}/to`, { redirect: 'error' })).rejects.toThrow(/redirect/);
  });

  it('asks the policy before the first byte is sent', async () => {
    const before = seen.length;
    const error = await createPolicedFetch({ denyHosts: ['127.0.0.1'] })(`http://127.0.0.1:${port}/end`).catch((reason: unknown) => reason);
    expect((error as FlowgramError).code).toBe(ErrorCodes.NETWORK_POLICY);
    expect(seen.length).toBe(before);
  });

  it('refuses a host whose address turns private between the check and the connection (DNS rebinding)', async () => {
    const before = seen.length;
    // The policy's check is told the host is public; the socket's own lookup then finds 127.0.0.1.
    const rebinding = createPolicedFetch({ denyPrivateNetworks: true }, async () => ['93.184.216.34']);
    const error = await rebinding(`http://localhost:${port}/end`).catch((reason: unknown) => reason);
    expect((error as FlowgramError).code).toBe(ErrorCodes.NETWORK_POLICY);
    expect((error as FlowgramError).message).toMatch(/^network policy refused localhost: the host resolves to the private address (127\.0\.0\.1|::1)$/);
    expect(seen.length).toBe(before);
  });
});
