/**
 * Who may drive the server from a browser. A page the operator visits can post to a local server
 * without a preflight (a form post, `fetch` with `mode: 'no-cors'`), and a DNS-rebinding page does
 * it under its own name, so missing CORS headers are no defence: requests from an origin that is
 * not allowed are refused before any route runs, and a server reached on loopback without a token
 * answers only requests that name it by a loopback name.
 */
import { BlockList, isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, FlowgramError } from '../errors.js';

/** Origins allowed by CORS: `true` allows any origin, `false` turns CORS (and the origin check) off. */
export type CorsOrigins = boolean | string | RegExp | Array<string | RegExp>;

/** Host names a loopback server without a token answers besides loopback ones; `true` for any. */
export type AllowedHosts = true | string[];

const loopbackAddresses = new BlockList();
loopbackAddresses.addSubnet('127.0.0.0', 8, 'ipv4');
loopbackAddresses.addAddress('::1', 'ipv6');
loopbackAddresses.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** `localhost`, `*.localhost` (RFC 6761), 127.0.0.0/8 and ::1, brackets or not. */
export function isLoopbackHostname(hostname: string): boolean {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  return family !== 0 && loopbackAddresses.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** An `http(s)://` origin on a loopback name: a local editor dev server, whatever its port. */
export function isLoopbackOrigin(origin: string): boolean {
  const url = parseOrigin(origin);
  return url !== undefined && isLoopbackHostname(url.hostname);
}

function parseOrigin(origin: string): URL | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the CORS setting allows an origin; without one (`undefined`), only loopback origins. */
export function originAllowed(cors: CorsOrigins | undefined, origin: string): boolean {
  if (cors === undefined) return isLoopbackOrigin(origin);
  if (typeof cors === 'boolean') return cors;
  const patterns = Array.isArray(cors) ? cors : [cors];
  return patterns.some((pattern) => (typeof pattern === 'string' ? pattern === '*' || pattern === origin : pattern.test(origin)));
}

/** The host name of a Host header (`name:port`, `[v6]:port`), lower-case. */
function hostnameOf(host: string): string {
  const value = host.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(0, value.indexOf(']') + 1);
  const colon = value.lastIndexOf(':');
  return colon === -1 ? value : value.slice(0, colon);
}

export interface RequestOriginOptions {
  cors: CorsOrigins | undefined;
  allowedHosts: AllowedHosts | undefined;
  /** A bearer token protects every route: a rebinding page cannot know it. */
  tokenRequired: boolean;
}

/**
 * An onRequest hook that refuses (403 FLOWGRAM_ERR_FORBIDDEN) a request whose `Origin` is neither
 * allowed nor the server's own, and, on a connection to a loopback address when no token is
 * required, a request whose `Host` is not a loopback name or one of `allowedHosts`.
 */
export function requestOriginHook(options: RequestOriginOptions): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const { cors, allowedHosts, tokenRequired } = options;
  const extraHosts = new Set(Array.isArray(allowedHosts) ? allowedHosts.map((host) => hostnameOf(host)) : []);
  const checkOrigin = cors !== false;
  return async (request) => {
    const host = request.headers.host;
    if (!tokenRequired && allowedHosts !== true && host !== undefined && isLoopbackHostname(request.socket.localAddress ?? '')) {
      const hostname = hostnameOf(host);
      if (!isLoopbackHostname(hostname) && !extraHosts.has(hostname)) {
        throw new FlowgramError(
          ErrorCodes.FORBIDDEN,
          `host: "${hostname}" is not a loopback name; a local server without a token answers only localhost, 127.0.0.1 and [::1] (allow more with --allowed-hosts, or set FLOWGRAM_API_TOKEN)`,
        );
      }
    }
    const origin = request.headers.origin;
    if (!checkOrigin || origin === undefined || request.method === 'OPTIONS') return;
    // The server's own pages (the viewer, /docs) send their origin on POSTs: it names the Host they called.
    const own = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
    if (own || originAllowed(cors, origin)) return;
    throw new FlowgramError(
      ErrorCodes.FORBIDDEN,
      `origin: "${origin}" is not allowed; without --cors-origin only loopback origins (http://localhost:*, http://127.0.0.1:*, http://[::1]:*) are`,
    );
  };
}
