import type Database from 'better-sqlite3';
import { ErrorCodes, errorMessage } from '../errors.js';
import { TASK_WIDTH, UPDATE_WIDTH, type BatchRows, type Cell } from './sqlite-rows.js';
import { toRecord, type TaskRow } from './task-row.js';
import type { TaskRecord } from './types.js';

/** The write side of the SQLite store: one connection, used by one thread (the writer thread, or the caller's for `:memory:`). */
export interface SqliteWriter {
  /** Applies one batch in one transaction. */
  write(rows: BatchRows): void;
  /** Deletes a task, its journal and its report; false when unknown. */
  deleteTask(taskID: string): boolean;
  /** Deletes ended tasks older than `maxAgeMs` (by end time) and beyond the newest `maxTasks`; returns how many. */
  prune(now: number, maxAgeMs: number, maxTasks: number): number;
  /** See `TaskStore.heartbeat`; `now` is the writer's clock (one host shares a SQLite file). */
  heartbeat(owner: string, alive: boolean, now: number): void;
  /** See `TaskStore.claimAbandoned`. */
  claimAbandoned(owner: string, leaseMs: number, now: number): TaskRecord[];
  /** See `TaskStore.claimWaiting`. */
  claimWaiting(taskID: string, owner: string | null): boolean;
}

const PRUNE_CHUNK = 1_000;
const KNOWN_SCHEMAS_CACHE = 1_024;

/** Prepares the store's writes on `db`; every batch, delete and prune is one transaction. */
export function createSqliteWriter(db: Database.Database): SqliteWriter {
  const insertSchema = db.prepare('INSERT OR IGNORE INTO schemas (hash, body) VALUES (?, ?)');
  const insertTask = db.prepare(
    `INSERT INTO tasks (id, schema_hash, inputs, status, created_at, start_time, end_time, outputs, error, owner, title, rerun_of)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updateTask = db.prepare('UPDATE tasks SET status = ?, start_time = ?, end_time = ?, outputs = ?, error = ? WHERE seq = ?');
  const insertEvent = db.prepare('INSERT INTO events (task_seq, body) VALUES (?, ?)');
  const insertReport = db.prepare('INSERT OR REPLACE INTO reports (task_seq, body) VALUES (?, ?)');
  const deleteEventsOf = db.prepare('DELETE FROM events WHERE task_seq = ?');
  const deleteReportOf = db.prepare('DELETE FROM reports WHERE task_seq = ?');
  const deleteTaskRow = db.prepare('DELETE FROM tasks WHERE seq = ?');
  const selectSeq = db.prepare<[string], number>('SELECT seq FROM tasks WHERE id = ?').pluck();
  const selectExpired = db.prepare<[number, number], number>('SELECT seq FROM tasks WHERE end_time IS NOT NULL AND end_time < ? LIMIT ?').pluck();
  const countEnded = db.prepare<[], number>('SELECT count(*) FROM tasks WHERE end_time IS NOT NULL').pluck();
  const selectOldestEnded = db.prepare<[number], number>('SELECT seq FROM tasks WHERE end_time IS NOT NULL ORDER BY seq LIMIT ?').pluck();
  const deleteOrphanSchemas = db.prepare('DELETE FROM schemas WHERE hash NOT IN (SELECT schema_hash FROM tasks)');
  const selectJournaled = db.prepare<[], number>('SELECT DISTINCT task_seq FROM events').pluck();
  const upsertHeartbeat = db.prepare('INSERT INTO runtimes (id, heartbeat_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at');
  const deleteHeartbeat = db.prepare('DELETE FROM runtimes WHERE id = ?');
  const deleteStaleHeartbeats = db.prepare('DELETE FROM runtimes WHERE heartbeat_at < ?');
  // A scan of the small task rows (no index: see migration 1), outside any transaction: it takes no write lock.
  const selectAbandoned = db.prepare<[string, number], { id: string; owner: string | null }>(
    `SELECT id, owner FROM tasks WHERE status IN ('pending', 'processing')
       AND (owner IS NULL OR (owner <> ? AND owner NOT IN (SELECT id FROM runtimes WHERE heartbeat_at >= ?)))
     ORDER BY seq`,
  );
  // Compare-and-set: another process may have claimed (or finished) the task since the scan.
  const takeOver = db.prepare(`UPDATE tasks SET owner = ? WHERE id = ? AND owner IS ? AND status IN ('pending', 'processing')`);
  // One statement: the compare-and-set of a waiting task's status.
  const takeWaiting = db.prepare(`UPDATE tasks SET status = 'processing', owner = ? WHERE id = ? AND status = 'waiting'`);
  const failUnreadable = db.prepare(`UPDATE tasks SET status = 'failed', end_time = ?, error = ? WHERE id = ?`);
  const selectTaskRow = db.prepare<[string], TaskRow>('SELECT t.*, s.body AS schema FROM tasks t JOIN schemas s ON s.hash = t.schema_hash WHERE t.id = ?');

  // Caches of what the database holds; a transaction that fails leaves them wrong, so they are rebuilt (`forget`).
  /** Sequence numbers of tasks not yet ended, so that updates need no lookup by ID. */
  const liveSeq = new Map<string, number>();
  /** Tasks with journal rows, so that ending a task deletes rows only when there are some. */
  let journaled = new Set<number>(selectJournaled.all());
  const knownSchemas = new Set<string>();

  function forget(): void {
    liveSeq.clear();
    knownSchemas.clear();
    journaled = new Set(selectJournaled.all());
  }

  /**
   * Runs a transaction; if it fails (rolled back), the caches forget what it did. IMMEDIATE: another
   * process may write the same file (runtimes sharing it), and a deferred transaction that reads
   * before it writes fails at once (SQLITE_BUSY) when another connection committed meanwhile, while
   * an immediate one waits for the lock (busy_timeout).
   */
  function atomically<A>(transaction: Database.Transaction<(arg: A) => void>): (arg: A) => void {
    return (arg) => {
      try {
        transaction.immediate(arg);
      } catch (error) {
        forget();
        throw error;
      }
    };
  }

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

  function insert(row: Cell[]): number {
    const taskID = row[0] as string;
    let seq: number;
    try {
      seq = Number(insertTask.run(row).lastInsertRowid);
    } catch (error) {
      // Same ID again: a resumed task replaces its interrupted run.
      const existing = (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' ? selectSeq.get(taskID) : undefined;
      if (existing === undefined) throw error;
      removeTask(existing);
      seq = Number(insertTask.run(row).lastInsertRowid);
    }
    if (row[6] === null) liveSeq.set(taskID, seq); // not ended
    return seq;
  }

  const writeRows = atomically(db.transaction((rows: BatchRows) => {
    const { schemas, tasks, updates, events, reports } = rows;
    for (let i = 0; i < schemas.length; i += 2) saveSchema(schemas[i], schemas[i + 1]);
    // Tasks inserted already ended are not live, but their report follows in this batch.
    const inserted = new Map<string, number>();
    for (let i = 0; i < tasks.length; i += TASK_WIDTH) inserted.set(tasks[i] as string, insert(tasks.slice(i, i + TASK_WIDTH)));
    for (let i = 0; i < updates.length; i += UPDATE_WIDTH) {
      const seq = seqOf(updates[i] as string);
      if (seq === undefined) continue; // deleted meanwhile
      updateTask.run(updates[i + 1], updates[i + 2], updates[i + 3], updates[i + 4], updates[i + 5], seq);
    }
    for (let i = 0; i < events.length; i += 2) {
      const seq = seqOf(events[i]);
      if (seq === undefined) continue;
      insertEvent.run(seq, events[i + 1]);
      journaled.add(seq);
    }
    for (let i = 0; i < reports.length; i += 2) {
      const taskID = reports[i];
      const seq = inserted.get(taskID) ?? seqOf(taskID);
      if (seq === undefined) continue;
      insertReport.run(seq, reports[i + 1]);
      if (journaled.delete(seq)) deleteEventsOf.run(seq);
      liveSeq.delete(taskID);
    }
  }));

  const deleteMany = atomically(db.transaction((seqs: number[]) => {
    for (const seq of seqs) removeTask(seq);
  }));

  const takeOverAll = db.transaction((owner: string, candidates: Array<{ id: string; owner: string | null }>, now: number): TaskRecord[] => {
    const claimed: TaskRecord[] = [];
    for (const candidate of candidates) {
      if (takeOver.run(owner, candidate.id, candidate.owner).changes === 0) continue;
      const row = selectTaskRow.get(candidate.id);
      if (!row) continue;
      try {
        claimed.push(toRecord(row));
      } catch (error) {
        // A row the database damaged cannot be continued: it fails here, saying why, instead of failing
        // every recovery (and so every other abandoned task's) from now on.
        failUnreadable.run(now, JSON.stringify({ code: ErrorCodes.STORE_CORRUPT, message: errorMessage(error) }), candidate.id);
      }
    }
    return claimed;
  });

  return {
    write: writeRows,
    claimWaiting: (taskID, owner) => takeWaiting.run(owner, taskID).changes > 0,
    heartbeat(owner, alive, now) {
      if (alive) upsertHeartbeat.run(owner, now);
      else deleteHeartbeat.run(owner);
    },
    claimAbandoned(owner, leaseMs, now) {
      const candidates = selectAbandoned.all(owner, now - leaseMs);
      const claimed = candidates.length === 0 ? [] : takeOverAll.immediate(owner, candidates, now);
      // Dead runtimes' marks: their tasks are claimed now (a runtime that was only stalled writes its mark again).
      deleteStaleHeartbeats.run(now - leaseMs);
      return claimed;
    },
    deleteTask(taskID) {
      const seq = seqOf(taskID);
      if (seq === undefined) return false;
      deleteMany([seq]);
      liveSeq.delete(taskID);
      return true;
    },
    prune(now, maxAgeMs, maxTasks) {
      let deleted = 0;
      for (;;) {
        const expired = selectExpired.all(now - maxAgeMs, PRUNE_CHUNK);
        if (expired.length === 0) break;
        deleteMany(expired);
        deleted += expired.length;
      }
      let excess = countEnded.get()! - maxTasks;
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
    },
  };
}
