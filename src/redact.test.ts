import { describe, expect, it } from 'vitest';
import { SecretMatcher, redactSecrets, redactValue } from './redact.js';

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

describe('SecretMatcher', () => {
  it('masks several secrets in one pass, the longest first, and finds nothing in text without them', () => {
    const matcher = new SecretMatcher(['abcd', 'abcdef', 'zzzz', 'ab', undefined]);
    expect(matcher.size).toBe(3);
    expect(matcher.redact('x abcdef abcd zzzz y')).toBe('x [redacted] [redacted] [redacted] y');
    expect(matcher.redact('nothing here')).toBe('nothing here');
    expect(matcher.redact('again abcd')).toBe('again [redacted]'); // the global regex keeps no state between calls
    expect(new SecretMatcher(['a.b*']).redact('a.b* axb')).toBe('[redacted] axb');
  });
});
