import { availableParallelism } from 'node:os';
import type { CodeLimits } from '../../engine/types.js';
import type { ScriptLog, ScriptRequest, ScriptResult, ScriptRunner } from '../types.js';
import { WorkerPool } from '../worker-pool.js';
import { limitExceededMessage, type ScriptLimits } from '../limits.js';
import type { HarnessResult, InterpreterInit, InterpreterRequest, InterpreterResult } from './protocol.js';
import { InterpreterProcess, preparePyodideFiles, type Confinement, type PyodideFiles } from './process.js';

/** Pure standard-library modules a script may import unless the runtime says otherwise. */
export const DEFAULT_PYTHON_MODULES: readonly string[] = Object.freeze([
  'json', 'math', 're', 'datetime', 'itertools', 'functools', 'collections', 'statistics', 'random', 'string',
  'decimal', 'fractions', 'operator', 'textwrap', 'unicodedata', 'base64', 'hashlib', 'uuid',
]);

export interface PythonRunnerOptions {
  /** Warm interpreters kept at most (each holds tens of MB). Default: CPUs, at most 4. Started on demand. */
  interpreters?: number;
  /**
   * Top-level modules scripts may import. Default `DEFAULT_PYTHON_MODULES`. Modules that reach the
   * host or the interpreter (os, sys, js, ctypes, socket, io, gc, ...) stay refused even when listed.
   */
  allowedModules?: readonly string[];
  /** JavaScript heap of each interpreter's process (MiB); the Python heap is capped by `memoryBytes`. Default 256. */
  workerHeapMb?: number;
}

export interface PythonRunnerStats {
  /** Interpreters alive now. */
  interpreters: number;
  /** Start-up time of each interpreter that has answered so far (ms), oldest first. */
  coldStartsMs: number[];
  /** The wasm heap of the interpreter that answered last (bytes). */
  lastHeapBytes: number;
  /** The resident memory of the interpreter process that answered last (bytes). */
  lastRssBytes: number;
  /** How the interpreter processes are walled in on this machine (known once the first one started). */
  confinement?: Confinement;
}

export interface PythonRunner extends ScriptRunner {
  /**
   * Starts interpreters ahead of demand (e.g. at server start-up), up to `count`; resolves when they are
   * ready. They all start from scratch: the fast start from a memory image needs one interpreter to have answered.
   */
  warm(count?: number): Promise<void>;
  stats(): PythonRunnerStats;
}

/**
 * Runs `data.script.language: 'python'` in pyodide (CPython on WebAssembly), each interpreter in a
 * child process with no permissions (./process.ts) that restores its memory after every script:
 * warm interpreters, started lazily, each killed on timeout or cancel and replaced on demand.
 */
export function createPythonRunner(options: PythonRunnerOptions = {}): PythonRunner {
  const size = Math.max(1, Math.floor(options.interpreters ?? Math.min(availableParallelism(), 4)));
  const init: InterpreterInit = { allowedModules: [...(options.allowedModules ?? DEFAULT_PYTHON_MODULES)] };
  let pool: WorkerPool<InterpreterRequest, InterpreterResult> | undefined;
  let setup: Promise<{ files: PyodideFiles; confinement: Confinement }> | undefined;
  let confinement: Confinement | undefined;
  const coldStartsMs: number[] = [];
  let lastHeapBytes = 0;
  let lastRssBytes = 0;

  function getPool(): WorkerPool<InterpreterRequest, InterpreterResult> {
    if (pool) return pool;
    const prepared = (setup ??= preparePyodideFiles());
    void prepared.then((found) => (confinement = found.confinement), () => undefined);
    pool = new WorkerPool({
      size,
      start: () => new InterpreterProcess({ setup: prepared, init: () => init, heapMb: options.workerHeapMb ?? 256 }),
    });
    return pool;
  }

  return {
    languages: ['python'],
    warm(count) {
      return getPool().warm(count);
    },
    stats: () => ({ interpreters: pool?.workers ?? 0, coldStartsMs: [...coldStartsMs], lastHeapBytes, lastRssBytes, confinement }),
    async run(request: ScriptRequest, signal: AbortSignal): Promise<ScriptResult> {
      let paramsJSON: string;
      try {
        paramsJSON = JSON.stringify(request.params ?? {});
      } catch (error) {
        return { ok: false, error: `code: the node's inputs are not JSON (${error instanceof Error ? error.message : String(error)})`, logs: [] };
      }
      const { limits } = request;
      const { answer, heapBytes, rssBytes, coldStartMs, image } = await getPool().run(
        { source: request.source, paramsJSON, limits },
        {
          signal,
          // Python cannot be interrupted from inside: the deadline kills the process.
          deadlineMs: limits.timeoutMs,
          onDeadline: () => ({ answer: { ok: false, error: '', limit: 'timeoutMs', logs: [] } }),
        },
      );
      if (heapBytes !== undefined) lastHeapBytes = heapBytes;
      if (rssBytes !== undefined) lastRssBytes = rssBytes;
      if (coldStartMs !== undefined) coldStartsMs.push(coldStartMs);
      // Interpreters started from now on begin from this image (made before any script ran).
      if (image && !init.image) init.image = image;
      return scriptResult(answer, limits);
    },
    async close() {
      const current = pool;
      pool = undefined;
      await current?.close();
      const prepared = setup;
      setup = undefined;
      (await prepared?.catch(() => undefined))?.files.cleanup?.();
    },
  };
}

const TRUNCATED_NOTICE: ScriptLog = { level: 'warning', message: 'console output truncated (consoleBytes limit reached)' };

/** The harness's answer as a runner result; limit failures are worded as for JavaScript. */
function scriptResult(answer: HarnessResult, limits: ScriptLimits): ScriptResult {
  const logs: ScriptLog[] = answer.logs.map((message) => ({ level: 'log', message }));
  if (answer.truncated) logs.push(TRUNCATED_NOTICE);
  if (answer.ok) return { ok: true, value: answer.value, logs };
  if (!answer.limit) return { ok: false, error: answer.error, logs };
  const named = limitExceededMessage(answer.limit, limits);
  // A RecursionError carries the script's line; the other limits have nothing to add.
  return { ok: false, error: answer.limit === 'stackBytes' ? `${named}: ${answer.error}` : named, limit: answer.limit, logs };
}

/** The runner a code executor builds from the runtime's code limits (`workers` caps the interpreters). */
export function pythonRunnerFor(limits: CodeLimits | undefined): ScriptRunner {
  return createPythonRunner({ interpreters: limits?.workers === undefined ? undefined : Math.min(limits.workers, 4) });
}
