/** The API's answers as the console reads them (a subset of the server's wire types). */

/** A task's status in the history; `waiting` (for an answer to a wait node) is `processing` in a report. */
export type TaskStatus = 'pending' | 'processing' | 'waiting' | 'succeeded' | 'failed' | 'canceled';
export const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'processing', 'waiting', 'succeeded', 'failed', 'canceled'];

export interface TaskSummary {
  id: string;
  status: TaskStatus;
  title: string;
  startTime: number;
  endTime?: number;
  timeCost: number;
  error?: string;
}

export interface TaskListing {
  tasks: TaskSummary[];
  total: number;
  /** Per status (a server without wait nodes has no `waiting`). */
  counts: Partial<Record<TaskStatus, number>>;
}

export interface StatusInfo {
  status: Exclude<TaskStatus, 'waiting'>;
  terminated: boolean;
  startTime: number;
  endTime?: number;
  timeCost: number;
}

export interface Snapshot {
  id: string;
  nodeID: string;
  inputs?: unknown;
  outputs?: unknown;
  data?: Record<string, unknown>;
  branch?: string;
  error?: string;
  /** Which attempt of a node with a retry policy this run was (1, 2, …). */
  attempt?: number;
  /** The node failed and its `onError` policy carried on (default outputs or the error port). */
  errorHandled?: boolean;
  /** A wait node waiting for its answer, until `deadline` (epoch ms) if it has a timeout. */
  waiting?: boolean;
  deadline?: number;
}

export interface NodeReport extends StatusInfo {
  id: string;
  snapshots: Snapshot[];
}

export interface Message {
  id: string;
  type: 'log' | 'info' | 'debug' | 'error' | 'warning';
  message: string;
  nodeID?: string;
  snapshotID?: string;
  timestamp: number;
}

export interface Report {
  id: string;
  /** The task this one re-ran from a node. */
  rerunOf?: string;
  inputs: unknown;
  outputs: unknown;
  workflowStatus: StatusInfo;
  reports: Record<string, NodeReport>;
  messages: Record<Message['type'], Message[]>;
}

/** A JSON Schema, as far as the start form reads one. */
export interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  default?: unknown;
  description?: string;
  format?: string;
  enum?: unknown[];
}

export interface SchemaNode {
  id: string;
  type: string;
  meta?: { position?: { x?: unknown; y?: unknown } };
  data?: { title?: unknown; outputs?: JsonSchema; [key: string]: unknown };
  blocks?: SchemaNode[];
  edges?: SchemaEdge[];
}

export interface SchemaEdge {
  sourceNodeID: string;
  targetNodeID: string;
  sourcePortID?: string | number;
  targetPortID?: string | number;
}

export interface WorkflowSchema {
  nodes: SchemaNode[];
  edges?: SchemaEdge[];
  [key: string]: unknown;
}

export interface TaskEvent {
  type: string;
  taskID: string;
  time: number;
  [key: string]: unknown;
}
