import { availableParallelism } from 'node:os';
import type { CodeLimits } from '../engine/types.js';
import { resumeLater, sliceLeft } from '../engine/slices.js';
import { DEFAULT_CODE_LIMITS, limitExceededMessage } from './limits.js';
import { INLINE_SLICE_MS, InlineQuickJS } from './quickjs-inline.js';
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
/**
 * How long the host may wait synchronously for a script that was not tried inline (TypeScript, large
 * inputs), within what is left of the current time slice.
 */
const SYNC_WAIT_MS = 1;
const LANGUAGES = ['javascript', 'typescript'] as const;

/**
 * Runs JavaScript and TypeScript in QuickJS (WebAssembly): first tried on the main thread under a
 * small CPU budget and memory cap (see quickjs-inline.ts), and on a pool of worker threads with the
 * script's full limits when it does not fit in them, so a runaway script never blocks the event loop
 * and can be killed at once.
 */
export function createQuickJSRunner(options: QuickJSRunnerOptions = {}): ScriptRunner {
  let pool: Promise<WorkerPool<SandboxRequest, SandboxResult>> | undefined;
  const memoryBytes = options.memoryBytes ?? DEFAULT_CODE_LIMITS.memoryBytes;
  /** The main thread's sandbox once it is ready (scripts go to the pool until then, or if it cannot start). */
  let inline: InlineQuickJS | undefined;
  let inlineStarting: Promise<void> | undefined;

  function startInline(): Promise<void> {
    inlineStarting ??= InlineQuickJS.create().then(
      (created) => {
        inline = created;
      },
      () => undefined,
    );
    return inlineStarting;
  }

  function getPool(): Promise<WorkerPool<SandboxRequest, SandboxResult>> {
    pool ??= compiledQuickJS().then(({ module, layout }) => {
      const size = Math.max(1, options.workers ?? availableParallelism());
      const workerData: Omit<QuickJSWorkerData, 'channel'> = { memoryBytes, wasmModule: module, layout };
      return new WorkerPool<SandboxRequest, SandboxResult>({
        size,
        ...workerEntry(new URL('./quickjs-worker.js', import.meta.url)),
        workerData,
        // Replacing a killed worker counts against the host's time slices like any other work here.
        schedule: resumeLater,
        channel: {
          bytes: CHANNEL_BYTES,
          encodeRequest: encodeSandboxRequest,
          decodeResult: decodeSandboxResult,
        },
      });
    });
    return pool;
  }

  return {
    languages: LANGUAGES,
    async warm() {
      await Promise.all([startInline(), getPool().then((started) => started.warm())]);
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
      const job: SandboxRequest = { language: request.language, source: request.source, paramsJSON, limits };
      let triedInline = false;
      if (!inline) void startInline();
      else if (inline.suits(job)) {
        const answered = sliceLeft() >= INLINE_SLICE_MS ? inline.try(job) : await tryInLaterSlice(inline, job, signal);
        if (signal.aborted) throw signal.reason;
        if (answered) return toScriptResult(answered);
        triedInline = true;
      }
      const started = await getPool();
      const result = await started.run(job, {
        signal,
        deadlineMs: limits.timeoutMs + DEADLINE_GRACE_MS,
        onDeadline: () => ({ ok: false, error: limitExceededMessage('timeoutMs', limits), limit: 'timeoutMs', logs: [] }),
        // A script that overran its inline budget will not answer within a moment: no synchronous wait for it.
        syncWaitMs: triedInline ? 0 : Math.min(SYNC_WAIT_MS, sliceLeft()),
      });
      return toScriptResult(result);
    },
    async close() {
      const current = pool;
      pool = undefined;
      // A pool that never came to be (QuickJS failed to compile) has nothing to close.
      await (await current?.catch(() => undefined))?.close();
    },
  };
}

/**
 * Inline attempts share the engine's time slices and start only with room for their whole budget: this
 * one runs in the first turn of the event loop whose slice has it, in its place in the queue.
 */
function tryInLaterSlice(inline: InlineQuickJS, job: SandboxRequest, signal: AbortSignal): Promise<SandboxResult | undefined> {
  return new Promise((resolve) => {
    resumeLater(() => resolve(signal.aborted ? undefined : inline.try(job)), INLINE_SLICE_MS);
  });
}

function toScriptResult(result: SandboxResult): ScriptResult {
  if (!result.ok) return result;
  return { ok: true, value: JSON.parse(result.outputsJSON) as unknown, logs: result.logs };
}

/** The runner a code executor builds from the runtime's code limits. */
export function quickJSRunnerFor(limits: CodeLimits | undefined): ScriptRunner {
  return createQuickJSRunner({ workers: limits?.workers, memoryBytes: limits?.memoryBytes });
}
