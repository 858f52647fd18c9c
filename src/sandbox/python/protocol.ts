import type { ScriptLimits } from '../limits.js';

/** What a Python interpreter process is started with (its first message). */
export interface InterpreterInit {
  /** Top-level modules a script may import. */
  allowedModules: string[];
  /** A memory image of a freshly started interpreter, made by the pool's first one: later ones start from it. */
  image?: Uint8Array;
}

/** One script for the interpreter. Parameters travel as JSON text, never as objects. */
export interface InterpreterRequest {
  source: string;
  paramsJSON: string;
  limits: ScriptLimits;
}

/** What an interpreter process answers for one script: the harness's answer plus facts for stats and benches. */
export interface InterpreterResult {
  answer: HarnessResult;
  /** The interpreter's wasm heap after the run (bytes). */
  heapBytes?: number;
  /** The interpreter process's resident memory after the run (bytes). */
  rssBytes?: number;
  /** How long the interpreter took to start (ms); on its first result only. */
  coldStartMs?: number;
  /** The memory image this interpreter made at start (only when it started without one); on its first result only. */
  image?: Uint8Array;
}

/** The harness's JSON answer, parsed. */
export type HarnessResult =
  | { ok: true; value: unknown; logs: string[]; truncated?: boolean }
  | { ok: false; error: string; limit?: keyof ScriptLimits; logs: string[]; truncated?: boolean };
