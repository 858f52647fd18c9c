import { nodePolicyOf, type NodePolicy } from '../engine/node-policy.js';
import {
  DEFAULT_OUTPUT_PORT,
  NodeTypes,
  type IFlowValue,
  type IJsonSchema,
  type WorkflowEdgeSchema,
  type WorkflowNodeSchema,
  type WorkflowSchema,
} from './types.js';

/** An edge leaving a node, resolved to its target. */
export interface OutEdge {
  readonly port: string;
  readonly target: DocumentNode;
}

/** A node of the validated, immutable graph the engine runs. */
export interface DocumentNode {
  readonly id: string;
  readonly type: string;
  readonly title: string;
  /** The node's `data` as the editor wrote it (never mutated). */
  readonly data: Readonly<Record<string, unknown>>;
  /** `data` without title and the inputs/outputs declarations: what upstream puts in snapshots. */
  readonly snapshotData: Readonly<Record<string, unknown>>;
  readonly inputs: IJsonSchema | undefined;
  readonly inputsValues: Readonly<Record<string, IFlowValue>> | undefined;
  readonly outputs: IJsonSchema | undefined;
  /** The graph this node belongs to. */
  readonly graph: BlockGraph;
  /** Position in `graph.nodes`; lets the scheduler keep per-run state in flat arrays. */
  readonly index: number;
  readonly out: readonly OutEdge[];
  /** Output port IDs in order of first appearance. */
  readonly ports: readonly string[];
  /** Incoming edges from nodes reachable from the graph's entry. */
  readonly inDegree: number;
  /** The sub-graph of a loop (or any node with `blocks`). */
  readonly block: BlockGraph | undefined;
  /** Where its loop locals live for refs: `<id>_locals`. */
  readonly localsID: string;
  /** Its `retry` / `timeoutMs` / `onError` policies; undefined for most nodes (the engine's fast path). */
  readonly policy: NodePolicy | undefined;
}

/** The workflow itself, or the body of a loop. */
export interface BlockGraph {
  /** The loop node that owns this block; undefined for the workflow. */
  readonly ownerID: string | undefined;
  readonly nodes: readonly DocumentNode[];
  /** `start` for the workflow, `block-start` for a block. */
  readonly entry: DocumentNode | undefined;
}

export interface WorkflowDocument {
  readonly schema: WorkflowSchema;
  readonly graph: BlockGraph;
  readonly nodes: ReadonlyMap<string, DocumentNode>;
  readonly start: DocumentNode | undefined;
  readonly end: DocumentNode | undefined;
  readonly globalVariable: IJsonSchema | undefined;
}

interface MutableNode {
  id: string;
  type: string;
  title: string;
  data: Record<string, unknown>;
  snapshotData: Record<string, unknown>;
  inputs: IJsonSchema | undefined;
  inputsValues: Record<string, IFlowValue> | undefined;
  outputs: IJsonSchema | undefined;
  graph: BlockGraph;
  index: number;
  out: OutEdge[];
  ports: string[];
  inDegree: number;
  block: BlockGraph | undefined;
  localsID: string;
  policy: NodePolicy | undefined;
}

/** Builds the runnable graph from a schema that passed `validateSchemaStructure`. */
export function buildDocument(schema: WorkflowSchema): WorkflowDocument {
  const all = new Map<string, DocumentNode>();
  const graph = buildGraph(schema.nodes, schema.edges ?? [], undefined, NodeTypes.Start, all);
  return {
    schema,
    graph,
    nodes: all,
    start: graph.entry,
    end: graph.nodes.find((node) => node.type === NodeTypes.End),
    globalVariable: schema.globalVariable,
  };
}

function buildGraph(
  nodeSchemas: readonly WorkflowNodeSchema[],
  edgeSchemas: readonly WorkflowEdgeSchema[],
  ownerID: string | undefined,
  entryType: string,
  all: Map<string, DocumentNode>,
): BlockGraph {
  const nodes: MutableNode[] = [];
  const graph = { ownerID, nodes, entry: undefined as DocumentNode | undefined };
  const byID = new Map<string, MutableNode>();
  for (const schema of nodeSchemas) {
    const data = (schema.data ?? {}) as Record<string, unknown>;
    const { title, inputs, outputs, inputsValues, ...snapshotData } = data;
    const node: MutableNode = {
      id: schema.id,
      type: schema.type,
      title: typeof title === 'string' && title !== '' ? title : schema.id,
      data,
      snapshotData,
      inputs: inputs as IJsonSchema | undefined,
      inputsValues: inputsValues as Record<string, IFlowValue> | undefined,
      outputs: outputs as IJsonSchema | undefined,
      graph,
      index: nodes.length,
      out: [],
      ports: [],
      inDegree: 0,
      block: undefined,
      localsID: `${schema.id}_locals`,
      policy: nodePolicyOf(data),
    };
    nodes.push(node);
    byID.set(node.id, node);
    all.set(node.id, node);
  }
  for (const schema of nodeSchemas) {
    if (Array.isArray(schema.blocks)) {
      const node = byID.get(schema.id) as MutableNode;
      node.block = buildGraph(schema.blocks, schema.edges ?? [], schema.id, NodeTypes.BlockStart, all);
    }
  }
  for (const edge of edgeSchemas) {
    const source = byID.get(edge.sourceNodeID);
    const target = byID.get(edge.targetNodeID);
    if (!source || !target) continue; // validation reports these; the document just leaves them out
    const port = edge.sourcePortID === undefined || edge.sourcePortID === null || edge.sourcePortID === ''
      ? DEFAULT_OUTPUT_PORT
      : String(edge.sourcePortID);
    source.out.push({ port, target });
    if (!source.ports.includes(port)) source.ports.push(port);
  }
  const entry = nodes.find((node) => node.type === entryType);
  graph.entry = entry;
  // Only edges from nodes the entry can reach count towards a join: an orphan never runs, so waiting
  // for it would stall the join forever.
  if (entry) {
    const reachable = new Set<MutableNode>([entry]);
    const stack: MutableNode[] = [entry];
    while (stack.length > 0) {
      const node = stack.pop() as MutableNode;
      for (const edge of node.out) {
        const target = edge.target as MutableNode;
        target.inDegree++;
        if (!reachable.has(target)) {
          reachable.add(target);
          stack.push(target);
        }
      }
    }
  }
  return graph;
}
