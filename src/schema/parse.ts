import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import type { WorkflowSchema } from './types.js';

/**
 * Accepts a schema as an object or a JSON string and returns it as an object. Only the outer form is
 * checked here; `validateSchema` checks the shape. The caller's object is never mutated by the runtime.
 */
export function parseSchemaInput(input: unknown): WorkflowSchema {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new FlowgramError(ErrorCodes.SCHEMA_PARSE, `schema: ${errorMessage(error)}`, { cause: error });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
    throw new FlowgramError(ErrorCodes.SCHEMA_PARSE, `schema: must be an object with "nodes" and "edges", got ${kind}`);
  }
  return value as WorkflowSchema;
}

/** Accepts task inputs as an object, a JSON string, or nothing. */
export function parseInputsInput(input: unknown): Record<string, unknown> {
  let value = input;
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new FlowgramError(ErrorCodes.INPUTS_INVALID, `inputs: ${errorMessage(error)}`, { cause: error });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FlowgramError(ErrorCodes.INPUTS_INVALID, 'inputs: must be an object');
  }
  return value as Record<string, unknown>;
}
