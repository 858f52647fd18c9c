export const REDACTED = '[redacted]';

/** Secrets shorter than this are not redacted: replacing every "ab" would mangle all text and hide nothing. */
const MIN_SECRET_LENGTH = 4;

export function isRedactable(secret: unknown): secret is string {
  return typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH;
}

/** Replaces every occurrence of each secret (ignoring empty/very short ones that would mangle text). */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (isRedactable(secret) && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A copy of a JSON-like value with every secret replaced in its strings (keys included); the input is not changed. */
export function redactValue<T>(value: T, secrets: readonly string[]): T {
  if (typeof value === 'string') return redactSecrets(value, secrets) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, redactSecrets(key, secrets), { value: redactValue(item, secrets), enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}
