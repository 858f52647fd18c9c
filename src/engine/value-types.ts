import type { VariableType } from '../schema/types.js';

// The upstream engine's notion of a date-time string; matching it keeps condition typing identical.
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z?$/;

/** The variable type of a runtime value, as the engine infers it for refs into nested paths. */
export function typeOfValue(value: unknown): VariableType | undefined {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) ? 'date-time' : 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(value) ? 'integer' : 'number';
    case 'object':
      return Array.isArray(value) ? 'array' : 'object';
    default:
      return undefined;
  }
}

/**
 * Whether a value of type `actual` may fill a slot declared as `declared`. Integers and numbers mix,
 * and a date-time is a string (upstream drops such strings; that only ever surprised people).
 */
export function isTypeCompatible(declared: VariableType | undefined, actual: VariableType): boolean {
  if (declared === undefined || declared === actual) return true;
  if ((declared === 'number' || declared === 'integer') && (actual === 'number' || actual === 'integer')) return true;
  if (declared === 'string' && actual === 'date-time') return true;
  if (declared === 'date-time' && actual === 'string') return true;
  if ((declared === 'map' && actual === 'object') || (declared === 'object' && actual === 'map')) return true;
  return false;
}

/** Types whose constants the editor stores as JSON text. */
const JSON_TYPES: ReadonlySet<VariableType> = new Set(['object', 'array', 'map']);

/** Constants of object/array/map declarations arrive as JSON strings; anything else is used as is. */
export function parseConstant(content: unknown, declared: VariableType | undefined): unknown {
  if (declared !== undefined && JSON_TYPES.has(declared) && typeof content === 'string') {
    try {
      return JSON.parse(content);
    } catch {
      return content;
    }
  }
  return content;
}

/** A plain deep copy for JSON-like values; snapshots keep copies, never live references into state. */
export function copyValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyValue(value[i]);
    return out as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const item = copyValue((value as Record<string, unknown>)[key]);
    // Assigning "__proto__" would replace the copy's prototype; define it as the plain key it was.
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out as T;
}

/** The one empty record snapshots share (frozen, so no one can fill it); most nodes have no inputs or outputs. */
export const EMPTY_RECORD: Readonly<Record<string, unknown>> = Object.freeze({});

/** `copyValue` for a node's inputs/outputs record, sharing `EMPTY_RECORD` when it has no keys. */
export function copyRecord(value: Record<string, unknown>): Record<string, unknown> {
  for (const _key in value) return copyValue(value);
  return EMPTY_RECORD as Record<string, unknown>;
}

/** The bounds of `copyRecordWithin`, and what its last copy counted; one per task, reused for every copy. */
export interface CopyBudget {
  readonly maxBytes: number;
  readonly maxDepth: number;
  /** JSON characters the last copy counted. */
  bytes: number;
  /** The bound the last copy passed, if it passed one. */
  exceeded: 'maxValueBytes' | 'maxJsonDepth' | undefined;
}

/**
 * `copyRecord`, counting the copy's JSON size as it goes; undefined (with `budget.exceeded` set) as soon
 * as it passes a bound, so nothing beyond a bound is ever copied and no recursion goes deeper than `maxDepth`.
 */
export function copyRecordWithin(value: Record<string, unknown>, budget: CopyBudget): Record<string, unknown> | undefined {
  budget.bytes = 0;
  budget.exceeded = undefined;
  for (const _key in value) {
    try {
      return copyBounded(value, budget, 0);
    } catch (error) {
      if (error === budget) return undefined;
      throw error;
    }
  }
  budget.bytes = 2;
  return EMPTY_RECORD as Record<string, unknown>;
}

/** Throws the budget itself when a bound is passed (caught by `copyRecordWithin`; no error object is built). */
function copyBounded<T>(value: T, budget: CopyBudget, depth: number): T {
  if (value === null || typeof value !== 'object') {
    budget.bytes += typeof value === 'string' ? value.length + 2 : 6;
    if (budget.bytes > budget.maxBytes) {
      budget.exceeded = 'maxValueBytes';
      throw budget;
    }
    return value;
  }
  if (depth >= budget.maxDepth) {
    budget.exceeded = 'maxJsonDepth';
    throw budget;
  }
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    budget.bytes += value.length + 1;
    for (let i = 0; i < value.length; i++) out[i] = copyBounded(value[i], budget, depth + 1);
    return out as T;
  }
  if (value instanceof Date) return new Date(value.getTime()) as T;
  const out: Record<string, unknown> = {};
  budget.bytes += 2;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    budget.bytes += key.length + 4;
    const item = copyBounded((value as Record<string, unknown>)[key], budget, depth + 1);
    if (key === '__proto__') Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
    else out[key] = item;
  }
  return out as T;
}
