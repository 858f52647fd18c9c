import type { CodeLimits, MessageLevel } from '../engine/types.js';

/** One script execution request; everything in it crosses a thread boundary as plain data. */
export interface ScriptRequest {
  /** `javascript`, `typescript`, `python`, ... as written in `data.script.language`. */
  language: string;
  source: string;
  /** The node's resolved inputs, handed to `main({ params })`. JSON-compatible. */
  params: Record<string, unknown>;
  limits: Required<Omit<CodeLimits, 'workers'>>;
}

export interface ScriptLog {
  level: MessageLevel;
  message: string;
}

export type ScriptResult =
  | { ok: true; value: unknown; logs: ScriptLog[] }
  /** `limit` names the exceeded limit (timeoutMs, memoryBytes, stackBytes, outputBytes) when one was. */
  | { ok: false; error: string; limit?: string; logs: ScriptLog[] };

/** Runs scripts of some languages off the main thread. The code node picks a runner by language. */
export interface ScriptRunner {
  readonly languages: readonly string[];
  run(request: ScriptRequest, signal: AbortSignal): Promise<ScriptResult>;
  /** Optional: starts the runner's workers ahead of the first script; resolves when they are ready. */
  warm?(): Promise<void> | void;
  close(): Promise<void>;
}
