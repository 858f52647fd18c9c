import { ErrorCodes, FlowgramError } from '../errors.js';
import type { StoreRetention } from './types.js';

export const DEFAULT_STORE_RETENTION: Required<StoreRetention> = {
  maxAgeMs: 7 * 24 * 60 * 60 * 1000,
  maxTasks: 100_000,
  intervalMs: 60_000,
};

export function resolveRetention(retention: StoreRetention | undefined): Required<StoreRetention> {
  const resolved = { ...DEFAULT_STORE_RETENTION, ...retention };
  for (const key of ['maxAgeMs', 'maxTasks', 'intervalMs'] as const) {
    const value = resolved[key];
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
      throw new FlowgramError(ErrorCodes.BAD_REQUEST, `retention.${key}: must be a non-negative number, got ${String(value)}`);
    }
  }
  return resolved;
}

/**
 * Runs `prune` every `intervalMs` in the background. The timer is unref'd so that a store never
 * keeps a process alive; returns the function that stops it.
 */
export function startPruneTimer(prune: () => unknown, intervalMs: number): () => void {
  if (intervalMs === 0 || !Number.isFinite(intervalMs)) return () => undefined;
  const timer = setInterval(() => {
    try {
      void Promise.resolve(prune()).catch(warnPruneFailed);
    } catch (error) {
      warnPruneFailed(error);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function warnPruneFailed(error: unknown): void {
  // Pruning is housekeeping: a failure (e.g. the database is busy) is retried at the next interval.
  process.emitWarning(`flowgram store: pruning failed: ${error instanceof Error ? error.message : String(error)}`, 'FlowgramStoreWarning');
}
