/** The variable scope name references use: `["secrets", NAME]` and `{{secrets.NAME}}`. */
export const SECRETS_SCOPE = 'secrets';

/** Where a workflow references a secret, with the schema path of the value. */
export interface SecretReference {
  name: string;
  path: string;
}

const TEMPLATE_REFERENCE = /\{\{\s*secrets\.([^}.\s]+)[^}]*\}\}/g;
const MAX_DEPTH = 64;
const found = new WeakMap<object, readonly SecretReference[]>();

/** Every secret a schema references, in document order (computed once per schema object). */
export function secretReferences(schema: object): readonly SecretReference[] {
  let references = found.get(schema);
  if (!references) {
    const out: SecretReference[] = [];
    const nodes = (schema as { nodes?: unknown }).nodes;
    if (Array.isArray(nodes)) visit(nodes, 'nodes', out, 0);
    references = out;
    found.set(schema, references);
  }
  return references;
}

/** The distinct names of a list of references. */
export function secretNames(references: readonly SecretReference[]): string[] {
  return [...new Set(references.map((reference) => reference.name))];
}

/** The references at `path` or inside it, except those inside `except`. */
export function referencesUnder(references: readonly SecretReference[], path: string, except?: string): SecretReference[] {
  const inside = (at: string, prefix: string): boolean => at === prefix || at.startsWith(`${prefix}.`) || at.startsWith(`${prefix}[`);
  return references.filter((reference) => inside(reference.path, path) && (except === undefined || !inside(reference.path, except)));
}

/** `path: unknown secret "NAME"` for each reference no source holds. */
export function unknownSecretMessages(references: readonly SecretReference[], has: (name: string) => boolean): string[] {
  return references.filter((reference) => !has(reference.name)).map((reference) => `${reference.path}: unknown secret "${reference.name}"`);
}

function visit(value: unknown, path: string, out: SecretReference[], depth: number): void {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) visit(value[i], `${path}[${i}]`, out, depth + 1);
    return;
  }
  const record = value as Record<string, unknown>;
  if (record.type === 'ref' && Array.isArray(record.content) && record.content[0] === SECRETS_SCOPE && typeof record.content[1] === 'string') {
    out.push({ name: record.content[1], path });
    return;
  }
  if (record.type === 'template' && typeof record.content === 'string' && record.content.includes('secrets.')) {
    for (const match of record.content.matchAll(TEMPLATE_REFERENCE)) out.push({ name: match[1], path });
    return;
  }
  for (const key of Object.keys(record)) visit(record[key], `${path}.${key}`, out, depth + 1);
}
