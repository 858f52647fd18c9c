import { describe, expect, it } from 'vitest';
import { limitsOption } from './limits-option.js';

describe('limitsOption', () => {
  it('reads --limit flags over FLOWGRAM_LIMITS', () => {
    expect(limitsOption(['taskTimeoutMs=60000', 'maxJsonDepth=32'], 'maxJsonDepth=16,maxEvents=Infinity')).toEqual({
      taskTimeoutMs: 60_000,
      maxJsonDepth: 32,
      maxEvents: Number.POSITIVE_INFINITY,
    });
    expect(limitsOption(undefined, undefined)).toEqual({});
  });

  it('refuses unknown names and values that are not whole numbers', () => {
    expect(() => limitsOption(['maxBananas=1'], undefined)).toThrow(/unknown limit "maxBananas"/);
    expect(() => limitsOption(['maxEvents=-1'], undefined)).toThrow(/--limit maxEvents/);
    expect(() => limitsOption(['maxEvents=1.5'], undefined)).toThrow(/--limit maxEvents/);
    expect(() => limitsOption(['maxEvents'], undefined)).toThrow(/--limit maxEvents/);
  });
});
