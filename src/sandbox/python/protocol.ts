import type { ScriptLimits } from '../limits.js';
import type { ScriptResult } from '../types.js';

/** What a Python worker is started with (its `workerData`). */
export interface InterpreterInit {
  /** Top-level modules a script may import. */
  allowedModules: string[];
}

/** One script for the interpreter. Parameters travel as JSON text, never as objects. */
export interface InterpreterRequest {
  source: string;
  paramsJSON: string;
  limits: ScriptLimits;
}

/** The runner's result plus facts about the interpreter, for stats and benches. */
export type InterpreterResult = ScriptResult & {
  /** The interpreter's wasm heap after the run (bytes). */
  heapBytes?: number;
  /** How long the interpreter took to start (ms); on its first result only. */
  coldStartMs?: number;
};

/** The harness's JSON answer, parsed. */
export type HarnessResult =
  | { ok: true; value: unknown; logs: string[]; tainted?: boolean; truncated?: boolean }
  | { ok: false; error: string; limit?: keyof ScriptLimits; logs: string[]; tainted?: boolean; truncated?: boolean };
