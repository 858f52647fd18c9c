/**
 * Checks the JSON Schema declarations of a workflow (the start node's inputs, every node's inputs and
 * outputs, HTTP headers/params/form fields, global variables) for types the runtime knows, one message
 * per bad `type` with its full path, before ajv would reject them with several lines of its own.
 */
import type { SchemaIssue } from './validate-schema.js';

type Json = Record<string, unknown>;

const KNOWN_TYPES = ['string', 'integer', 'number', 'boolean', 'object', 'array', 'map', 'date-time'] as const;
const KNOWN: ReadonlySet<string> = new Set<string>([...KNOWN_TYPES, 'null']);
const MAX_DEPTH = 64;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function checkDeclaration(declaration: unknown, path: string, issues: SchemaIssue[], depth: number): void {
  if (!isObject(declaration) || depth > MAX_DEPTH || declaration.$ref !== undefined) return;
  const { type } = declaration;
  if (type !== undefined && (typeof type !== 'string' || !KNOWN.has(type))) {
    issues.push({
      code: 'declaration_type',
      path: `${path}.type`,
      message: `${path}.type: unknown type ${JSON.stringify(type)} (expected one of ${KNOWN_TYPES.join(', ')})`,
    });
  }
  if (isObject(declaration.properties)) {
    for (const [key, property] of Object.entries(declaration.properties)) checkDeclaration(property, `${path}.properties.${key}`, issues, depth + 1);
  }
  checkDeclaration(declaration.items, `${path}.items`, issues, depth + 1);
  checkDeclaration(declaration.additionalProperties, `${path}.additionalProperties`, issues, depth + 1);
}

/** The declarations of one node's `data` (or its HTTP `body`): `inputs`, `outputs`, and each `<name>` of a `<name>Values`. */
function checkHolder(holder: Json, path: string, issues: SchemaIssue[]): void {
  for (const field of ['inputs', 'outputs']) if (holder[field] !== undefined) checkDeclaration(holder[field], `${path}.${field}`, issues, 0);
  for (const field of Object.keys(holder)) {
    const declared = field.endsWith('Values') ? field.slice(0, -'Values'.length) : undefined;
    if (declared && declared !== 'inputs' && holder[declared] !== undefined) checkDeclaration(holder[declared], `${path}.${declared}`, issues, 0);
  }
}

function checkNodes(nodes: unknown, path: string, issues: SchemaIssue[]): void {
  if (!Array.isArray(nodes)) return;
  nodes.forEach((node: unknown, index) => {
    if (!isObject(node)) return;
    const nodePath = `${path}[${index}]`;
    if (isObject(node.data)) {
      checkHolder(node.data, `${nodePath}.data`, issues);
      if (isObject(node.data.body)) checkHolder(node.data.body, `${nodePath}.data.body`, issues);
    }
    checkNodes(node.blocks, `${nodePath}.blocks`, issues);
  });
}

export function validateDeclarations(schema: Json): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  checkNodes(schema.nodes, 'nodes', issues);
  if (schema.globalVariable !== undefined) checkDeclaration(schema.globalVariable, 'globalVariable', issues, 0);
  return issues;
}
