import type { StoreBatch } from './types.js';

/** A column value as SQLite takes it. */
export type Cell = string | number | null;

/**
 * A `StoreBatch` as the SQLite writer inserts it: flat arrays of strings and numbers (every value
 * already JSON text), so that handing it to the writer thread clones a few arrays instead of an
 * object graph, and the thread only binds values. Each array holds consecutive rows of a fixed width.
 */
export interface BatchRows {
  /** `hash, body` per schema the batch's tasks run, each once. */
  schemas: string[];
  /** `TASK_WIDTH` cells per new task: id, schema hash, inputs, status, created, started, ended, outputs, error, owner, title, rerun of. */
  tasks: Cell[];
  /** `UPDATE_WIDTH` cells per status change: id, status, started, ended, outputs, error. */
  updates: Cell[];
  /** `taskID, event JSON` per journal event. */
  events: string[];
  /** `taskID, report JSON` per final report. */
  reports: string[];
}

export const TASK_WIDTH = 12;
export const UPDATE_WIDTH = 6;

export function toRows(batch: StoreBatch): BatchRows {
  const schemas: string[] = [];
  const tasks: Cell[] = [];
  const seenSchemas = new Set<string>();
  for (const record of batch.tasks) {
    if (!seenSchemas.has(record.schemaHash)) {
      schemas.push(record.schemaHash, record.schema);
      seenSchemas.add(record.schemaHash);
    }
    tasks.push(
      record.id,
      record.schemaHash,
      JSON.stringify(record.inputs),
      record.status,
      record.createdAt,
      record.startTime,
      record.endTime ?? null,
      toJSON(record.outputs),
      toJSON(record.error),
      record.owner ?? null,
      record.title ?? null,
      record.rerunOf ?? null,
    );
  }
  const updates: Cell[] = [];
  for (const change of batch.updates) {
    updates.push(change.id, change.status, change.startTime, change.endTime ?? null, toJSON(change.outputs), toJSON(change.error));
  }
  const events: string[] = [];
  for (const event of batch.events) events.push(event.taskID, JSON.stringify(event));
  const reports: string[] = [];
  for (const { taskID, reportJSON } of batch.reports) reports.push(taskID, reportJSON);
  return { schemas, tasks, updates, events, reports };
}

function toJSON(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}
