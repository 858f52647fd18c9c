import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { CodeLimits } from '../engine/types.js';
import { DEFAULT_CODE_LIMITS, limitExceededMessage } from './limits.js';
import type { SandboxRequest, SandboxResult } from './quickjs-sandbox.js';
import type { QuickJSWorkerData } from './quickjs-worker.js';
import type { ScriptRequest, ScriptResult, ScriptRunner } from './types.js';
import { WorkerPool } from './worker-pool.js';

export interface QuickJSRunnerOptions {
  /** Worker threads; default: the number of CPUs. */
  workers?: number;
  /** The hard memory cap of each worker's sandbox (bytes); node-level limits can only be lower. */
  memoryBytes?: number;
}

/** How long past its own deadline a script may take before its worker is killed from outside. */
const DEADLINE_GRACE_MS = 250;
const LANGUAGES = ['javascript', 'typescript'] as const;

/**
 * The worker entry: the compiled `.js` next to this file (dist), or, when running from TypeScript
 * sources (vitest, tsx), a bootstrap that registers tsx in the worker and then loads the `.ts` file.
 */
function workerEntry(): { entry: URL | string; eval: boolean } {
  const compiled = new URL('./quickjs-worker.js', import.meta.url);
  if (existsSync(compiled)) return { entry: compiled, eval: false };
  // The ESM build of tsx's API (require.resolve would pick its CommonJS build).
  const tsxPackage = createRequire(import.meta.url).resolve('tsx/package.json');
  const tsx = new URL('dist/esm/api/index.mjs', pathToFileURL(tsxPackage)).href;
  const source = new URL('./quickjs-worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return { entry: bootstrap, eval: true };
}

/**
 * Runs JavaScript and TypeScript in QuickJS (WebAssembly) on a pool of worker threads, so a
 * runaway script never blocks the event loop and can be killed at once.
 */
export function createQuickJSRunner(options: QuickJSRunnerOptions = {}): ScriptRunner {
  let pool: WorkerPool<SandboxRequest, SandboxResult> | undefined;
  const memoryBytes = options.memoryBytes ?? DEFAULT_CODE_LIMITS.memoryBytes;

  function getPool(): WorkerPool<SandboxRequest, SandboxResult> {
    if (!pool) {
      const workerData: QuickJSWorkerData = { memoryBytes };
      pool = new WorkerPool({ size: Math.max(1, options.workers ?? availableParallelism()), ...workerEntry(), workerData });
    }
    return pool;
  }

  return {
    languages: LANGUAGES,
    warm() {
      return getPool().warm();
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
      const result = await getPool().run(
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
      await current?.close();
    },
  };
}

/** The runner a code executor builds from the runtime's code limits. */
export function quickJSRunnerFor(limits: CodeLimits | undefined): ScriptRunner {
  return createQuickJSRunner({ workers: limits?.workers, memoryBytes: limits?.memoryBytes });
}
