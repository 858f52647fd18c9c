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

/** `access_token`, however its name is spelled: percent-encoded, any case, with `[]` or `[x]` after it. */
function isAccessTokenName(rawName: string): boolean {
  return /^access_token(\[[^\]]*\])*$/i.test(decodeLoosely(rawName));
}

function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/**
 * The URL as logs may show it: every `access_token` query value is masked, whatever encoding its
 * name uses, and so is any part of the URL that holds the configured token itself (decoded or not).
 */
export function maskAccessToken(url: string, token?: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const pairs = queryAt === -1 ? [] : url.slice(queryAt + 1).split('&');
  const holdsToken = (text: string): boolean => token !== undefined && (text.includes(token) || decodeLoosely(text).includes(token));
  const masked = pairs.map((pair) => {
    const equals = pair.indexOf('=');
    const name = equals === -1 ? pair : pair.slice(0, equals);
    if (isAccessTokenName(name)) return `${name}=***`;
    return holdsToken(pair) ? `${holdsToken(name) ? '***' : name}=***` : pair;
  });
  const shownPath = holdsToken(path) ? '/***' : path;
  return queryAt === -1 ? shownPath : `${shownPath}?${masked.join('&')}`;
}
