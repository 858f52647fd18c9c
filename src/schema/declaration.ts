import { limitExceeded } from '../limits.js';
import type { SchemaIssue } from './validate-schema.js';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks the shape of a declaration the inputs are validated against (the start node's `outputs`):
 * every schema in it is an object, and `properties`, `items`, `additionalProperties`, `required` and
 * `enum` have the kinds JSON Schema gives them. Iterative, so any depth is safe; throws
 * FLOWGRAM_ERR_LIMIT_EXCEEDED (`maxDeclarationProperties`) for a declaration too big to compile quickly.
 */
export function checkDeclaration(declaration: unknown, path: string, maxProperties: number): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const fail = (at: string, what: string): void => void issues.push({ code: 'shape', path: at, message: `${at}: ${what}` });
  const schemas: unknown[] = [declaration];
  const paths: string[] = [path];
  let properties = 0;
  while (schemas.length > 0) {
    const schema = schemas.pop();
    const at = paths.pop() as string;
    if (!isObject(schema)) {
      fail(at, `must be a JSON Schema object, got ${describe(schema)}`);
      continue;
    }
    // `type` is checked with every other declaration's (validate-declarations.ts).
    const { items, additionalProperties, required } = schema;
    if (schema.properties !== undefined) {
      if (!isObject(schema.properties)) {
        fail(`${at}.properties`, `must be an object if present, got ${describe(schema.properties)}`);
      } else {
        for (const key of Object.keys(schema.properties)) {
          if (++properties > maxProperties) {
            throw limitExceeded('maxDeclarationProperties', `${path} declares more than ${maxProperties} properties`);
          }
          schemas.push(schema.properties[key]);
          paths.push(`${at}.properties.${key}`);
        }
      }
    }
    if (items !== undefined) {
      schemas.push(items);
      paths.push(`${at}.items`);
    }
    if (additionalProperties !== undefined && typeof additionalProperties !== 'boolean') {
      schemas.push(additionalProperties);
      paths.push(`${at}.additionalProperties`);
    }
    if (required !== undefined && !(Array.isArray(required) && required.every((item) => typeof item === 'string'))) {
      fail(`${at}.required`, 'must be an array of property names if present');
    }
    if (schema.enum !== undefined && !Array.isArray(schema.enum)) fail(`${at}.enum`, `must be an array if present, got ${describe(schema.enum)}`);
  }
  return issues;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
