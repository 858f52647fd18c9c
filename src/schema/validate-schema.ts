import { NodeTypes, PASSIVE_NODE_TYPES } from './types.js';

/** One problem found in a schema; `code` is stable, `path` locates it, `message` reads well alone. */
export interface SchemaIssue {
  code:
    | 'shape'
    | 'duplicate_node_id'
    | 'start_end'
    | 'block_start_end'
    | 'edge_missing_node'
    | 'cycle'
    | 'unknown_node_type'
    | 'declaration_type'
    | 'ref_missing_node'
    | 'ref_not_upstream'
    | 'ref_undeclared_key'
    | 'constant_type'
    | 'policy'
    | 'inputs';
  path: string;
  message: string;
}

/**
 * One graph level (the workflow, or a loop's body) as far as its shape allows: the nodes with a usable ID
 * and the well-formed edges. Later checks (refs) walk these instead of the raw schema.
 */
export interface GraphLayer {
  /** The loop node owning this block, or undefined for the workflow itself. */
  owner: Record<string, unknown> | undefined;
  /** Path of `owner`, or '' for the workflow itself. */
  ownerPath: string;
  nodesPath: string;
  nodes: Record<string, unknown>[];
  nodePaths: string[];
  edges: Record<string, unknown>[];
  edgePaths: string[];
  edgesPath: string;
  isRoot: boolean;
  /**
   * Whether the edges are all there and all join nodes of this layer: only then does "runs before" mean
   * anything. A bad `edges` value or a bad edge is reported once; checks that need the order skip the layer.
   */
  edgesSound: boolean;
}

/** What `readWorkflowGraph` could make of a schema: its layers, workflow first, each loop's body after its loop. */
export interface WorkflowGraph {
  layers: GraphLayer[];
  /** IDs used by more than one node (reported once each; refs naming them are ambiguous). */
  duplicateIDs: ReadonlySet<string>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * Checks a schema's shape and graph and returns every issue at once (never throws, whatever it is given).
 * `knownTypes`, when given, also flags nodes no executor can run.
 */
export function validateSchemaStructure(schema: unknown, knownTypes?: ReadonlySet<string>): SchemaIssue[] {
  return readWorkflowGraph(schema, knownTypes).issues;
}

/**
 * The structure check, with the graph it read: one problem never hides another (a bad `edges` value, a
 * duplicate ID or a malformed node is reported, and the rest is still read and checked).
 */
export function readWorkflowGraph(schema: unknown, knownTypes?: ReadonlySet<string>): { issues: SchemaIssue[]; graph: WorkflowGraph | undefined } {
  const issues: SchemaIssue[] = [];
  if (!isObject(schema)) {
    issues.push({ code: 'shape', path: 'schema', message: 'schema: must be an object with "nodes" and "edges"' });
    return { issues, graph: undefined };
  }
  const layers: GraphLayer[] = [];
  collectLayer(schema.nodes, schema.edges, 'nodes', 'edges', undefined, '', layers, issues);
  const seen = new Map<string, string>();
  const duplicateIDs = new Set<string>();
  for (const layer of layers) {
    layer.nodes.forEach((node, index) => {
      const path = layer.nodePaths[index];
      const id = node.id as string;
      const first = seen.get(id);
      if (first !== undefined) {
        issues.push({ code: 'duplicate_node_id', path: `${path}.id`, message: `${path}.id: duplicate node ID "${id}" (also at ${first})` });
        duplicateIDs.add(id);
      } else {
        seen.set(id, path);
      }
      const type = node.type;
      if (knownTypes && isNonEmptyString(type) && !knownTypes.has(type) && !PASSIVE_NODE_TYPES.has(type)) {
        issues.push({
          code: 'unknown_node_type',
          path: `${path}.type`,
          message: `${path}.type: node "${id}" has unknown type "${type}" (no executor registered)`,
        });
      }
    });
  }
  for (const layer of layers) {
    checkEntryAndExit(layer, issues);
    checkEdges(layer, issues);
    // Edges between duplicated IDs are ambiguous: the duplicate is the problem, not a cycle.
    if (layer.edgesSound && duplicateIDs.size === 0) checkCycles(layer, issues);
  }
  return { issues, graph: { layers, duplicateIDs } };
}

function collectLayer(
  nodes: unknown,
  edges: unknown,
  nodesPath: string,
  edgesPath: string,
  owner: Record<string, unknown> | undefined,
  ownerPath: string,
  layers: GraphLayer[],
  issues: SchemaIssue[],
): void {
  const isRoot = owner === undefined;
  if (!Array.isArray(nodes)) {
    issues.push({ code: 'shape', path: nodesPath, message: `${nodesPath}: must be an array` });
    return;
  }
  // A loop's bad `edges` is reported with its node's shape; the workflow's here. Either way its nodes are still read.
  let edgesSound = Array.isArray(edges) || (!isRoot && edges === undefined);
  if (isRoot && !Array.isArray(edges)) issues.push({ code: 'shape', path: edgesPath, message: `${edgesPath}: must be an array` });
  const layer: GraphLayer = { owner, ownerPath, nodesPath, nodes: [], nodePaths: [], edges: [], edgePaths: [], edgesPath, isRoot, edgesSound };
  const children: Array<{ node: Record<string, unknown>; path: string }> = [];
  nodes.forEach((node: unknown, index) => {
    const path = `${nodesPath}[${index}]`;
    if (!checkNodeShape(node, path, issues)) return;
    // A node is part of the graph by its ID, whatever else is wrong with it (so edges to it are no errors).
    if (isNonEmptyString(node.id)) {
      layer.nodes.push(node);
      layer.nodePaths.push(path);
    }
    if (Array.isArray(node.blocks)) children.push({ node, path });
  });
  (Array.isArray(edges) ? edges : []).forEach((edge: unknown, index) => {
    const path = `${edgesPath}[${index}]`;
    if (checkEdgeShape(edge, path, issues)) {
      layer.edges.push(edge);
      layer.edgePaths.push(path);
    } else {
      edgesSound = false;
    }
  });
  layer.edgesSound = edgesSound;
  layers.push(layer);
  for (const child of children) {
    collectLayer(child.node.blocks, child.node.edges, `${child.path}.blocks`, `${child.path}.edges`, child.node, child.path, layers, issues);
  }
}

/** Reports what is wrong with a node's shape; false when it is not even an object. */
function checkNodeShape(node: unknown, path: string, issues: SchemaIssue[]): node is Record<string, unknown> {
  if (!isObject(node)) {
    issues.push({ code: 'shape', path, message: `${path}: must be an object` });
    return false;
  }
  const fail = (field: string, what: string): void => {
    issues.push({ code: 'shape', path: `${path}.${field}`, message: `${path}.${field}: ${what}` });
  };
  if (!isNonEmptyString(node.id)) fail('id', 'must be a non-empty string');
  if (!isNonEmptyString(node.type)) fail('type', 'must be a non-empty string');
  if (node.meta !== undefined && !isObject(node.meta)) fail('meta', 'must be an object if present');
  if (node.data !== undefined && !isObject(node.data)) fail('data', 'must be an object if present');
  if (node.blocks !== undefined && !Array.isArray(node.blocks)) fail('blocks', 'must be an array if present');
  if (node.edges !== undefined && !Array.isArray(node.edges)) fail('edges', 'must be an array if present');
  if (isObject(node.data)) {
    for (const field of ['inputs', 'outputs', 'inputsValues'] as const) {
      const value = node.data[field];
      if (value !== undefined && !isObject(value)) fail(`data.${field}`, 'must be an object if present');
    }
    if (node.data.title !== undefined && typeof node.data.title !== 'string') fail('data.title', 'must be a string if present');
  }
  return true;
}

function checkEdgeShape(edge: unknown, path: string, issues: SchemaIssue[]): edge is Record<string, unknown> {
  if (!isObject(edge)) {
    issues.push({ code: 'shape', path, message: `${path}: must be an object` });
    return false;
  }
  let ok = true;
  for (const field of ['sourceNodeID', 'targetNodeID'] as const) {
    if (!isNonEmptyString(edge[field])) {
      issues.push({ code: 'shape', path: `${path}.${field}`, message: `${path}.${field}: must be a non-empty string` });
      ok = false;
    }
  }
  for (const field of ['sourcePortID', 'targetPortID'] as const) {
    const value = edge[field];
    if (value !== undefined && value !== null && typeof value !== 'string' && typeof value !== 'number') {
      issues.push({ code: 'shape', path: `${path}.${field}`, message: `${path}.${field}: must be a string if present` });
      ok = false;
    }
  }
  return ok;
}

function checkEntryAndExit(layer: GraphLayer, issues: SchemaIssue[]): void {
  const [entryType, exitType, where] = layer.isRoot
    ? [NodeTypes.Start, NodeTypes.End, 'workflow']
    : [NodeTypes.BlockStart, NodeTypes.BlockEnd, `block of ${layer.ownerPath}`];
  const code = layer.isRoot ? 'start_end' : 'block_start_end';
  const path = layer.nodesPath;
  for (const type of [entryType, exitType]) {
    const count = layer.nodes.filter((node) => node.type === type).length;
    const article = /^[aeiou]/.test(type) ? 'an' : 'a';
    if (count === 0) issues.push({ code, path, message: `${path}: the ${where} must have ${article} "${type}" node` });
    if (count > 1) issues.push({ code, path, message: `${path}: the ${where} must have exactly one "${type}" node, found ${count}` });
  }
}

function checkEdges(layer: GraphLayer, issues: SchemaIssue[]): void {
  const ids = new Set(layer.nodes.map((node) => node.id as string));
  layer.edges.forEach((edge, index) => {
    for (const [field, role] of [['sourceNodeID', 'source'], ['targetNodeID', 'target']] as const) {
      const id = edge[field] as string;
      if (!ids.has(id)) {
        const path = `${layer.edgePaths[index]}.${field}`;
        issues.push({ code: 'edge_missing_node', path, message: `${path}: edge ${role} node "${id}" does not exist` });
        layer.edgesSound = false;
      }
    }
  });
}

/** Kahn's algorithm: whatever cannot be ordered sits on or behind a cycle. */
function checkCycles(layer: GraphLayer, issues: SchemaIssue[]): void {
  const next = new Map<string, string[]>();
  const indegree = new Map<string, number>();
  for (const node of layer.nodes) {
    next.set(node.id as string, []);
    indegree.set(node.id as string, 0);
  }
  for (const edge of layer.edges) {
    next.get(edge.sourceNodeID as string)?.push(edge.targetNodeID as string);
    indegree.set(edge.targetNodeID as string, (indegree.get(edge.targetNodeID as string) ?? 0) + 1);
  }
  const queue = [...indegree].filter(([, degree]) => degree === 0).map(([id]) => id);
  let ordered = 0;
  while (queue.length > 0) {
    const id = queue.pop() as string;
    ordered++;
    for (const target of next.get(id) ?? []) {
      const degree = (indegree.get(target) ?? 0) - 1;
      indegree.set(target, degree);
      if (degree === 0) queue.push(target);
    }
  }
  if (ordered < layer.nodes.length) {
    const stuck = [...indegree].filter(([, degree]) => degree > 0).map(([id]) => `"${id}"`);
    issues.push({
      code: 'cycle',
      path: layer.edgesPath,
      message: `${layer.edgesPath}: the graph contains a cycle through ${stuck.join(', ')}; workflows must be acyclic (use a loop node to repeat)`,
    });
  }
}
