/** What the viewer shows of a run, derived from the workflow schema and the task's report. */
import type { Message, NodeReport, Report, SchemaEdge, SchemaNode, Snapshot, WorkflowSchema } from './types.js';

export type NodeState = 'pending' | 'processing' | 'waiting' | 'succeeded' | 'failed' | 'canceled' | 'skipped';

export interface FailureSummary {
  nodeID?: string;
  message: string;
}

/** Every node of the schema, blocks included, by ID. */
export function indexNodes(schema: WorkflowSchema): Map<string, SchemaNode> {
  const byID = new Map<string, SchemaNode>();
  const visit = (nodes: SchemaNode[] | undefined): void => {
    for (const node of nodes ?? []) {
      byID.set(String(node.id), node);
      if (Array.isArray(node.blocks)) visit(node.blocks);
    }
  };
  visit(Array.isArray(schema.nodes) ? schema.nodes : []);
  return byID;
}

export class RunModel {
  constructor(
    readonly schema: WorkflowSchema,
    readonly report: Report,
  ) {}

  get terminated(): boolean {
    return this.report.workflowStatus.terminated;
  }

  node(nodeID: string): NodeReport | undefined {
    return Object.prototype.hasOwnProperty.call(this.report.reports, nodeID) ? this.report.reports[nodeID] : undefined;
  }

  /** A node that never ran is pending while the run goes on and skipped once it has ended. */
  state(nodeID: string): NodeState {
    const node = this.node(nodeID);
    if (node) return !this.terminated && node.snapshots.at(-1)?.waiting === true ? 'waiting' : node.status;
    return this.terminated ? 'skipped' : 'pending';
  }

  /** Wait nodes waiting for an answer (the report says the run is processing; nothing runs). */
  waitingNodes(): string[] {
    if (this.terminated) return [];
    return Object.values(this.report.reports)
      .filter((node) => node.snapshots.at(-1)?.waiting === true)
      .map((node) => node.id);
  }

  /** The run's status as people read it: `waiting` while it waits for an answer. */
  workflowState(): NodeState {
    return this.waitingNodes().length > 0 ? 'waiting' : this.report.workflowStatus.status;
  }

  /** How long the node's latest run took, or has been running so far. */
  elapsed(nodeID: string, now: number): number | undefined {
    const node = this.node(nodeID);
    if (!node) return undefined;
    return node.terminated || node.endTime !== undefined ? node.timeCost : now - node.startTime;
  }

  workflowElapsed(now: number): number {
    const status = this.report.workflowStatus;
    if (!status.startTime) return 0;
    return status.terminated ? status.timeCost : now - status.startTime;
  }

  snapshotState(nodeID: string, index: number): NodeState {
    const node = this.node(nodeID);
    const snapshot = node?.snapshots[index];
    if (!node || !snapshot) return 'pending';
    if (snapshot.error !== undefined) return 'failed';
    if (snapshot.waiting === true && !this.terminated && index === node.snapshots.length - 1) return 'waiting';
    if (snapshot.outputs !== undefined) return 'succeeded';
    if (index === node.snapshots.length - 1 && node.status === 'processing') return 'processing';
    return node.status === 'canceled' || this.terminated ? 'canceled' : 'processing';
  }

  /** Every message, oldest first. */
  messages(): Message[] {
    const all = Object.values(this.report.messages ?? {}).flat();
    return all.sort((a, b) => a.timestamp - b.timestamp || a.id.localeCompare(b.id, undefined, { numeric: true }));
  }

  /** A node run's logs (console.log/print and errors), or the node's logs of any run. */
  logs(nodeID: string, snapshot?: Snapshot): Message[] {
    return this.messages().filter((message) => message.nodeID === nodeID && (!snapshot || !message.snapshotID || message.snapshotID === snapshot.id));
  }

  edgeState(edge: SchemaEdge): 'taken' | 'untaken' | 'pending' {
    const source = this.node(String(edge.sourceNodeID));
    const target = this.node(String(edge.targetNodeID));
    if (!source) return this.terminated ? 'untaken' : 'pending';
    const port = edge.sourcePortID === undefined || edge.sourcePortID === '' ? undefined : String(edge.sourcePortID);
    const branches = source.snapshots.map((snapshot) => snapshot.branch).filter((branch) => branch !== undefined);
    const portTaken = port === undefined || branches.length === 0 || branches.includes(port);
    if (target && portTaken) return 'taken';
    return this.terminated || source.terminated ? 'untaken' : 'pending';
  }

  /** Which node made the run fail and why: the earliest error a node logged. */
  failure(): FailureSummary | undefined {
    if (this.report.workflowStatus.status !== 'failed') return undefined;
    const errors = (this.report.messages?.error ?? []).slice().sort((a, b) => a.timestamp - b.timestamp);
    const fromNode = errors.find((message) => message.nodeID !== undefined);
    if (fromNode) return { nodeID: fromNode.nodeID, message: fromNode.message };
    const failed = Object.values(this.report.reports).find((node) => node.status === 'failed');
    const snapshotError = failed?.snapshots.find((snapshot) => snapshot.error !== undefined)?.error;
    if (failed) return { nodeID: failed.id, message: snapshotError ?? 'failed' };
    return { message: errors[0]?.message ?? 'The run failed.' };
  }
}
