import { availableParallelism } from 'node:os';
import type { CodeLimits } from '../engine/types.js';
import { DEFAULT_CODE_LIMITS, limitExceededMessage } from './limits.js';
import { decodeSandboxResult, encodeSandboxRequest } from './quickjs-frames.js';
import type { SandboxRequest, SandboxResult } from './quickjs-sandbox.js';
import { compiledQuickJS } from './quickjs-wasm.js';
import type { QuickJSWorkerData } from './quickjs-worker.js';
import type { ScriptRequest, ScriptResult, ScriptRunner } from './types.js';
import { WorkerPool } from './worker-pool.js';
import { workerEntry } from './worker-entry.js';

export interface QuickJSRunnerOptions {
  /** Worker threads; default: the number of CPUs. */
  workers?: number;
  /** The hard memory cap of each worker's sandbox (bytes); node-level limits can only be lower. */
  memoryBytes?: number;
}

/** How long past its own deadline a script may take before its worker is killed from outside. */
const DEADLINE_GRACE_MS = 250;
/**
 * Each worker's shared slot: room for the default output and console budgets; larger jobs and replies
 * travel as messages.
 */
const CHANNEL_BYTES = 2 * 1024 * 1024;
/** How long one script may hold the event loop while the host waits for it, and how long scripts may in a row. */
const SYNC_WAIT_MS = 1;
const SYNC_STRETCH_MS = 2;
const LANGUAGES = ['javascript', 'typescript'] as const;

/**
 * Runs JavaScript and TypeScript in QuickJS (WebAssembly) on a pool of worker threads, so a
 * runaway script never blocks the event loop and can be killed at once.
 */
export function createQuickJSRunner(options: QuickJSRunnerOptions = {}): ScriptRunner {
  let pool: Promise<WorkerPool<SandboxRequest, SandboxResult>> | undefined;
  const memoryBytes = options.memoryBytes ?? DEFAULT_CODE_LIMITS.memoryBytes;

  function getPool(): Promise<WorkerPool<SandboxRequest, SandboxResult>> {
    pool ??= compiledQuickJS().then(({ module, layout }) => {
      const size = Math.max(1, options.workers ?? availableParallelism());
      const workerData: Omit<QuickJSWorkerData, 'channel'> = { memoryBytes, wasmModule: module, layout };
      return new WorkerPool<SandboxRequest, SandboxResult>({
        size,
        ...workerEntry(new URL('./quickjs-worker.js', import.meta.url)),
        workerData,
        channel: {
          bytes: CHANNEL_BYTES,
          encodeRequest: encodeSandboxRequest,
          decodeResult: decodeSandboxResult,
          syncWaitMs: SYNC_WAIT_MS,
          syncStretchMs: SYNC_STRETCH_MS,
        },
      });
    });
    return pool;
  }

  return {
    languages: LANGUAGES,
    async warm() {
      await (await getPool()).warm();
    },
    async run(request: ScriptRequest, signal: AbortSignal): Promise<ScriptResult> {
      if (request.language !== 'javascript' && request.language !== 'typescript') {
        return { ok: false, error: `code: the QuickJS runner does not run "${request.language}"`, logs: [] };
      }
      let paramsJSON: string;
      try {
        paramsJSON = JSON.stringify(request.params ?? {});
      } catch (error) {
        return { ok: false, error: `code: the node's inputs are not JSON (${error instanceof Error ? error.message : String(error)})`, logs: [] };
      }
      const limits = { ...request.limits, memoryBytes: Math.min(request.limits.memoryBytes, memoryBytes) };
      const result = await (await getPool()).run(
        { language: request.language, source: request.source, paramsJSON, limits },
        {
          signal,
          deadlineMs: limits.timeoutMs + DEADLINE_GRACE_MS,
          onDeadline: () => ({ ok: false, error: limitExceededMessage('timeoutMs', limits), limit: 'timeoutMs', logs: [] }),
        },
      );
      if (!result.ok) return result;
      return { ok: true, value: JSON.parse(result.outputsJSON) as unknown, logs: result.logs };
    },
    async close() {
      const current = pool;
      pool = undefined;
      // A pool that never came to be (QuickJS failed to compile) has nothing to close.
      await (await current?.catch(() => undefined))?.close();
    },
  };
}

/** The runner a code executor builds from the runtime's code limits. */
export function quickJSRunnerFor(limits: CodeLimits | undefined): ScriptRunner {
  return createQuickJSRunner({ workers: limits?.workers, memoryBytes: limits?.memoryBytes });
}
