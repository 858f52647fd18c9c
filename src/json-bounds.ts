/**
 * How big and how deep a JSON-like value is, found without recursion (so any depth is safe to look at)
 * and without building its text, stopping as soon as a bound is passed. Sizes are JSON characters,
 * counted as `JSON.stringify` would write them up to escapes.
 */

export interface JsonMeasure {
  /** JSON characters counted so far (the whole value's when no bound was passed). */
  bytes: number;
  /** The bound that was passed first, if any. */
  exceeded: 'depth' | 'bytes' | undefined;
}

/** Characters of a scalar as JSON (`undefined` and functions count as `null`, as in arrays). */
export function scalarJsonSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return value.length + 2;
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'bigint':
      return String(value).length;
    default:
      return 4;
  }
}

/** Measures `value` up to `maxDepth` levels of nesting and `maxBytes` characters. */
export function measureJson(value: unknown, maxDepth: number, maxBytes: number): JsonMeasure {
  const values: unknown[] = [value];
  const depths: number[] = [0];
  let bytes = 0;
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop() as number;
    if (current === null || typeof current !== 'object') {
      bytes += scalarJsonSize(current);
    } else if (current instanceof Date) {
      bytes += 26;
    } else {
      if (depth >= maxDepth) return { bytes, exceeded: 'depth' };
      bytes += 2;
      if (Array.isArray(current)) {
        bytes += Math.max(0, current.length - 1);
        for (let i = 0; i < current.length; i++) {
          values.push(current[i]);
          depths.push(depth + 1);
        }
      } else {
        let keys = 0;
        for (const key in current) {
          if (!Object.prototype.hasOwnProperty.call(current, key)) continue;
          bytes += key.length + 3 + (keys++ > 0 ? 1 : 0);
          values.push((current as Record<string, unknown>)[key]);
          depths.push(depth + 1);
        }
      }
    }
    if (bytes > maxBytes) return { bytes, exceeded: 'bytes' };
  }
  return { bytes, exceeded: undefined };
}

/** Whether `value` nests deeper than `maxDepth` levels (objects and arrays). */
export function isDeeperThan(value: unknown, maxDepth: number): boolean {
  return measureJson(value, maxDepth, Number.POSITIVE_INFINITY).exceeded === 'depth';
}
