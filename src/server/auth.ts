/**
 * Optional bearer token. When a token is configured every route but the server info requires
 * `Authorization: Bearer <token>`; CORS preflights pass, since browsers never send credentials on them.
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
    reply.header('www-authenticate', 'Bearer');
    throw new FlowgramError(
      ErrorCodes.UNAUTHORIZED,
      header ? 'authorization: invalid bearer token' : 'authorization: a bearer token is required (Authorization: Bearer <token>)',
    );
  };
}
