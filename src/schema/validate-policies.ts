/**
 * Checks the per-node policies (`retry`, `timeoutMs`, `onError`, see engine/node-policy.ts) of every node
 * at every depth, and where `wait` nodes stand: one problem per message, each with its path.
 */
import { ERROR_PORT, policyIssues } from '../engine/node-policy.js';
import type { SchemaIssue } from './validate-schema.js';
import { validateInputs } from './validate-inputs.js';
import type { IJsonSchema } from './types.js';

type Json = Record<string, unknown>;

/** The node type that pauses a task until it is signalled (nodes/wait.ts). */
export const WAIT_NODE_TYPE = 'wait';

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function checkLayer(nodes: unknown, edges: unknown, path: string, topLevel: boolean, issues: SchemaIssue[]): void {
  if (!Array.isArray(nodes)) return;
  const errorSources = new Set<unknown>();
  if (Array.isArray(edges)) for (const edge of edges) if (isObject(edge) && edge.sourcePortID === ERROR_PORT) errorSources.add(edge.sourceNodeID);
  // Edges that are not an array are reported by the structure check; whether an error edge exists is unknown.
  const edgesKnown = Array.isArray(edges) || (!topLevel && edges === undefined);
  nodes.forEach((node: unknown, index) => {
    if (!isObject(node)) return;
    const nodePath = `${path}[${index}]`;
    if (node.type === WAIT_NODE_TYPE && !topLevel) {
      issues.push({ code: 'policy', path: `${nodePath}.type`, message: `${nodePath}.type: a "wait" node must be on the workflow's top level, not inside a loop` });
    }
    if (isObject(node.data)) {
      const outputs = isObject(node.data.outputs) ? (node.data.outputs as unknown as IJsonSchema) : undefined;
      const found = policyIssues({ data: node.data, outputs, hasErrorEdge: !edgesKnown || errorSources.has(node.id) }, `${nodePath}.data`, validateInputs);
      for (const issue of found) issues.push({ code: 'policy', ...issue });
    }
    checkLayer(node.blocks, node.edges, `${nodePath}.blocks`, false, issues);
  });
}

export function validatePolicies(schema: Json): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  checkLayer(schema.nodes, schema.edges, 'nodes', true, issues);
  return issues;
}
