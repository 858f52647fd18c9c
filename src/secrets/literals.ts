import { CREDENTIAL_MAPS, CREDENTIAL_NAME } from './credentials.js';
import { SECRETS_SCOPE } from './references.js';

/** A literal credential found in a schema, to be stored under `name`. */
export interface LiteralSecret {
  name: string;
  value: string;
}

export interface LiteralsMoved {
  /** The schema with each literal replaced by a reference; the same object when there was none. */
  schema: object;
  literals: LiteralSecret[];
}

/**
 * Replaces credentials typed into forms — constants in inputs an executor declares secret (the LLM
 * node's `apiKey`) and in credential-named HTTP headers and query parameters — with `["secrets", name]` references, copying
 * only the objects on the way to each (the input schema is not changed).
 */
export function moveLiteralSecrets(
  schema: object,
  secretInputs: (nodeType: string) => readonly string[] | undefined,
  nameFor: (value: string) => string,
): LiteralsMoved {
  const literals: LiteralSecret[] = [];
  const nodes = (schema as { nodes?: unknown }).nodes;
  if (!Array.isArray(nodes)) return { schema, literals };
  const names = new Map<string, string>();
  let moved = moveInNodes(nodes, secretInputs, (value) => {
    let name = names.get(value);
    if (name === undefined) {
      name = nameFor(value);
      names.set(value, name);
      literals.push({ name, value });
    }
    return { type: 'ref', content: [SECRETS_SCOPE, name] };
  });
  if (moved === nodes) return { schema, literals };
  // The same key typed elsewhere (e.g. a code node's parameter) is referenced too, so it is stored nowhere.
  moved = referEqualConstants(moved, names, 0) as unknown[];
  return { schema: { ...schema, nodes: moved }, literals };
}

const MAX_DEPTH = 64;

/** A copy of a value with every constant equal to a moved literal replaced by its reference; the same value when none is. */
function referEqualConstants(value: unknown, names: ReadonlyMap<string, string>, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let out = value;
    value.forEach((item, index) => {
      const moved = referEqualConstants(item, names, depth + 1);
      if (moved === item) return;
      if (out === value) out = [...value];
      out[index] = moved;
    });
    return out;
  }
  const record = value as Record<string, unknown>;
  const literal = literalText(record);
  const name = literal === undefined ? undefined : names.get(literal);
  if (name !== undefined) return { type: 'ref', content: [SECRETS_SCOPE, name] };
  let out = record;
  for (const key of Object.keys(record)) {
    const moved = referEqualConstants(record[key], names, depth + 1);
    if (moved === record[key]) continue;
    if (out === record) out = { ...record };
    Object.defineProperty(out, key, { value: moved, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

type Reference = { type: 'ref'; content: string[] };

function moveInNodes(nodes: unknown[], secretInputs: (nodeType: string) => readonly string[] | undefined, refer: (value: string) => Reference): unknown[] {
  let out = nodes;
  nodes.forEach((node, index) => {
    const moved = moveInNode(node, secretInputs, refer);
    if (moved === node) return;
    if (out === nodes) out = [...nodes];
    out[index] = moved;
  });
  return out;
}

function moveInNode(node: unknown, secretInputs: (nodeType: string) => readonly string[] | undefined, refer: (value: string) => Reference): unknown {
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  let out = record;
  const data = record.data as Record<string, unknown> | undefined;
  if (data && typeof data === 'object') {
    let movedData = data;
    const keys = typeof record.type === 'string' ? secretInputs(record.type) : undefined;
    const inputs = keys && keys.length > 0 ? moveValues(data.inputsValues, (key) => keys.includes(key), refer) : data.inputsValues;
    if (inputs !== data.inputsValues) movedData = { ...movedData, inputsValues: inputs };
    if (record.type === 'http') {
      for (const map of CREDENTIAL_MAPS) {
        const moved = moveValues(data[map], (key) => CREDENTIAL_NAME.test(key), refer);
        if (moved !== data[map]) movedData = { ...movedData, [map]: moved };
      }
    }
    if (movedData !== data) out = { ...out, data: movedData };
  }
  if (Array.isArray(record.blocks)) {
    const blocks = moveInNodes(record.blocks, secretInputs, refer);
    if (blocks !== record.blocks) out = { ...out, blocks };
  }
  return out;
}

/** A copy of a `{ key: flowValue }` map with the selected literal values referenced; the same map when none is. */
function moveValues(values: unknown, selected: (key: string) => boolean, refer: (value: string) => Reference): unknown {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return values;
  let out = values as Record<string, unknown>;
  for (const [key, value] of Object.entries(values)) {
    if (!selected(key)) continue;
    const literal = literalText(value);
    if (literal === undefined) continue;
    if (out === values) out = { ...(values as Record<string, unknown>) };
    out[key] = refer(literal);
  }
  return out;
}

/** The text of a constant (or a template without placeholders); undefined for anything else. */
function literalText(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { type, content } = value as { type?: unknown; content?: unknown };
  if (typeof content !== 'string' || content === '') return undefined;
  if (type === 'constant' || (type === 'template' && !content.includes('{{'))) return content;
  return undefined;
}
