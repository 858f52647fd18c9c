import type { IReport } from '@flowgram.ai/runtime-interface';
import type { DocumentNode } from '../schema/document.js';
import type { WorkflowInputs, WorkflowOutputs } from '../schema/types.js';
import type { MessageLevel, TaskEvent, TaskEventListener, WorkflowStatusName } from './types.js';
import { copyValue } from './value-types.js';

interface SnapshotRecord {
  id: string;
  nodeID: string;
  inputs: WorkflowInputs;
  outputs?: WorkflowOutputs;
  data: Record<string, unknown>;
  branch?: string;
  error?: string;
}

interface StatusRecord {
  status: WorkflowStatusName;
  startTime: number;
  endTime: number | undefined;
}

interface NodeRecord extends StatusRecord {
  node: DocumentNode;
  snapshots: SnapshotRecord[];
}

interface MessageRecord {
  id: string;
  type: MessageLevel;
  message: string;
  nodeID?: string;
  timestamp: number;
}

const TERMINAL: ReadonlySet<WorkflowStatusName> = new Set(['succeeded', 'failed', 'canceled']);
const MESSAGE_LEVELS: readonly MessageLevel[] = ['log', 'info', 'debug', 'error', 'warning'];

/**
 * Records what a task did, in the upstream report's terms (statuses, snapshots, messages), and fans
 * each change out as a `TaskEvent`. The report is built from these records on demand.
 */
export class TaskRecorder {
  readonly workflow: StatusRecord = { status: 'pending', startTime: 0, endTime: undefined };
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly messages: MessageRecord[] = [];
  private droppedMessages = 0;
  private snapshotSeq = 0;
  private messageSeq = 0;
  private listeners: TaskEventListener[] = [];
  private readonly eventLog: TaskEvent[] = [];
  private droppedEvents = 0;
  outputs: WorkflowOutputs = {};

  constructor(
    readonly taskID: string,
    readonly inputs: WorkflowInputs,
    private readonly maxMessages: number,
    private readonly maxEvents: number,
  ) {}

  get terminated(): boolean {
    return TERMINAL.has(this.workflow.status);
  }

  subscribe(listener: TaskEventListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((candidate) => candidate !== listener);
    };
  }

  /** Events so far, oldest first (capped; `droppedEvents` counts what the cap left out). */
  events(): { events: readonly TaskEvent[]; dropped: number } {
    return { events: this.eventLog, dropped: this.droppedEvents };
  }

  private emit(event: TaskEvent): void {
    if (this.eventLog.length < this.maxEvents) this.eventLog.push(event);
    else this.droppedEvents++;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A consumer's bug must not break the run it watches.
      }
    }
  }

  workflowStarted(): void {
    const now = Date.now();
    this.workflow.status = 'processing';
    this.workflow.startTime = now;
    this.emit({ type: 'workflow_started', taskID: this.taskID, time: now });
  }

  workflowFinished(
    status: 'succeeded' | 'failed' | 'canceled',
    error?: { code: string; message: string; nodeID?: string },
  ): boolean {
    if (this.terminated) return false;
    const now = Date.now();
    if (this.workflow.startTime === 0) this.workflow.startTime = now;
    this.workflow.status = status;
    this.workflow.endTime = now;
    // Nodes still running when the workflow ends will never report back in this task.
    for (const [nodeID, record] of this.nodes) {
      if (record.status === 'processing') this.finishNode(nodeID, 'canceled', undefined, error?.message ?? 'workflow ended');
    }
    const event: TaskEvent = {
      type: 'workflow_finished',
      taskID: this.taskID,
      status,
      time: now,
      timeCost: now - this.workflow.startTime,
      outputs: this.outputs,
    };
    if (error) event.error = error;
    this.emit(event);
    return true;
  }

  /** Starts a node execution; returns its snapshot, to be completed by `nodeSucceeded`/`nodeFailed`. */
  nodeStarted(node: DocumentNode): SnapshotRecord {
    const now = Date.now();
    let record = this.nodes.get(node.id);
    if (!record) {
      record = { node, status: 'processing', startTime: now, endTime: undefined, snapshots: [] };
      this.nodes.set(node.id, record);
    } else {
      record.status = 'processing';
      record.startTime = now;
      record.endTime = undefined;
    }
    const snapshot: SnapshotRecord = {
      id: `${this.taskID}:${++this.snapshotSeq}`,
      nodeID: node.id,
      inputs: {},
      data: node.snapshotData as Record<string, unknown>,
    };
    record.snapshots.push(snapshot);
    this.emit({ type: 'node_started', taskID: this.taskID, nodeID: node.id, nodeType: node.type, title: node.title, time: now });
    return snapshot;
  }

  nodeProgress(nodeID: string, snapshot: SnapshotRecord, data: Record<string, unknown>): void {
    // The node's configuration is shared by every run; progress goes into this snapshot's own copy.
    snapshot.data = { ...snapshot.data, ...copyValue(data) };
    this.emit({ type: 'node_progress', taskID: this.taskID, nodeID, data, time: Date.now() });
  }

  nodeSucceeded(node: DocumentNode, snapshot: SnapshotRecord, outputs: WorkflowOutputs, branch: string | undefined): void {
    snapshot.outputs = copyValue(outputs);
    if (branch !== undefined) snapshot.branch = branch;
    this.finishNode(node.id, 'succeeded', snapshot.outputs, undefined, branch);
  }

  nodeFailed(node: DocumentNode, snapshot: SnapshotRecord, message: string, status: 'failed' | 'canceled' = 'failed'): void {
    snapshot.error = message;
    if (status === 'failed') this.message('error', message, node.id);
    this.finishNode(node.id, status, undefined, message);
  }

  private finishNode(
    nodeID: string,
    status: 'succeeded' | 'failed' | 'canceled',
    outputs: WorkflowOutputs | undefined,
    error: string | undefined,
    branch?: string,
  ): void {
    const record = this.nodes.get(nodeID);
    if (!record || TERMINAL.has(record.status)) return;
    const now = Date.now();
    record.status = status;
    record.endTime = now;
    const event: TaskEvent = {
      type: 'node_finished',
      taskID: this.taskID,
      nodeID,
      nodeType: record.node.type,
      title: record.node.title,
      status,
      time: now,
      timeCost: now - record.startTime,
    };
    if (outputs !== undefined) event.outputs = outputs;
    if (branch !== undefined) event.branch = branch;
    if (error !== undefined) event.error = error;
    this.emit(event);
  }

  message(level: MessageLevel, message: string, nodeID?: string): void {
    const now = Date.now();
    if (this.messages.length < this.maxMessages) {
      const record: MessageRecord = { id: `${this.taskID}:m${++this.messageSeq}`, type: level, message, timestamp: now };
      if (nodeID !== undefined) record.nodeID = nodeID;
      this.messages.push(record);
    } else {
      this.droppedMessages++;
    }
    const event: TaskEvent = { type: 'message', taskID: this.taskID, level, message, time: now };
    if (nodeID !== undefined) event.nodeID = nodeID;
    this.emit(event);
  }

  /** The upstream `IReport`, as plain data that survives JSON and structured cloning. */
  report(): IReport {
    const now = Date.now();
    const reports: IReport['reports'] = {};
    for (const [nodeID, record] of this.nodes) {
      reports[nodeID] = {
        id: nodeID,
        ...exportStatus(record, now),
        // Upstream's TS type says `outputs` is always there; its zod schema and its runtime leave it out on failure.
        snapshots: record.snapshots.map((snapshot) => ({ ...snapshot })) as IReport['reports'][string]['snapshots'],
      };
    }
    const messages = Object.fromEntries(MESSAGE_LEVELS.map((level) => [level, [] as MessageRecord[]])) as Record<
      MessageLevel,
      MessageRecord[]
    >;
    for (const message of this.messages) messages[message.type].push({ ...message });
    if (this.droppedMessages > 0) {
      messages.warning.push({
        id: `${this.taskID}:dropped`,
        type: 'warning',
        message: `${this.droppedMessages} more messages were dropped (limit ${this.maxMessages})`,
        timestamp: now,
      });
    }
    return {
      id: this.taskID,
      inputs: this.inputs,
      outputs: this.outputs,
      workflowStatus: exportStatus(this.workflow, now),
      reports,
      messages: messages as unknown as IReport['messages'],
    } as IReport;
  }
}

function exportStatus(record: StatusRecord, now: number): IReport['workflowStatus'] {
  const terminated = TERMINAL.has(record.status);
  const status: IReport['workflowStatus'] = {
    status: record.status as IReport['workflowStatus']['status'],
    terminated,
    startTime: record.startTime,
    timeCost: record.startTime === 0 ? 0 : (record.endTime ?? now) - record.startTime,
  };
  if (record.endTime !== undefined) status.endTime = record.endTime;
  return status;
}
