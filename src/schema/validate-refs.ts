/**
 * Checks what a structurally valid schema's values point at, before anything runs: every `ref` (and
 * every `{{…}}` of a template) must name a node that exists and runs before the node reading it (inside
 * a loop: earlier body nodes, the loop's locals, or what runs before the loop), and constants must fit
 * their declared types. Refs to keys a node does not declare still work, so they are only warnings.
 */
import { isTypeCompatible, parseConstant, typeOfValue } from '../engine/value-types.js';
import { SECRETS_SCOPE } from '../secrets/references.js';
import type { GraphLayer, SchemaIssue, WorkflowGraph } from './validate-schema.js';
import { splitTemplate } from './template.js';
import { NodeTypes, type VariableType } from './types.js';

type Json = Record<string, unknown>;

interface Placed {
  id: string;
  type: string;
  data: Json;
  path: string;
  layer: Layer;
  /** The body of a loop node. */
  body: Layer | undefined;
}

interface Layer {
  owner: Placed | undefined;
  nodes: Placed[];
  /** False when the layer's edges are missing or broken (reported already): what runs before what is unknown. */
  edgesSound: boolean;
  /** Per node ID, the IDs of the nodes with an edge into it. */
  sources: Map<string, string[]>;
  /** Per node ID, the IDs its edges lead to. */
  targets: Map<string, string[]>;
  /** Per node ID, every node that runs before it in this layer (filled on first use). */
  before: Map<string, Set<string>>;
}

/** Where a value is read: a node of a layer, or the end of a loop body (a loop's `loopOutputs`). */
interface Reader {
  node: Placed;
  inBody: boolean;
}

const LOCAL_KEYS: ReadonlySet<string> = new Set(['item', 'index', 'key']);
const LOCALS_SUFFIX = '_locals';
/** Deeper `data` than this is not searched for refs (no stack overflow on hostile nesting). */
const MAX_DEPTH = 64;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The layers of the graph the structure check read, linked to their loops (a body's layer comes after its loop's). */
function place(graph: WorkflowGraph, byID: Map<string, Placed>): Layer | undefined {
  const placedOf = new Map<Record<string, unknown>, Placed>();
  let root: Layer | undefined;
  for (const read of graph.layers) {
    const owner = read.owner ? placedOf.get(read.owner) : undefined;
    // A body whose loop has no usable ID is never reached (its loop's ID is the problem, reported already).
    if (read.owner && !owner) continue;
    const layer = placeLayer(read, owner, byID, placedOf);
    if (owner) owner.body = layer;
    else root = layer;
  }
  return root;
}

function placeLayer(read: GraphLayer, owner: Placed | undefined, byID: Map<string, Placed>, placedOf: Map<Record<string, unknown>, Placed>): Layer {
  const layer: Layer = { owner, nodes: [], edgesSound: read.edgesSound, sources: new Map(), targets: new Map(), before: new Map() };
  read.nodes.forEach((node, index) => {
    const placed: Placed = {
      id: node.id as string,
      type: node.type as string,
      data: isObject(node.data) ? node.data : {},
      path: read.nodePaths[index],
      layer,
      body: undefined,
    };
    layer.nodes.push(placed);
    placedOf.set(node, placed);
    if (!byID.has(placed.id)) byID.set(placed.id, placed);
  });
  for (const edge of read.edges) {
    append(layer.sources, edge.targetNodeID as string, edge.sourceNodeID as string);
    append(layer.targets, edge.sourceNodeID as string, edge.targetNodeID as string);
  }
  return layer;
}

function append(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Nodes the layer's entry (start / block-start) leads to; the engine never runs the others. All of them when the edges are unknown. */
function reachable(layer: Layer): Set<string> {
  if (!layer.edgesSound) return new Set(layer.nodes.map((node) => node.id));
  const entryType = layer.owner ? NodeTypes.BlockStart : NodeTypes.Start;
  const entry = layer.nodes.find((node) => node.type === entryType);
  const found = new Set<string>();
  const stack = entry ? [entry.id] : [];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (found.has(id)) continue;
    found.add(id);
    stack.push(...(layer.targets.get(id) ?? []));
  }
  return found;
}

function runsBefore(layer: Layer, id: string): Set<string> {
  let found = layer.before.get(id);
  if (found) return found;
  found = new Set();
  const stack = [...(layer.sources.get(id) ?? [])];
  while (stack.length > 0) {
    const source = stack.pop() as string;
    if (found.has(source)) continue;
    found.add(source);
    stack.push(...(layer.sources.get(source) ?? []));
  }
  layer.before.set(id, found);
  return found;
}

/** The loops a reader sits in, innermost first (a loop's own `loopOutputs` sit in its body). */
function enclosingLoops(reader: Reader): Placed[] {
  const loops: Placed[] = reader.inBody ? [reader.node] : [];
  for (let owner = reader.node.layer.owner; owner; owner = owner.layer.owner) loops.push(owner);
  return loops;
}

/** Whether `target` has run (and its outputs are in scope) whenever `reader` reads. */
function isVisible(reader: Reader, target: Placed): boolean {
  if (reader.inBody && target.layer === reader.node.body) return true;
  for (let at: Placed | undefined = reader.node; at; at = at.layer.owner) {
    // Broken edges say nothing about the order: only what is wrong whatever they are is reported.
    if (target.layer === at.layer) return !at.layer.edgesSound || runsBefore(at.layer, at.id).has(target.id);
  }
  return false;
}

/** Output keys a node declares, or undefined when it declares none (then any key may come). */
function declaredOutputKeys(node: Placed): ReadonlySet<string> | undefined {
  const keys = new Set<string>();
  const outputs = node.data.outputs;
  if (isObject(outputs) && isObject(outputs.properties)) for (const key of Object.keys(outputs.properties)) keys.add(key);
  if (node.type === NodeTypes.Loop && isObject(node.data.loopOutputs)) for (const key of Object.keys(node.data.loopOutputs)) keys.add(key);
  return keys.size === 0 ? undefined : keys;
}

class RefChecker {
  readonly errors: SchemaIssue[] = [];
  readonly warnings: SchemaIssue[] = [];
  private readonly globals: ReadonlySet<string> | undefined;

  constructor(
    private readonly byID: Map<string, Placed>,
    private readonly duplicateIDs: ReadonlySet<string>,
    globalVariable: unknown,
  ) {
    const properties = isObject(globalVariable) && isObject(globalVariable.properties) ? globalVariable.properties : undefined;
    this.globals = properties ? new Set(Object.keys(properties)) : undefined;
  }

  private error(code: SchemaIssue['code'], path: string, message: string): void {
    this.errors.push({ code, path, message: `${path}: ${message}` });
  }

  private warn(code: SchemaIssue['code'], path: string, message: string): void {
    this.warnings.push({ code, path, message: `${path}: ${message}` });
  }

  checkRef(reader: Reader, content: unknown, path: string): void {
    if (!Array.isArray(content) || content.length < 2 || typeof content[0] !== 'string' || typeof content[1] !== 'string') return;
    const [nodeID, key] = content as [string, string];
    const shown = content.join('.');
    if (nodeID === 'global') {
      if (!this.globals?.has(key)) this.warn('ref_undeclared_key', path, `ref "${shown}": the workflow declares no global variable "${key}"`);
      return;
    }
    // Secret names are checked against the secret store when the task is validated or starts (src/secrets).
    if (nodeID === SECRETS_SCOPE && !this.byID.has(nodeID)) return;
    // Which of two nodes with one ID a ref means cannot be told; the duplicate ID is the problem, reported already.
    if (this.duplicateIDs.has(nodeID) || (nodeID.endsWith(LOCALS_SUFFIX) && this.duplicateIDs.has(nodeID.slice(0, -LOCALS_SUFFIX.length)))) return;
    if (nodeID.endsWith(LOCALS_SUFFIX) && !this.byID.has(nodeID)) {
      const loopID = nodeID.slice(0, -LOCALS_SUFFIX.length);
      const loop = this.byID.get(loopID);
      if (!loop || loop.body === undefined) {
        this.error('ref_missing_node', path, `ref "${shown}": there is no loop "${loopID}"`);
      } else if (!enclosingLoops(reader).includes(loop)) {
        this.error('ref_not_upstream', path, `ref "${shown}": the locals of loop "${loopID}" exist only inside its body`);
      } else if (!LOCAL_KEYS.has(key)) {
        this.warn('ref_undeclared_key', path, `ref "${shown}": loop locals are "item", "index" and "key"`);
      }
      return;
    }
    const target = this.byID.get(nodeID);
    if (!target) {
      this.error('ref_missing_node', path, `ref "${shown}": node "${nodeID}" does not exist`);
      return;
    }
    if (!isVisible(reader, target)) {
      const where = reader.inBody ? `the body of "${reader.node.id}"` : `"${reader.node.id}"`;
      this.error('ref_not_upstream', path, `ref "${shown}": node "${nodeID}" does not run before ${where}, so it never has a value there`);
      return;
    }
    const declared = declaredOutputKeys(target);
    if (declared && !declared.has(key)) {
      this.warn('ref_undeclared_key', path, `ref "${shown}": node "${nodeID}" declares no output "${key}" (it resolves only if the node outputs it anyway)`);
    }
  }

  /** Every ref and template inside a node's `data` (declarations excepted), with its path. */
  walk(reader: Reader, value: unknown, path: string, depth: number): void {
    if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      value.forEach((item, index) => this.walk(reader, item, `${path}[${index}]`, depth + 1));
      return;
    }
    const flow = value as Json;
    if (flow.type === 'ref') return this.checkRef(reader, flow.content, path);
    if (flow.type === 'template' && typeof flow.content === 'string') {
      const parts = splitTemplate(flow.content);
      for (let i = 1; i < parts.length; i += 2) this.checkRef(reader, parts[i], path);
      return;
    }
    for (const [key, item] of Object.entries(flow)) this.walk(reader, item, `${path}.${key}`, depth + 1);
  }

  /** Constants in `<name>Values` that cannot fill the type `<name>` declares for them (`123` into a string). */
  checkConstants(holder: Json, path: string): void {
    for (const [field, values] of Object.entries(holder)) {
      if (!field.endsWith('Values') || !isObject(values)) continue;
      const declaration = holder[field.slice(0, -'Values'.length)];
      const properties = isObject(declaration) && isObject(declaration.properties) ? declaration.properties : undefined;
      if (!properties) continue;
      for (const [key, value] of Object.entries(values)) {
        const property = properties[key];
        if (!isObject(value) || value.type !== 'constant' || !isObject(property) || typeof property.type !== 'string') continue;
        if (value.content === null || value.content === undefined) continue;
        const declared = property.type as VariableType;
        const actual = typeOfValue(parseConstant(value.content, declared));
        if (actual !== undefined && !isTypeCompatible(declared, actual)) {
          const here = `${path}.${field}.${key}`;
          this.error('constant_type', here, `constant ${JSON.stringify(value.content)} is ${actual === 'integer' || actual === 'array' || actual === 'object' ? 'an' : 'a'} ${actual}, but "${key}" is declared ${declared}`);
        }
      }
    }
  }
}

/**
 * Ref and constant checks over the graph `readWorkflowGraph` read, whatever else is wrong with the schema:
 * where its edges are broken, only what is wrong whatever they are (a ref to a node that does not exist,
 * a constant of the wrong type) is reported. Errors make it invalid; warnings do not.
 */
export function validateRefs(schema: Json, graph: WorkflowGraph): { errors: SchemaIssue[]; warnings: SchemaIssue[] } {
  const byID = new Map<string, Placed>();
  const root = place(graph, byID);
  const checker = new RefChecker(byID, graph.duplicateIDs, schema.globalVariable);
  const visit = (layer: Layer): void => {
    const runs = reachable(layer);
    for (const node of layer.nodes) {
      // A node its graph never reaches never reads anything.
      if (!runs.has(node.id)) continue;
      for (const [field, value] of Object.entries(node.data)) {
        if (field === 'inputs' || field === 'outputs') continue;
        checker.walk({ node, inBody: field === 'loopOutputs' && node.body !== undefined }, value, `${node.path}.data.${field}`, 0);
      }
      checker.checkConstants(node.data, `${node.path}.data`);
      if (isObject(node.data.body)) checker.checkConstants(node.data.body, `${node.path}.data.body`);
      if (node.body) visit(node.body);
    }
  };
  if (root) visit(root);
  return { errors: checker.errors, warnings: checker.warnings };
}
