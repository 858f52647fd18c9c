import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';
import type { IJsonSchema } from './types.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the callable sits on `.default`.
const addFormats = ajvFormats.default as unknown as (ajv: Ajv) => Ajv;

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
  addFormats(ajv);
  return ajv;
}

/**
 * Compiled validators by schema text, at most `MAX_CACHED_VALIDATORS` per generation. Ajv keeps what it
 * compiled (its schema cache and code scope) for its whole life, whatever our cache forgets: so a full
 * generation is dropped together with its Ajv, and memory stays bounded however many declarations arrive.
 */
const MAX_CACHED_VALIDATORS = 256;
let ajv = newAjv();
let validators = new Map<string, ValidateFunction>();

type JsonSchema = Record<string, unknown>;

/**
 * Translates the editor's JSON Schema dialect (`map`, `date-time` as types, `extra`, editor-only keys)
 * into standard JSON Schema for ajv.
 */
export function toStandardJsonSchema(schema: IJsonSchema): JsonSchema {
  const out: JsonSchema = {};
  if (schema.$ref) return {}; // upstream accepts anything behind a $ref; so do we
  switch (schema.type) {
    case 'map':
      out.type = 'object';
      break;
    case 'date-time':
      out.type = 'string';
      out.format = 'date-time';
      break;
    case 'null':
      out.type = 'null';
      break;
    default:
      if (typeof schema.type === 'string') out.type = schema.type;
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) out.enum = schema.enum;
  if (Array.isArray(schema.required) && schema.required.length > 0) out.required = schema.required;
  const format = (schema as { format?: unknown }).format;
  if (typeof format === 'string' && out.type === 'string') out.format = format;
  if (schema.properties && typeof schema.properties === 'object') {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([key, value]) => [key, toStandardJsonSchema(value)]),
    );
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    out.additionalProperties = toStandardJsonSchema(schema.additionalProperties);
  }
  if (schema.items && typeof schema.items === 'object') out.items = toStandardJsonSchema(schema.items);
  return out;
}

/** Validators by declaration object: a schema compiled once is checked per task without re-translating it. */
const validatorsByDeclaration = new WeakMap<IJsonSchema, ValidateFunction | Error>();

function compile(schema: IJsonSchema): ValidateFunction | Error {
  let validator = validatorsByDeclaration.get(schema);
  if (!validator) {
    validator = compileUncached(schema);
    validatorsByDeclaration.set(schema, validator);
  }
  return validator;
}

function compileUncached(schema: IJsonSchema): ValidateFunction | Error {
  const standard = toStandardJsonSchema(schema);
  const key = JSON.stringify(standard);
  const cached = validators.get(key);
  if (cached) return cached;
  try {
    if (validators.size >= MAX_CACHED_VALIDATORS) {
      ajv = newAjv();
      validators = new Map();
    }
    const validator = ajv.compile(standard);
    validators.set(key, validator);
    return validator;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

function describe(error: ErrorObject, root: string): string {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (error.keyword === 'required') segments.push(String((error.params as { missingProperty: string }).missingProperty));
  const path = [root, ...segments].join('.');
  switch (error.keyword) {
    case 'required':
      return `${path}: is required`;
    case 'type':
      return `${path}: must be ${(error.params as { type: string }).type}`;
    case 'format':
      return `${path}: must be a valid ${(error.params as { format: string }).format} string`;
    case 'enum':
      return `${path}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${path}: ${error.message ?? 'is invalid'}`;
  }
}

/**
 * Checks task inputs against the start node's declared outputs (or any values against a declaration:
 * paths then start with `root`); returns one message per problem.
 */
export function validateInputs(declaration: IJsonSchema | undefined, inputs: unknown, root = 'inputs'): string[] {
  if (!declaration || typeof declaration !== 'object') return [];
  const validator = compile(declaration);
  if (validator instanceof Error) return [`nodes.start.data.outputs: not a usable JSON Schema (${validator.message})`];
  if (validator(inputs)) return [];
  // One message per problem: a value of the wrong type also fails its enum/format, which says nothing more.
  const messages: string[] = [];
  const paths = new Set<string>();
  for (const error of validator.errors ?? []) {
    const message = describe(error, root);
    const path = message.slice(0, message.indexOf(':'));
    if (paths.has(path)) continue;
    paths.add(path);
    messages.push(message);
  }
  return messages;
}
