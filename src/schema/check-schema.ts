import type { ValidationResult } from '@flowgram.ai/runtime-interface';
import { validateDeclarations } from './validate-declarations.js';
import { validatePolicies } from './validate-policies.js';
import { validateRefs } from './validate-refs.js';
import { validateSchemaStructure, type SchemaIssue } from './validate-schema.js';

/** `validate`'s answer: upstream's `{ valid, errors? }`, plus what works but looks wrong (never affects `valid`). */
export interface ValidationReport extends ValidationResult {
  warnings?: string[];
}

/**
 * Every check of a schema, in order: shape and graph, declared types, then (on a sound graph) refs and
 * constants. `issues` make it invalid; `warnings` do not.
 */
export function checkSchema(schema: unknown, knownTypes: ReadonlySet<string>): { issues: SchemaIssue[]; warnings: SchemaIssue[] } {
  const issues = validateSchemaStructure(schema, knownTypes);
  const record = schema as Record<string, unknown>;
  if (typeof schema !== 'object' || schema === null) return { issues, warnings: [] };
  issues.push(...validateDeclarations(record));
  issues.push(...validatePolicies(record));
  // Refs are resolved against the graph, which is only well defined once IDs are unique and edges sound.
  if (issues.some((issue) => issue.code !== 'declaration_type' && issue.code !== 'unknown_node_type' && issue.code !== 'policy')) return { issues, warnings: [] };
  const refs = validateRefs(record);
  issues.push(...refs.errors);
  return { issues, warnings: refs.warnings };
}
