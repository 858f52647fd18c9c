/** How long to wait between attempts. */
export interface BackoffOptions {
  /** Delay before the first retry, doubled for each further one (ms). */
  baseDelayMs: number;
  /** Upper bound of any single delay, Retry-After included (ms). */
  maxDelayMs: number;
}

/** Statuses worth retrying: rate limiting and server errors; other 4xx will not change on retry. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/**
 * The delay before retry number `retry` (0-based): exponential with "equal jitter", i.e. between half
 * and all of `base * 2^retry`, so concurrent clients spread out yet the wait never collapses to zero.
 */
export function backoffDelay(retry: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponential = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.round(exponential / 2 + random() * (exponential / 2));
}

/**
 * The wait a server asked for: `retry-after-ms` (OpenAI's extension) or `Retry-After` as seconds or an
 * HTTP date. Undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Pick<Headers, 'get'> | undefined, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  const millis = headers.get('retry-after-ms');
  if (millis !== null && millis.trim() !== '') {
    const value = Number(millis);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers.get('retry-after');
  if (after === null || after.trim() === '') return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The delay before retry number `retry`: the server's Retry-After when given, else backoff; capped. */
export function retryDelay(retry: number, options: BackoffOptions, serverAskedMs: number | undefined): number {
  if (serverAskedMs !== undefined) return Math.min(options.maxDelayMs, serverAskedMs);
  return backoffDelay(retry, options);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
