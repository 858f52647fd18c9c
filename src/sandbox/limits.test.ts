import { describe, expect, it } from 'vitest';
import { DEFAULT_CODE_LIMITS, limitExceededMessage, resolveScriptLimits } from './limits.js';

describe('resolveScriptLimits', () => {
  it('uses the defaults when nothing is configured', () => {
    expect(resolveScriptLimits(undefined, undefined)).toEqual({
      timeoutMs: 60_000,
      memoryBytes: 33_554_432,
      stackBytes: 1_048_576,
      outputBytes: 1_048_576,
      consoleBytes: 65_536,
    });
  });

  it('takes the runtime limits over the defaults', () => {
    expect(resolveScriptLimits({ timeoutMs: 5_000, memoryBytes: 128 * 1024 * 1024 }, undefined)).toMatchObject({ timeoutMs: 5_000, memoryBytes: 134_217_728 });
  });

  it('lets a node lower limits but never raise them', () => {
    const limits = resolveScriptLimits({ timeoutMs: 5_000 }, { timeoutMs: 100_000, outputBytes: 10, consoleBytes: 2e9 });
    expect(limits.timeoutMs).toBe(5_000);
    expect(limits.outputBytes).toBe(10);
    expect(limits.consoleBytes).toBe(DEFAULT_CODE_LIMITS.consoleBytes);
  });

  it('ignores values that are not positive finite numbers', () => {
    const limits = resolveScriptLimits({ timeoutMs: -1, stackBytes: Number.NaN }, { timeoutMs: 0, memoryBytes: '1' as unknown as number, outputBytes: Infinity });
    expect(limits).toEqual(DEFAULT_CODE_LIMITS);
  });

  it('ignores an override that is not an object', () => {
    expect(resolveScriptLimits(undefined, 'fast')).toEqual(DEFAULT_CODE_LIMITS);
  });
});

describe('limitExceededMessage', () => {
  it('names the limit and its value with a unit', () => {
    expect(limitExceededMessage('timeoutMs', DEFAULT_CODE_LIMITS)).toBe('code: timeoutMs exceeded (60000 ms)');
    expect(limitExceededMessage('memoryBytes', DEFAULT_CODE_LIMITS)).toBe('code: memoryBytes exceeded (33554432 bytes)');
  });
});
