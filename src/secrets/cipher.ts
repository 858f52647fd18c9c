import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';

/** AES-256-GCM: a 32-byte key, a fresh 12-byte nonce per value, a 16-byte tag; the secret's name is bound as associated data. */
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** The key from its text form: 64 hex characters or the base64 of 32 bytes. */
export function parseSecretKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed)) return Buffer.from(trimmed, 'base64');
  throw new FlowgramError(ErrorCodes.SECRET_KEY, `${source}: the secret key must be 32 bytes, as 64 hex characters or base64`);
}

/** Reads the key file, or (with `create`) creates it, mode 0600, with a random key when it does not exist yet. */
export function loadOrCreateKeyFile(path: string, create: boolean): Buffer | undefined {
  try {
    if (existsSync(path)) return parseSecretKey(readFileSync(path, 'utf8'), path);
    if (!create) return undefined;
    const key = randomBytes(KEY_BYTES);
    // 'wx': never overwrite a key another process created meanwhile (that would orphan its secrets).
    writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(path, 0o600);
    return key;
  } catch (error) {
    if (error instanceof FlowgramError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return parseSecretKey(readFileSync(path, 'utf8'), path);
    throw new FlowgramError(ErrorCodes.SECRET_KEY, `secret key file ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

/** Encrypts one value for storage: base64 of nonce | tag | ciphertext. */
export function sealSecret(key: Buffer, name: string, value: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(name, 'utf8'));
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
}

/** Decrypts a stored value; undefined when the key (or the name it was sealed under) is not the one it was sealed with. */
export function openSecret(key: Buffer, name: string, sealed: string): string | undefined {
  const bytes = Buffer.from(sealed, 'base64');
  if (bytes.length < NONCE_BYTES + TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAAD(Buffer.from(name, 'utf8'));
    decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A name for a literal value, the same for the same value under one key, revealing nothing of the value without the key. */
export function literalSecretName(key: Buffer, value: string): string {
  return `literal_${createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, 20)}`;
}
