import type { ValidationResult } from '@flowgram.ai/runtime-interface';
import { validateDeclarations } from './validate-declarations.js';
import { validatePolicies } from './validate-policies.js';
import { validateRefs } from './validate-refs.js';
import { readWorkflowGraph, type SchemaIssue } from './validate-schema.js';

/** `validate`'s answer: upstream's `{ valid, errors? }`, plus what works but looks wrong (never affects `valid`). */
export interface ValidationReport extends ValidationResult {
  warnings?: string[];
}

/**
 * Every check of a schema, in order: shape and graph, declared types, policies, then refs and constants;
 * all of them whatever the others found, one message per problem. `issues` make it invalid; `warnings` do not.
 */
export function checkSchema(schema: unknown, knownTypes: ReadonlySet<string>): { issues: SchemaIssue[]; warnings: SchemaIssue[] } {
  const { issues, graph } = readWorkflowGraph(schema, knownTypes);
  if (!graph) return { issues, warnings: [] };
  const record = schema as Record<string, unknown>;
  issues.push(...validateDeclarations(record));
  issues.push(...validatePolicies(record));
  const refs = validateRefs(record, graph);
  issues.push(...refs.errors);
  return { issues, warnings: refs.warnings };
}
