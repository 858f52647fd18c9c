/**
 * Credentials recognised by name: the values of an HTTP node's headers and query parameters named like
 * credentials (Authorization, Cookie, X-Api-Key, api_key, …). One definition for every place that
 * treats them as secrets: a snapshot never shows them, a literal one typed into a form is moved into
 * the secret store, and whatever value they hold is masked wherever it travels.
 */
export const CREDENTIAL_NAME = /authorization|cookie|token|secret|password|passwd|api[-_]?key|access[-_]?key|auth[-_]?key|private[-_]?key|subscription[-_]?key/i;

/** The maps of an HTTP node's `data` whose credential-named entries are credentials. */
export const CREDENTIAL_MAPS = ['headersValues', 'paramsValues'] as const;

/** The credential entries of a node's `data` (`[map, name, flow value]`); none for nodes other than HTTP. */
export function credentialEntries(type: unknown, data: unknown): Array<[(typeof CREDENTIAL_MAPS)[number], string, unknown]> {
  if (type !== 'http' || data === null || typeof data !== 'object') return [];
  const out: Array<[(typeof CREDENTIAL_MAPS)[number], string, unknown]> = [];
  for (const map of CREDENTIAL_MAPS) {
    const values = (data as Record<string, unknown>)[map];
    if (values === null || typeof values !== 'object' || Array.isArray(values)) continue;
    for (const [name, value] of Object.entries(values)) if (CREDENTIAL_NAME.test(name)) out.push([map, name, value]);
  }
  return out;
}
