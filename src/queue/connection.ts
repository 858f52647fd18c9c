/**
 * Redis connections for queue mode. The URL is checked up front and the server is probed once, so a
 * wrong `--queue` fails at start with one clear message instead of retrying forever in the background.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';

const PROBE_TIMEOUT_MS = 5_000;

/** The URL without its password, for messages. */
export function redactRedisURL(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Throws BAD_REQUEST unless `url` is a redis:// or rediss:// URL with a host. */
export function checkRedisURL(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, `queue: "${url}" is not a URL; expected redis://host:port`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, `queue: "${redactRedisURL(url)}" must start with redis:// or rediss://`);
  }
  if (!parsed.hostname) throw new FlowgramError(ErrorCodes.BAD_REQUEST, `queue: "${redactRedisURL(url)}" has no host`);
}

/**
 * A connection that reconnects forever with a capped backoff: a Redis restart is survived, and
 * commands issued meanwhile wait in the offline queue. `maxRetriesPerRequest: null` is what BullMQ
 * requires of its connections.
 */
export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  checkRedisURL(url);
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
    ...options,
  });
  // Errors surface through the commands that fail; an unhandled 'error' event would crash the process.
  redis.on('error', () => undefined);
  return redis;
}

/** Connects once without retrying and sends PING; throws a FlowgramError naming the URL on failure. */
export async function probeRedis(url: string): Promise<void> {
  checkRedisURL(url);
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: PROBE_TIMEOUT_MS });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, `queue: cannot reach Redis at ${redactRedisURL(url)}: ${errorMessage(error) || 'connection refused'}`, {
      cause: error,
    });
  } finally {
    redis.disconnect();
  }
}
