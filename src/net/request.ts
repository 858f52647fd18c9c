import { isFlowgramError } from '../errors.js';
import { readBodyCapped } from './body.js';
import type { FetchFunction } from './fetch.js';
import { isRetryableStatus, retryAfterMs, retryDelay, sleep, type BackoffOptions } from './retry.js';

export interface RetryingRequestOptions {
  url: string;
  /** Method, headers and body; the body must be re-sendable (string, bytes, form data). */
  init: Omit<RequestInit, 'signal'>;
  /** Retries after the first attempt. */
  retries: number;
  /** Time allowed for each attempt, body included (ms). */
  timeoutMs: number;
  backoff: BackoffOptions;
  maxResponseBytes: number;
  /** The limit's name in the error when a body is too large (e.g. `http.maxResponseBytes`). */
  limitName: string;
  /** Aborts the request and any wait between attempts (task cancelled). */
  signal: AbortSignal;
  fetch: FetchFunction;
  /** Called before waiting for a retry; `reason` reads like "status 503" or "timed out after 50 ms". */
  onRetry?(retry: { attempt: number; reason: string; delayMs: number }): void;
}

export interface CompletedResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
  /** How many attempts were made, the successful one included. */
  attempts: number;
}

/** Why one attempt failed, when it failed without a response. */
function describeFailure(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `timed out after ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return `${cause.code}${typeof cause.message === 'string' ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Sends a request with a per-attempt timeout, retrying network errors, timeouts and 429/5xx replies
 * with backoff (honouring Retry-After). Other statuses are returned as they are; when retries run out
 * on a 429/5xx, that last reply is returned too. Policy refusals, size limits and cancellation are
 * never retried.
 */
export async function requestWithRetries(options: RetryingRequestOptions): Promise<CompletedResponse> {
  const { signal, retries, timeoutMs } = options;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    const attemptController = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attemptController.abort(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const attemptSignal = AbortSignal.any([signal, attemptController.signal]);
    let failure: string;
    let serverAskedMs: number | undefined;
    try {
      const response = await options.fetch(options.url, { ...options.init, signal: attemptSignal });
      if (!isRetryableStatus(response.status) || attempt > retries) {
        const body = await readBodyCapped(response, options.maxResponseBytes, options.limitName);
        return { status: response.status, headers: response.headers, body, attempts: attempt };
      }
      await response.body?.cancel().catch(() => undefined);
      failure = `status ${response.status}`;
      serverAskedMs = retryAfterMs(response.headers);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (isFlowgramError(error)) throw error;
      failure = describeFailure(error, timedOut, timeoutMs);
      if (attempt > retries) {
        const tries = attempt === 1 ? '' : ` (after ${attempt} attempts)`;
        throw new Error(`request to ${new URL(options.url).origin} failed: ${failure}${tries}`, { cause: error });
      }
    } finally {
      clearTimeout(timer);
    }
    const delayMs = retryDelay(attempt - 1, options.backoff, serverAskedMs);
    options.onRetry?.({ attempt, reason: failure, delayMs });
    await sleep(delayMs, signal);
  }
}
