/**
 * Optional bearer token. When a token is configured every route but the server info requires
 * `Authorization: Bearer <token>`; CORS preflights pass, since browsers never send credentials on them.
 * GET requests may carry it as `?access_token=` instead (RFC 6750 §2.3): a browser cannot set headers
 * when it opens the run viewer or an `EventSource`. Request logs mask that parameter.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes, FlowgramError } from '../errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares in constant time (digests have equal length whatever the inputs). */
function sameToken(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

export function bearerTokenHook(
  token: string,
  isPublic: (path: string) => boolean,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = digest(token);
  return async (request, reply) => {
    if (request.method === 'OPTIONS') return;
    const path = request.url.split('?', 1)[0];
    if (isPublic(path)) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
    if (match && sameToken(match[1].trim(), expected)) return;
    const queryToken = request.method === 'GET' || request.method === 'HEAD' ? accessTokenOf(request.query) : undefined;
    if (!header && queryToken !== undefined && sameToken(queryToken, expected)) return;
    reply.header('www-authenticate', 'Bearer');
    throw new FlowgramError(
      ErrorCodes.UNAUTHORIZED,
      header || queryToken !== undefined
        ? 'authorization: invalid bearer token'
        : 'authorization: a bearer token is required (Authorization: Bearer <token>, or ?access_token= on GET)',
    );
  };
}

function accessTokenOf(query: unknown): string | undefined {
  const value = query && typeof query === 'object' ? (query as Record<string, unknown>).access_token : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The URL as logs may show it: an `access_token` query value is masked. */
export function maskAccessToken(url: string): string {
  return url.includes('access_token=') ? url.replace(/([?&]access_token=)[^&#]*/g, '$1***') : url;
}
