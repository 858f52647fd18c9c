import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.js';

describe('redactSecrets', () => {
  it('replaces every occurrence and leaves short or missing secrets alone', () => {
    expect(redactSecrets('key sk-abc123 and sk-abc123 again', ['sk-abc123'])).toBe('key [redacted] and [redacted] again');
    expect(redactSecrets('a b c', ['a', undefined, ''])).toBe('a b c');
  });
});
