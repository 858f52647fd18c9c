import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { TaskSummary } from '../engine/task.js';
import type { TaskEvent, WorkflowStatusName } from '../engine/types.js';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import { resolveRetention, startPruneTimer } from './retention.js';
import { migrate } from './sqlite-migrations.js';
import type { StoreBatch, StoreListFilter, StoreRetention, StoredTaskError, TaskRecord, TaskStore, TaskUpdate } from './types.js';

export const DEFAULT_DB_PATH = './.flowgram/flowgram.db';

export interface SqliteStoreOptions {
  /** Database file; its directory is created. `:memory:` keeps everything in memory. Default `./.flowgram/flowgram.db`. */
  path?: string;
  retention?: StoreRetention;
}

interface TaskRow {
  seq: number;
  id: string;
  schema_hash: string;
  inputs: string;
  status: WorkflowStatusName;
  created_at: number;
  start_time: number;
  end_time: number | null;
  outputs: string | null;
  error: string | null;
}

type SummaryRow = Pick<TaskRow, 'id' | 'status' | 'start_time' | 'end_time' | 'error'>;

const PRUNE_CHUNK = 1_000;
const KNOWN_SCHEMAS_CACHE = 1_024;

/**
 * The embedded store: one SQLite file in WAL mode, written through better-sqlite3 (synchronous, so
 * every method answers directly). `synchronous = NORMAL`: a committed batch survives the process
 * being killed; only an OS crash or power loss can lose the last commits.
 */
export function createSqliteStore(options: SqliteStoreOptions = {}): TaskStore {
  const path = options.path ?? DEFAULT_DB_PATH;
  const retention = resolveRetention(options.retention);
  const db = openDatabase(path);

  const insertSchema = db.prepare('INSERT OR IGNORE INTO schemas (hash, body) VALUES (?, ?)');
  const insertTask = db.prepare(
    `INSERT INTO tasks (id, schema_hash, inputs, status, created_at, start_time, end_time, outputs, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updateTask = db.prepare('UPDATE tasks SET status = ?, start_time = ?, end_time = ?, outputs = ?, error = ? WHERE seq = ?');
  const insertEvent = db.prepare('INSERT INTO events (task_seq, body) VALUES (?, ?)');
  const insertReport = db.prepare('INSERT OR REPLACE INTO reports (task_seq, body) VALUES (?, ?)');
  const deleteEventsOf = db.prepare('DELETE FROM events WHERE task_seq = ?');
  const deleteReportOf = db.prepare('DELETE FROM reports WHERE task_seq = ?');
  const deleteTaskRow = db.prepare('DELETE FROM tasks WHERE seq = ?');
  const selectSeq = db.prepare<[string], number>('SELECT seq FROM tasks WHERE id = ?').pluck();
  const selectTask = db.prepare<[string], TaskRow & { schema: string }>(
    'SELECT t.*, s.body AS schema FROM tasks t JOIN schemas s ON s.hash = t.schema_hash WHERE t.id = ?',
  );
  const selectReport = db.prepare<[string], string>('SELECT r.body FROM reports r JOIN tasks t ON t.seq = r.task_seq WHERE t.id = ?').pluck();
  const selectEvents = db.prepare<[number], string>('SELECT body FROM events WHERE task_seq = ? ORDER BY id').pluck();
  const selectUnfinished = db.prepare<[], TaskRow & { schema: string }>(
    `SELECT t.*, s.body AS schema FROM tasks t JOIN schemas s ON s.hash = t.schema_hash
     WHERE t.status IN ('pending', 'processing') ORDER BY t.seq`,
  );
  const selectExpired = db.prepare<[number, number], number>(
    'SELECT seq FROM tasks WHERE end_time IS NOT NULL AND end_time < ? LIMIT ?',
  ).pluck();
  const countEnded = db.prepare<[], number>('SELECT count(*) FROM tasks WHERE end_time IS NOT NULL').pluck();
  const selectOldestEnded = db.prepare<[number], number>('SELECT seq FROM tasks WHERE end_time IS NOT NULL ORDER BY seq LIMIT ?').pluck();
  const deleteOrphanSchemas = db.prepare('DELETE FROM schemas WHERE hash NOT IN (SELECT schema_hash FROM tasks)');

  /** Sequence numbers of tasks not yet ended, so that updates need no lookup by ID. */
  const liveSeq = new Map<string, number>();
  /** Tasks with journal rows, so that ending a task deletes rows only when there are some. */
  const journaled = new Set<number>(db.prepare<[], number>('SELECT DISTINCT task_seq FROM events').pluck().all());
  const knownSchemas = new Set<string>();

  function seqOf(taskID: string): number | undefined {
    return liveSeq.get(taskID) ?? selectSeq.get(taskID);
  }

  function removeTask(seq: number): void {
    deleteEventsOf.run(seq);
    deleteReportOf.run(seq);
    deleteTaskRow.run(seq);
    journaled.delete(seq);
  }

  function saveSchema(hash: string, body: string): void {
    if (knownSchemas.has(hash)) return;
    insertSchema.run(hash, body);
    if (knownSchemas.size >= KNOWN_SCHEMAS_CACHE) knownSchemas.clear();
    knownSchemas.add(hash);
  }

  function insert(record: TaskRecord): number {
    saveSchema(record.schemaHash, record.schema);
    const params = [
      record.id,
      record.schemaHash,
      JSON.stringify(record.inputs),
      record.status,
      record.createdAt,
      record.startTime,
      record.endTime ?? null,
      toJSON(record.outputs),
      toJSON(record.error),
    ];
    let seq: number;
    try {
      seq = Number(insertTask.run(...params).lastInsertRowid);
    } catch (error) {
      // Same ID again: a resumed task replaces its interrupted run.
      const existing = (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' ? selectSeq.get(record.id) : undefined;
      if (existing === undefined) throw error;
      removeTask(existing);
      seq = Number(insertTask.run(...params).lastInsertRowid);
    }
    if (record.endTime === undefined) liveSeq.set(record.id, seq);
    return seq;
  }

  function update(change: TaskUpdate): void {
    const seq = seqOf(change.id);
    if (seq === undefined) return; // deleted meanwhile
    updateTask.run(change.status, change.startTime, change.endTime ?? null, toJSON(change.outputs), toJSON(change.error), seq);
  }

  const writeBatch = db.transaction((batch: StoreBatch) => {
    // Tasks inserted already ended are not live, but their report follows in this batch.
    const inserted = new Map<string, number>();
    for (const record of batch.tasks) inserted.set(record.id, insert(record));
    for (const change of batch.updates) update(change);
    for (const event of batch.events) {
      const seq = seqOf(event.taskID);
      if (seq === undefined) continue;
      insertEvent.run(seq, JSON.stringify(event));
      journaled.add(seq);
    }
    for (const { taskID, report } of batch.reports) {
      const seq = inserted.get(taskID) ?? seqOf(taskID);
      if (seq === undefined) continue;
      insertReport.run(seq, JSON.stringify(report));
      if (journaled.delete(seq)) deleteEventsOf.run(seq);
      liveSeq.delete(taskID);
    }
  });

  const deleteMany = db.transaction((seqs: number[]) => {
    for (const seq of seqs) removeTask(seq);
  });

  function prune(now = Date.now()): number {
    let deleted = 0;
    for (;;) {
      const expired = selectExpired.all(now - retention.maxAgeMs, PRUNE_CHUNK);
      if (expired.length === 0) break;
      deleteMany(expired);
      deleted += expired.length;
    }
    let excess = countEnded.get()! - retention.maxTasks;
    while (excess > 0) {
      const oldest = selectOldestEnded.all(Math.min(excess, PRUNE_CHUNK));
      if (oldest.length === 0) break;
      deleteMany(oldest);
      deleted += oldest.length;
      excess -= oldest.length;
    }
    if (deleted > 0) {
      deleteOrphanSchemas.run();
      knownSchemas.clear();
    }
    return deleted;
  }

  const stopPruning = startPruneTimer(prune, retention.intervalMs);

  return {
    write(batch) {
      writeBatch(batch);
    },
    getTask(taskID) {
      const row = selectTask.get(taskID);
      return row && toRecord(row);
    },
    getReport(taskID) {
      const body = selectReport.get(taskID);
      return body === undefined ? undefined : (JSON.parse(body) as IReport);
    },
    listTasks(filter) {
      return listSummaries(db, filter).map(toSummary);
    },
    deleteTask(taskID) {
      const seq = seqOf(taskID);
      if (seq === undefined) return false;
      deleteMany([seq]);
      liveSeq.delete(taskID);
      return true;
    },
    listUnfinished() {
      return selectUnfinished.all().map(toRecord);
    },
    getEvents(taskID) {
      const seq = seqOf(taskID);
      if (seq === undefined) return [];
      return selectEvents.all(seq).map((body) => JSON.parse(body) as TaskEvent);
    },
    prune,
    close() {
      stopPruning();
      if (db.open) db.close();
    },
  };
}

function openDatabase(path: string): Database.Database {
  try {
    if (path !== ':memory:' && path !== '') mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Another process (a CLI listing tasks) may hold the lock briefly.
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -16000');
    migrate(db);
    return db;
  } catch (error) {
    throw new FlowgramError(ErrorCodes.INTERNAL, `store: cannot open SQLite database "${path}": ${errorMessage(error)}`, { cause: error });
  }
}

function listSummaries(db: Database.Database, filter: StoreListFilter): SummaryRow[] {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.since !== undefined) {
    where.push('start_time >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push('start_time < ?');
    params.push(filter.until);
  }
  const sql = `SELECT id, status, start_time, end_time, error FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY seq DESC LIMIT ? OFFSET ?`;
  return db.prepare<Array<string | number>, SummaryRow>(sql).all(...params, filter.limit, filter.offset);
}

function toJSON(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function toRecord(row: TaskRow & { schema: string }): TaskRecord {
  const record: TaskRecord = {
    id: row.id,
    schemaHash: row.schema_hash,
    schema: row.schema,
    inputs: JSON.parse(row.inputs) as TaskRecord['inputs'],
    status: row.status,
    createdAt: row.created_at,
    startTime: row.start_time,
  };
  if (row.end_time !== null) record.endTime = row.end_time;
  if (row.outputs !== null) record.outputs = JSON.parse(row.outputs) as TaskRecord['outputs'];
  if (row.error !== null) record.error = JSON.parse(row.error) as StoredTaskError;
  return record;
}

function toSummary(row: SummaryRow): TaskSummary {
  const summary: TaskSummary = {
    id: row.id,
    status: row.status,
    startTime: row.start_time,
    timeCost: row.start_time === 0 ? 0 : (row.end_time ?? Date.now()) - row.start_time,
  };
  if (row.end_time !== null) summary.endTime = row.end_time;
  if (row.error !== null && row.status !== 'succeeded') summary.error = (JSON.parse(row.error) as StoredTaskError).message;
  return summary;
}
