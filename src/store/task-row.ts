import type { TaskSummary } from '../engine/task.js';
import type { WorkflowStatusName } from '../engine/types.js';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import type { StoredTaskError, TaskRecord } from './types.js';

/**
 * An integer column as a driver returns it: a number from SQLite, a string from PostgreSQL's BIGINT
 * (it may exceed 2^53; our times are milliseconds, well below).
 */
type Integer = number | string;

/** A row of `tasks` joined with its schema's body; the same columns in the SQLite and PostgreSQL stores. */
export interface TaskRow {
  id: string;
  schema_hash: string;
  schema: string;
  inputs: string;
  title: string | null;
  status: WorkflowStatusName;
  created_at: Integer;
  start_time: Integer;
  end_time: Integer | null;
  outputs: string | null;
  error: string | null;
  owner: string | null;
  rerun_of: string | null;
}

/** The columns a listing reads. */
export type SummaryRow = Pick<TaskRow, 'id' | 'title' | 'status' | 'start_time' | 'end_time' | 'error' | 'rerun_of'>;

/** The columns a listing reads, as SQL. */
export const SUMMARY_COLUMNS = 'id, title, status, start_time, end_time, error, rerun_of';

/**
 * JSON text a store wrote, read back. Text the database damaged (a flipped byte inside a row passes
 * SQLite's page checks) is FLOWGRAM_ERR_STORE_CORRUPT naming the task and what it held, never a bare
 * SyntaxError answered as an internal error.
 */
export function parseStored<T>(text: string, taskID: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new FlowgramError(
      ErrorCodes.STORE_CORRUPT,
      `store: the stored ${what} of task "${taskID}" cannot be read (${errorMessage(error)}); the database is damaged: restore it from a backup`,
    );
  }
}

export function toRecord(row: TaskRow): TaskRecord {
  const record: TaskRecord = {
    id: row.id,
    schemaHash: row.schema_hash,
    schema: row.schema,
    inputs: parseStored<TaskRecord['inputs']>(row.inputs, row.id, 'inputs'),
    status: row.status,
    createdAt: Number(row.created_at),
    startTime: Number(row.start_time),
  };
  if (row.end_time !== null) record.endTime = Number(row.end_time);
  if (row.outputs !== null) record.outputs = parseStored<TaskRecord['outputs']>(row.outputs, row.id, 'outputs');
  if (row.error !== null) record.error = parseStored<StoredTaskError>(row.error, row.id, 'error');
  if (row.owner !== null) record.owner = row.owner;
  if (row.title !== null) record.title = row.title;
  if (row.rerun_of) record.rerunOf = row.rerun_of;
  return record;
}

export function toSummary(row: SummaryRow): TaskSummary {
  const startTime = Number(row.start_time);
  const endTime = row.end_time === null ? undefined : Number(row.end_time);
  const summary: TaskSummary = {
    id: row.id,
    status: row.status,
    title: row.title ?? '',
    startTime,
    timeCost: startTime === 0 ? 0 : (endTime ?? Date.now()) - startTime,
  };
  if (endTime !== undefined) summary.endTime = endTime;
  if (row.error !== null && row.status !== 'succeeded') summary.error = storedErrorMessage(row.error);
  if (row.rerun_of) summary.rerunOf = row.rerun_of;
  return summary;
}

/** A listing shows every row it can: one damaged error column says so instead of failing the whole list. */
function storedErrorMessage(text: string): string {
  try {
    return (JSON.parse(text) as StoredTaskError).message;
  } catch {
    return 'the stored error cannot be read (the database is damaged)';
  }
}
