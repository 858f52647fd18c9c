import type { CodeLimits } from '../engine/types.js';
import type { ScriptRequest } from './types.js';

export type ScriptLimits = ScriptRequest['limits'];

export const DEFAULT_CODE_LIMITS: Readonly<ScriptLimits> = {
  timeoutMs: 60_000,
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: 1024 * 1024,
  outputBytes: 1024 * 1024,
  consoleBytes: 64 * 1024,
};

const LIMIT_KEYS = Object.keys(DEFAULT_CODE_LIMITS) as Array<keyof ScriptLimits>;

/** The unit each limit is reported in when it is exceeded. */
export const LIMIT_UNITS: Readonly<Record<keyof ScriptLimits, string>> = {
  timeoutMs: 'ms',
  memoryBytes: 'bytes',
  stackBytes: 'bytes',
  outputBytes: 'bytes',
  consoleBytes: 'bytes',
};

function isLimitValue(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * The limits of one execution: the runtime's (or the defaults), lowered by the node's own override.
 * A node may only tighten limits, never raise them: workflows are untrusted, the runtime's operator is not.
 */
export function resolveScriptLimits(runtime: CodeLimits | undefined, override: unknown): ScriptLimits {
  const limits: ScriptLimits = { ...DEFAULT_CODE_LIMITS };
  for (const key of LIMIT_KEYS) {
    const configured = runtime?.[key];
    if (isLimitValue(configured)) limits[key] = Math.floor(configured);
  }
  if (override && typeof override === 'object') {
    for (const key of LIMIT_KEYS) {
      const wanted = (override as Record<string, unknown>)[key];
      if (isLimitValue(wanted)) limits[key] = Math.min(limits[key], Math.floor(wanted));
    }
  }
  return limits;
}

/** The message a failure names its limit with, e.g. `code: timeoutMs exceeded (60000 ms)`. */
export function limitExceededMessage(limit: keyof ScriptLimits, limits: ScriptLimits): string {
  return `code: ${limit} exceeded (${limits[limit]} ${LIMIT_UNITS[limit]})`;
}

export function isLimitName(value: unknown): value is keyof ScriptLimits {
  return typeof value === 'string' && (LIMIT_KEYS as string[]).includes(value);
}
