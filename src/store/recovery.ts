import type { IReport } from '@flowgram.ai/runtime-interface';
import type { MessageLevel, TaskEvent, WorkflowStatusName } from '../engine/types.js';
import { ErrorCodes } from '../errors.js';
import type { StoredTaskError, TaskRecord, TaskStore } from './types.js';

/** The error of a task that was running when its process died. */
export const INTERRUPTED_MESSAGE = 'interrupted: the runtime stopped while this task was running';
export const INTERRUPTED_ERROR: StoredTaskError = { code: ErrorCodes.TASK_INTERRUPTED, message: INTERRUPTED_MESSAGE };

/**
 * Whether an interrupted task continues from its checkpoints: unless its schema's root says
 * `"resumable": false` (at-most-once: it fails as interrupted instead). Nodes that finished are not
 * run again; a node that was running when the process died runs again (at-least-once per node).
 */
export function isResumable(schema: string): boolean {
  try {
    const parsed = JSON.parse(schema) as { resumable?: unknown } | null;
    return parsed?.resumable !== false;
  } catch {
    return false;
  }
}

type NodeReports = IReport['reports'];
interface JournalMessage {
  id: string;
  type: MessageLevel;
  message: string;
  timestamp: number;
}
type NodeReport = NodeReports[string];
type Snapshot = NodeReport['snapshots'][number];

/**
 * What a task whose runtime died left to continue from: its journal, or, when it has none, the report
 * it was stored with. A waiting task has only its report (writing it dropped the journal); claimed by a
 * signal, it stays so until the continued run's first write, which holds its row and whole journal.
 */
export type LeftBehind = { events: TaskEvent[] } | { report: IReport };

export async function leftBehind(store: TaskStore, taskID: string): Promise<LeftBehind> {
  const events = await store.getEvents(taskID);
  if (events.length > 0) return { events };
  const report = await store.getReport(taskID);
  return report ? { report } : { events };
}

/** The report of an interrupted task, rebuilt from its journal (see `journalReport`) or its stored report, failed as interrupted. */
export function interruptedReport(record: TaskRecord, left: LeftBehind, now: number): IReport {
  const message: JournalMessage = { id: `${record.id}:interrupted`, type: 'error', message: INTERRUPTED_MESSAGE, timestamp: now };
  if ('events' in left) return journalReport(record, left.events, now, message);
  const report = structuredClone(left.report);
  for (const nodeReport of Object.values(report.reports)) {
    if (nodeReport.terminated) continue;
    finishNode(nodeReport, 'canceled', now);
    const snapshot = lastSnapshot(nodeReport) as (Snapshot & { waiting?: boolean }) | undefined;
    if (snapshot) {
      delete snapshot.waiting;
      snapshot.error = INTERRUPTED_MESSAGE;
    }
  }
  const { startTime } = report.workflowStatus;
  Object.assign(report.workflowStatus, { status: 'failed', terminated: true, endTime: now, timeCost: now - startTime });
  (report.messages.error as JournalMessage[]).push(message);
  return report;
}

/** The warning a task resumed after its process died carries in its report. */
export const RESUMED_MESSAGE = 'resumed from checkpoints: the runtime stopped while this task was running';

/**
 * The report of a task whose process died, rebuilt from its journal: every node status and snapshot
 * recorded before the process died; nodes that were still running are marked canceled.
 */
export function journalReport(record: Pick<TaskRecord, 'id' | 'inputs' | 'startTime' | 'createdAt'>, events: readonly TaskEvent[], now: number, message: JournalMessage): IReport {
  const reports: NodeReports = {};
  let snapshotSeq = 0;
  for (const event of events) {
    if (event.type === 'node_started') {
      const report = (reports[event.nodeID] ??= { id: event.nodeID, status: 'processing', terminated: false, startTime: event.time, timeCost: 0, snapshots: [] } as NodeReport);
      Object.assign(report, { status: 'processing', terminated: false, startTime: event.time, timeCost: 0 });
      delete report.endTime;
      report.snapshots.push({ id: `${record.id}:${++snapshotSeq}`, nodeID: event.nodeID, inputs: {}, data: {} } as unknown as Snapshot);
    } else if (event.type === 'node_waiting') {
      const snapshot = lastSnapshot(reports[event.nodeID]) as (Snapshot & { waiting?: boolean; deadline?: number }) | undefined;
      if (snapshot) {
        snapshot.waiting = true;
        if (event.deadline !== undefined) snapshot.deadline = event.deadline;
      }
    } else if (event.type === 'node_progress') {
      const snapshot = lastSnapshot(reports[event.nodeID]);
      if (snapshot) snapshot.data = { ...(snapshot.data as Record<string, unknown>), ...event.data };
    } else if (event.type === 'node_finished') {
      const report = reports[event.nodeID];
      if (!report) continue;
      finishNode(report, event.status, event.time);
      const snapshot = lastSnapshot(report);
      if (snapshot) {
        if (event.outputs !== undefined) snapshot.outputs = event.outputs;
        if (event.branch !== undefined) snapshot.branch = event.branch;
        if (event.error !== undefined) snapshot.error = event.error;
        if (event.errorHandled) Object.assign(snapshot, { errorHandled: true });
        if (event.attempt !== undefined) Object.assign(snapshot, { attempt: event.attempt });
        delete (snapshot as { waiting?: boolean }).waiting;
      }
    }
  }
  for (const report of Object.values(reports)) {
    // A node waiting for a signal was not interrupted: the continued task waits on it again.
    if (report.terminated || (lastSnapshot(report) as { waiting?: boolean } | undefined)?.waiting) continue;
    finishNode(report, 'canceled', now);
    const snapshot = lastSnapshot(report);
    if (snapshot) snapshot.error = INTERRUPTED_MESSAGE;
  }
  const startTime = record.startTime || record.createdAt;
  const messages: Record<MessageLevel, Array<{ id: string; type: MessageLevel; message: string; timestamp: number }>> = {
    log: [],
    info: [],
    debug: [],
    error: [],
    warning: [],
  };
  messages[message.type].push(message);
  return {
    id: record.id,
    inputs: record.inputs,
    outputs: {},
    workflowStatus: { status: 'failed', terminated: true, startTime, endTime: now, timeCost: now - startTime },
    reports,
    messages,
  } as unknown as IReport;
}

function lastSnapshot(report: NodeReport | undefined): Snapshot | undefined {
  return report?.snapshots[report.snapshots.length - 1];
}

function finishNode(report: NodeReport, status: WorkflowStatusName, time: number): void {
  Object.assign(report, { status, terminated: true, endTime: time, timeCost: time - report.startTime });
}
