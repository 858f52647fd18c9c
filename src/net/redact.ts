export const REDACTED = '[redacted]';

/** Replaces every occurrence of each secret (ignoring empty/very short ones that would mangle text). */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (typeof secret === 'string' && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}
