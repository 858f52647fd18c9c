import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.js';
import { literalSecretName, loadOrCreateKeyFile, openSecret, parseSecretKey, sealSecret } from './cipher.js';

describe('secret cipher', () => {
  const key = randomBytes(32);

  it('seals with a fresh nonce each time and opens only with the same key and name', () => {
    const a = sealSecret(key, 'A', 'sk-value');
    expect(a).not.toBe(sealSecret(key, 'A', 'sk-value'));
    expect(Buffer.from(a, 'base64').toString('latin1')).not.toContain('sk-value');
    expect(openSecret(key, 'A', a)).toBe('sk-value');
    expect(openSecret(randomBytes(32), 'A', a)).toBeUndefined();
    expect(openSecret(key, 'B', a)).toBeUndefined(); // a row copied under another name does not open
    expect(openSecret(key, 'A', 'AAAA')).toBeUndefined();
  });

  it('reads keys as 64 hex characters or base64 of 32 bytes, and refuses anything else', () => {
    expect(parseSecretKey(key.toString('hex'), 'k')).toEqual(key);
    expect(parseSecretKey(key.toString('base64'), 'k')).toEqual(key);
    for (const bad of ['', 'short', 'a'.repeat(63), randomBytes(16).toString('base64')]) {
      expect(() => parseSecretKey(bad, 'k')).toThrow(expect.objectContaining({ code: ErrorCodes.SECRET_KEY }));
    }
  });

  it('creates the key file once, mode 0600, and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowgram-key-'));
    try {
      const path = join(dir, 'db.key');
      expect(loadOrCreateKeyFile(path, false)).toBeUndefined();
      const created = loadOrCreateKeyFile(path, true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(loadOrCreateKeyFile(path, true)).toEqual(created);
      expect(readFileSync(path, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names literals by a keyed hash: equal values share a name, other keys give other names', () => {
    expect(literalSecretName(key, 'x-value')).toBe(literalSecretName(key, 'x-value'));
    expect(literalSecretName(key, 'x-value')).not.toBe(literalSecretName(key, 'y-value'));
    expect(literalSecretName(randomBytes(32), 'x-value')).not.toBe(literalSecretName(key, 'x-value'));
  });
});
