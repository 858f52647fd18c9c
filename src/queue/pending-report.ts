import type { IReport } from '@flowgram.ai/runtime-interface';
import type { TaskRecord } from '../store/types.js';

/**
 * The report of a task no worker has reported on yet (waiting in the queue, or just picked up): its
 * status and inputs from the store, no node has run.
 */
export function pendingReport(record: TaskRecord, now = Date.now()): IReport {
  return {
    id: record.id,
    inputs: record.inputs,
    outputs: {},
    workflowStatus: {
      status: record.status,
      terminated: false,
      startTime: record.startTime,
      timeCost: record.startTime === 0 ? 0 : now - record.startTime,
    },
    reports: {},
    messages: { log: [], info: [], debug: [], error: [], warning: [] },
  } as unknown as IReport;
}

/** The report of a task cancelled before any node ran (the cancel reached the queue first). */
export function cancelledBeforeStartReport(record: TaskRecord, reason: string, now = Date.now()): IReport {
  const report = pendingReport(record, now) as unknown as {
    workflowStatus: Record<string, unknown>;
    messages: Record<string, unknown[]>;
  };
  report.workflowStatus = { status: 'canceled', terminated: true, startTime: now, endTime: now, timeCost: 0 };
  report.messages.info.push({ id: `${record.id}:cancelled`, type: 'info', message: reason, timestamp: now });
  return report as unknown as IReport;
}
