import type { IReport } from '@flowgram.ai/runtime-interface';
import type { FlowgramError } from '../errors.js';
import { REDACTED } from '../redact.js';
import type { DocumentNode, WorkflowDocument } from '../schema/document.js';
import type { WorkflowInputs, WorkflowOutputs } from '../schema/types.js';
import type { IterationCheckpoint, TaskEvent } from './types.js';

/** A node of the workflow's top level that succeeded: what the scheduler needs to go on after it. */
export interface NodeCheckpoint {
  readonly outputs: WorkflowOutputs;
  readonly branch: string | undefined;
}

/** What a waiting node continues with: a signal's data as its outputs, or the error it fails with (its wait timed out). */
export type WaitAnswer = { readonly outputs: WorkflowOutputs } | { readonly error: FlowgramError };

/**
 * Where a task stood when its earlier run ended (failed, cancelled, or its process died): the state a
 * resumed run starts from. Nodes inside loop bodies are not checkpoints of their own: a loop of the
 * top level resumes after its last finished iteration, a nested one from its outer iteration's start.
 */
export interface TaskCheckpoint {
  /** Top-level nodes that succeeded, by ID: they are not run again. */
  readonly nodes: ReadonlyMap<string, NodeCheckpoint>;
  /** Finished iterations of top-level loops that had not finished, from index 0 in order. */
  readonly iterations: ReadonlyMap<string, readonly IterationCheckpoint[]>;
  /** The earlier run's report: its snapshots and messages stay in the task's report. */
  readonly report: IReport;
  /**
   * Top-level nodes the earlier run left waiting for a signal (`wait` nodes), with the answer to
   * continue with, if one came: the others wait again (the continued task waits on them, running nothing).
   */
  readonly waits?: ReadonlyMap<string, WaitAnswer | undefined>;
  /**
   * Run this one top-level node and nothing else (`runNode`): every other node only passes its
   * checkpointed outputs on (if any), and nothing after it runs. `inputs` replace what its refs resolve to.
   */
  readonly only?: { readonly nodeID: string; readonly inputs?: WorkflowInputs };
}

/** The checkpoint of a task whose process died, from its journal (node_finished and loop_iteration events). */
export function checkpointFromEvents(document: WorkflowDocument, events: readonly TaskEvent[], report: IReport): TaskCheckpoint {
  const nodes = new Map<string, NodeCheckpoint>();
  const iterations = new Map<string, IterationCheckpoint[]>();
  const waits = new Map<string, undefined>();
  for (const event of events) {
    const nodeID = event.type === 'node_finished' || event.type === 'loop_iteration' || event.type === 'node_waiting' ? event.nodeID : undefined;
    if (!isTopLevel(document, nodeID)) continue;
    if (event.type === 'node_waiting') waits.set(event.nodeID, undefined);
    else if (event.type === 'node_finished') {
      waits.delete(event.nodeID);
      // A failure its onError policy handled is as final as a success: the workflow went on from it.
      if ((event.status !== 'succeeded' && event.errorHandled !== true) || event.outputs === undefined) continue;
      iterations.delete(event.nodeID);
      if (holdsRedacted(event.outputs)) nodes.delete(event.nodeID);
      else nodes.set(event.nodeID, { outputs: event.outputs, branch: event.branch });
    } else if (event.type === 'loop_iteration') {
      let done = iterations.get(event.nodeID);
      if (!done) iterations.set(event.nodeID, (done = []));
      // Only an unbroken run from index 0 is a state the loop can continue from: an iteration whose
      // outputs were masked ends it (that iteration and the later ones run again).
      if (event.index === done.length && !holdsRedacted(event.outputs)) done.push({ index: event.index, control: event.control, outputs: event.outputs });
    }
  }
  return waits.size > 0 ? { nodes, iterations, report, waits } : { nodes, iterations, report };
}

/**
 * The checkpoint of an ended or waiting task, from its report: each top-level node whose latest run
 * succeeded (or failed with the failure handled by its `onError` policy), and the nodes waiting for a signal.
 * `reuseMasked` keeps nodes whose outputs had a secret masked too (runNode: nothing else runs again,
 * and the other outputs of such a node are still what the node under test reads).
 */
export function checkpointFromReport(document: WorkflowDocument, report: IReport, reuseMasked = false): TaskCheckpoint {
  const nodes = new Map<string, NodeCheckpoint>();
  const iterations = new Map<string, IterationCheckpoint[]>();
  const waits = new Map<string, undefined>();
  for (const nodeID in report.reports) {
    const nodeReport = report.reports[nodeID];
    if (!isTopLevel(document, nodeID)) continue;
    const latest = nodeReport.snapshots[nodeReport.snapshots.length - 1] as
      | { outputs?: WorkflowOutputs; branch?: string; errorHandled?: boolean; waiting?: boolean; iterations?: unknown }
      | undefined;
    // A loop that failed or was cancelled continues after its finished iterations (an unbroken run from 0, none masked).
    if (!reuseMasked && nodeReport.status !== 'succeeded' && Array.isArray(latest?.iterations)) {
      const done: IterationCheckpoint[] = [];
      for (const iteration of latest.iterations as IterationCheckpoint[]) {
        if (iteration?.index !== done.length || holdsRedacted(iteration.outputs ?? {})) break;
        done.push(iteration);
      }
      if (done.length > 0) iterations.set(nodeID, done);
    }
    if (nodeReport.status === 'processing' && latest?.waiting === true) waits.set(nodeID, undefined);
    if (nodeReport.status !== 'succeeded' && !(nodeReport.status === 'failed' && latest?.errorHandled === true)) continue;
    if (latest?.outputs === undefined || (!reuseMasked && holdsRedacted(latest.outputs))) continue;
    nodes.set(nodeID, { outputs: latest.outputs, branch: latest.branch });
  }
  return waits.size > 0 ? { nodes, iterations, report, waits } : { nodes, iterations, report };
}

/** The checkpoint with an answer for one of the nodes it waits on. */
export function checkpointAnswering(checkpoint: TaskCheckpoint, nodeID: string, answer: WaitAnswer): TaskCheckpoint {
  const waits = new Map(checkpoint.waits);
  waits.set(nodeID, answer);
  return { ...checkpoint, waits };
}

/**
 * Whether stored outputs had a secret masked in them (a node that returned a value built from a key):
 * they are not what the node returned, so the node is no checkpoint and runs again (at-least-once),
 * instead of handing `[redacted]` to the nodes after it. Secrets are never stored to be reused.
 */
function holdsRedacted(outputs: WorkflowOutputs): boolean {
  return JSON.stringify(outputs).includes(REDACTED);
}

function isTopLevel(document: WorkflowDocument, nodeID: string | undefined): boolean {
  return nodeID !== undefined && document.nodes.get(nodeID)?.graph === document.graph;
}

/** The node of the workflow's top level that holds this one: itself, or the loop (of loops) whose body it is in. */
export function topLevelNode(document: WorkflowDocument, node: DocumentNode): DocumentNode {
  let current = node;
  while (current.graph !== document.graph && current.graph.ownerID !== undefined) {
    const owner = document.nodes.get(current.graph.ownerID);
    if (!owner) break;
    current = owner;
  }
  return current;
}

/**
 * The checkpoint of a re-run (a new task): the earlier run's outputs of every top-level node that is
 * not `from` or downstream of it, and only their part of the report (as the new task's, started now).
 * `from` inside a loop body re-runs that loop. `also` are further nodes to run again, alone (e.g. the start node).
 */
export function rerunCheckpoint(document: WorkflowDocument, report: IReport, from: DocumentNode, also: readonly DocumentNode[] = []): TaskCheckpoint {
  const again = new Set<string>();
  const stack = [topLevelNode(document, from)];
  while (stack.length > 0) {
    const node = stack.pop() as DocumentNode;
    if (again.has(node.id)) continue;
    again.add(node.id);
    for (const edge of node.out) stack.push(edge.target);
  }
  for (const node of also) again.add(node.id);
  const earlier = checkpointFromReport(document, report);
  const kept = checkpointWithout(earlier, again);
  const reports: IReport['reports'] = {};
  for (const nodeID in report.reports) {
    const node = document.nodes.get(nodeID);
    if (node && kept.nodes.has(topLevelNode(document, node).id)) reports[nodeID] = report.reports[nodeID];
  }
  const now = Date.now();
  const fresh = {
    ...report,
    outputs: {},
    workflowStatus: { status: 'processing', terminated: false, startTime: now, timeCost: 0 },
    reports,
    messages: { log: [], info: [], debug: [], error: [], warning: [] },
  } as unknown as IReport;
  return { nodes: kept.nodes, iterations: kept.iterations, report: fresh };
}

/** The checkpoint with these nodes taken out: they run again (e.g. the start node, given new inputs). */
export function checkpointWithout(checkpoint: TaskCheckpoint, nodeIDs: ReadonlySet<string>): TaskCheckpoint {
  const nodes = new Map([...checkpoint.nodes].filter(([nodeID]) => !nodeIDs.has(nodeID)));
  const iterations = new Map([...checkpoint.iterations].filter(([nodeID]) => !nodeIDs.has(nodeID)));
  return checkpoint.waits ? { nodes, iterations, report: checkpoint.report, waits: checkpoint.waits } : { nodes, iterations, report: checkpoint.report };
}

/** `runNode` of a loop with `inputs.loopFor`: the value its `loopFor` ref reads, as the referenced node's output. */
export function loopForCheckpoint(node: DocumentNode, loopFor: unknown): Map<string, NodeCheckpoint> {
  const nodes = new Map<string, NodeCheckpoint>();
  const ref = (node.data as { loopFor?: { type?: string; content?: unknown } }).loopFor;
  if (loopFor === undefined || ref?.type !== 'ref' || !Array.isArray(ref.content) || ref.content.length !== 2) return nodes;
  const [source, key] = ref.content as [string, string];
  nodes.set(source, { outputs: { [key]: loopFor }, branch: undefined });
  return nodes;
}
