export const REDACTED = '[redacted]';

/** Secrets shorter than this are not redacted: replacing every "ab" would mangle all text and hide nothing. */
const MIN_SECRET_LENGTH = 4;

export function isRedactable(secret: unknown): secret is string {
  return typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH;
}

/**
 * Finds a fixed set of secret values in text in one pass: a single value by `indexOf`, several by one
 * regular expression of alternatives (longest first, so a secret that contains another is masked whole).
 */
export class SecretMatcher {
  private readonly values: readonly string[];
  private readonly pattern: RegExp | undefined;

  constructor(secrets: Iterable<string | undefined>) {
    const values = [...new Set([...secrets].filter(isRedactable))].sort((a, b) => b.length - a.length);
    this.values = values;
    this.pattern = values.length > 1 ? new RegExp(values.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  get size(): number {
    return this.values.length;
  }

  redact(text: string): string {
    if (this.pattern) return text.replace(this.pattern, REDACTED);
    const only = this.values[0];
    return only !== undefined && text.includes(only) ? text.split(only).join(REDACTED) : text;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Replaces every occurrence of each secret (ignoring empty/very short ones that would mangle text). */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined> | SecretMatcher): string {
  return (secrets instanceof SecretMatcher ? secrets : new SecretMatcher(secrets)).redact(text);
}

/** A copy of a JSON-like value with every secret replaced in its strings (keys included); the input is not changed. */
export function redactValue<T>(value: T, secrets: readonly string[] | SecretMatcher): T {
  const matcher = secrets instanceof SecretMatcher ? secrets : new SecretMatcher(secrets);
  return matcher.size === 0 ? value : redactWith(value, matcher);
}

function redactWith<T>(value: T, matcher: SecretMatcher): T {
  if (typeof value === 'string') return matcher.redact(value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redactWith(item, matcher)) as T;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, matcher.redact(key), { value: redactWith(item, matcher), enumerable: true, writable: true, configurable: true });
  }
  return out as T;
}
