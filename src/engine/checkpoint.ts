import type { IReport } from '@flowgram.ai/runtime-interface';
import type { WorkflowDocument } from '../schema/document.js';
import type { WorkflowOutputs } from '../schema/types.js';
import type { IterationCheckpoint, TaskEvent } from './types.js';

/** A node of the workflow's top level that succeeded: what the scheduler needs to go on after it. */
export interface NodeCheckpoint {
  readonly outputs: WorkflowOutputs;
  readonly branch: string | undefined;
}

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
}

/** The checkpoint of a task whose process died, from its journal (node_finished and loop_iteration events). */
export function checkpointFromEvents(document: WorkflowDocument, events: readonly TaskEvent[], report: IReport): TaskCheckpoint {
  const nodes = new Map<string, NodeCheckpoint>();
  const iterations = new Map<string, IterationCheckpoint[]>();
  for (const event of events) {
    if (!isTopLevel(document, event.type === 'node_finished' || event.type === 'loop_iteration' ? event.nodeID : undefined)) continue;
    if (event.type === 'node_finished') {
      if (event.status !== 'succeeded' || event.outputs === undefined) continue;
      nodes.set(event.nodeID, { outputs: event.outputs, branch: event.branch });
      iterations.delete(event.nodeID);
    } else if (event.type === 'loop_iteration') {
      let done = iterations.get(event.nodeID);
      if (!done) iterations.set(event.nodeID, (done = []));
      // Only an unbroken run from index 0 is a state the loop can continue from.
      if (event.index === done.length) done.push({ index: event.index, control: event.control, outputs: event.outputs });
    }
  }
  return { nodes, iterations, report };
}

/** The checkpoint of an ended task, from its report: each top-level node whose latest run succeeded. */
export function checkpointFromReport(document: WorkflowDocument, report: IReport): TaskCheckpoint {
  const nodes = new Map<string, NodeCheckpoint>();
  for (const nodeID in report.reports) {
    const nodeReport = report.reports[nodeID];
    if (!isTopLevel(document, nodeID) || nodeReport.status !== 'succeeded') continue;
    const latest = nodeReport.snapshots[nodeReport.snapshots.length - 1] as { outputs?: WorkflowOutputs; branch?: string } | undefined;
    if (latest?.outputs === undefined) continue;
    nodes.set(nodeID, { outputs: latest.outputs, branch: latest.branch });
  }
  return { nodes, iterations: new Map(), report };
}

function isTopLevel(document: WorkflowDocument, nodeID: string | undefined): boolean {
  return nodeID !== undefined && document.nodes.get(nodeID)?.graph === document.graph;
}

/** The checkpoint with these nodes taken out: they run again (e.g. the start node, given new inputs). */
export function checkpointWithout(checkpoint: TaskCheckpoint, nodeIDs: ReadonlySet<string>): TaskCheckpoint {
  const nodes = new Map([...checkpoint.nodes].filter(([nodeID]) => !nodeIDs.has(nodeID)));
  const iterations = new Map([...checkpoint.iterations].filter(([nodeID]) => !nodeIDs.has(nodeID)));
  return { nodes, iterations, report: checkpoint.report };
}
