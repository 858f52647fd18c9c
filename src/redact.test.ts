import { describe, expect, it } from 'vitest';
import { redactSecrets, redactValue } from './redact.js';

describe('redactSecrets', () => {
  it('replaces every occurrence and leaves short or missing secrets alone', () => {
    expect(redactSecrets('key sk-abc123 and sk-abc123 again', ['sk-abc123'])).toBe('key [redacted] and [redacted] again');
    expect(redactSecrets('a b c', ['a', undefined, ''])).toBe('a b c');
  });
});

describe('redactValue', () => {
  it('masks secrets in nested strings and keys, and leaves the input untouched', () => {
    const input = { a: ['x sk-abc123 y', 1, null, { 'sk-abc123': true }], b: 'plain' };
    const out = redactValue(input, ['sk-abc123']);
    expect(out).toEqual({ a: ['x [redacted] y', 1, null, { '[redacted]': true }], b: 'plain' });
    expect(input.a[0]).toBe('x sk-abc123 y');
  });

  it('keeps a "__proto__" key as a plain key', () => {
    const out = redactValue(JSON.parse('{"__proto__": {"polluted": "sk-abc123"}}') as Record<string, unknown>, ['sk-abc123']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__']);
  });
});
