import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { TaskEvent } from '../engine/types.js';
import { resolveRetention, startPruneTimer } from './retention.js';
import { isMemoryPath, openDatabase } from './sqlite-open.js';
import { toRows, type BatchRows } from './sqlite-rows.js';
import { sqliteSecretReads, sqliteSecretWrites } from './sqlite-secrets.js';
import { createSqliteWriter } from './sqlite-writer.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';
import { containsPattern, emptyCounts } from './list-filter.js';
import { SUMMARY_COLUMNS, parseStored, toRecord, toSummary, type SummaryRow, type TaskRow } from './task-row.js';
import type { StoreCountFilter, StoreListFilter, StoreRetention, TaskCounts, TaskRecord, TaskStore } from './types.js';

export const DEFAULT_DB_PATH = './.flowgram/flowgram.db';

export interface SqliteStoreOptions {
  /** Database file; its directory is created. `:memory:` keeps everything in memory. Default `./.flowgram/flowgram.db`. */
  path?: string;
  retention?: StoreRetention;
  /** How long a write waits for another process's lock on the file before it fails (ms). Default 5,000. */
  busyTimeoutMs?: number;
}

/**
 * The embedded store: one SQLite file in WAL mode, through better-sqlite3. Writes (batches, deletes,
 * pruning) run on a writer thread that owns the write connection, so SQL never blocks the caller's
 * thread; each write settles once committed. Reads are synchronous on the caller's thread through a
 * second connection: WAL lets it read committed data while the writer writes (the runtime flushes
 * pending writes before it reads). A `:memory:` database cannot be shared by two connections: it is
 * written synchronously on the caller's thread.
 */
export function createSqliteStore(options: SqliteStoreOptions = {}): TaskStore {
  const path = options.path ?? DEFAULT_DB_PATH;
  const retention = resolveRetention(options.retention);
  const db = openDatabase(path, { migrate: true, check: true, busyTimeoutMs: options.busyTimeoutMs });
  const writer = isMemoryPath(path) ? inThreadWriter(db) : threadWriter(path, options.busyTimeoutMs);

  const selectSeq = db.prepare<[string], number>('SELECT seq FROM tasks WHERE id = ?').pluck();
  const selectTask = db.prepare<[string], TaskRow>(
    'SELECT t.*, s.body AS schema FROM tasks t JOIN schemas s ON s.hash = t.schema_hash WHERE t.id = ?',
  );
  const selectReport = db.prepare<[string], string>('SELECT r.body FROM reports r JOIN tasks t ON t.seq = r.task_seq WHERE t.id = ?').pluck();
  const selectEvents = db.prepare<[number], string>('SELECT body FROM events WHERE task_seq = ? ORDER BY id').pluck();
  const selectOwners = db.prepare<[], string>('SELECT id FROM runtimes').pluck();
  const secretReads = sqliteSecretReads(db);

  const prune = (now = Date.now()): Promise<number> | number => writer.prune(now, retention.maxAgeMs, retention.maxTasks);
  const stopPruning = startPruneTimer(prune, retention.intervalMs);
  let closed: Promise<void> | undefined;

  return {
    write: (batch) => writer.write(toRows(batch)),
    getTask(taskID) {
      const row = selectTask.get(taskID);
      return row && toRecord(row);
    },
    getReport(taskID) {
      const body = selectReport.get(taskID);
      return body === undefined ? undefined : parseStored<IReport>(body, taskID, 'report');
    },
    listTasks(filter) {
      return listSummaries(db, filter).map(toSummary);
    },
    countTasks(filter) {
      const { where, params } = whereClause(filter);
      const rows = db
        .prepare<Array<string | number>, { status: keyof TaskCounts; count: number }>(`SELECT status, count(*) AS count FROM tasks ${where} GROUP BY status`)
        .all(...params);
      const counts = emptyCounts();
      for (const row of rows) counts[row.status] = row.count;
      return counts;
    },
    deleteTask: (taskID) => writer.deleteTask(taskID),
    heartbeat: (owner, alive) => writer.heartbeat(owner, alive),
    listOwners: () => selectOwners.all(),
    claimAbandoned: (owner, leaseMs) => writer.claimAbandoned(owner, leaseMs),
    claimWaiting: (taskID, owner) => writer.claimWaiting(taskID, owner ?? null),
    getEvents(taskID) {
      const seq = selectSeq.get(taskID);
      if (seq === undefined) return [];
      return selectEvents.all(seq).map((body) => parseStored<TaskEvent>(body, taskID, 'events'));
    },
    prune,
    secrets: {
      listSecrets: () => secretReads.list(),
      getSecret: (name) => secretReads.get(name),
      putSecret: (name, sealed, now) => writer.putSecret(name, sealed, now),
      deleteSecret: (name) => writer.deleteSecret(name),
    },
    close() {
      closed ??= (async () => {
        stopPruning();
        await writer.close();
        db.close();
      })();
      return closed;
    },
  };
}

/** The store's writes, wherever they run; each method settles once its transaction committed. */
interface StoreWriter {
  write(rows: BatchRows): Promise<void> | void;
  deleteTask(taskID: string): Promise<boolean> | boolean;
  prune(now: number, maxAgeMs: number, maxTasks: number): Promise<number> | number;
  heartbeat(owner: string, alive: boolean): Promise<void> | void;
  claimAbandoned(owner: string, leaseMs: number): Promise<TaskRecord[]> | TaskRecord[];
  claimWaiting(taskID: string, owner: string | null): Promise<boolean> | boolean;
  putSecret(name: string, sealed: string, now: number): Promise<void> | void;
  deleteSecret(name: string): Promise<boolean> | boolean;
  close(): Promise<void> | void;
}

function inThreadWriter(db: Database.Database): StoreWriter {
  const writer = createSqliteWriter(db);
  const secrets = sqliteSecretWrites(db);
  return {
    ...writer,
    putSecret: (name, sealed, now) => secrets.put(name, sealed, now),
    deleteSecret: (name) => secrets.delete(name),
    heartbeat: (owner, alive) => writer.heartbeat(owner, alive, Date.now()),
    claimAbandoned: (owner, leaseMs) => writer.claimAbandoned(owner, leaseMs, Date.now()),
    close: () => undefined,
  };
}

function threadWriter(path: string, busyTimeoutMs: number | undefined): StoreWriter {
  // Resolved now: the thread starts on the first write, perhaps after the process changed directory.
  const thread = new SqliteWriterThread(resolve(path), busyTimeoutMs);
  return {
    write: async (rows) => {
      await thread.request({ kind: 'write', rows });
    },
    deleteTask: async (taskID) => (await thread.request({ kind: 'delete', taskID })) === true,
    prune: async (now, maxAgeMs, maxTasks) => Number(await thread.request({ kind: 'prune', now, maxAgeMs, maxTasks })),
    heartbeat: async (owner, alive) => {
      await thread.request({ kind: 'heartbeat', owner, alive });
    },
    claimAbandoned: async (owner, leaseMs) => (await thread.request({ kind: 'claim', owner, leaseMs })) as TaskRecord[],
    claimWaiting: async (taskID, owner) => (await thread.request({ kind: 'claim-waiting', taskID, owner })) === true,
    putSecret: async (name, sealed, now) => {
      await thread.request({ kind: 'secret-put', name, sealed, now });
    },
    deleteSecret: async (name) => (await thread.request({ kind: 'secret-delete', name })) === true,
    close: () => thread.close(),
  };
}

/** The WHERE clause of a listing or count. */
function whereClause(filter: StoreCountFilter & { status?: string }): { where: string; params: Array<string | number> } {
  // A row without an ID (a damaged page read back) is never a task.
  const where: string[] = ['id IS NOT NULL'];
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
  if (filter.q) {
    // LIKE is case-insensitive for ASCII in SQLite.
    where.push("(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\')");
    params.push(containsPattern(filter.q), containsPattern(filter.q));
  }
  return { where: `WHERE ${where.join(' AND ')}`, params };
}

function listSummaries(db: Database.Database, filter: StoreListFilter): SummaryRow[] {
  const { where, params } = whereClause(filter);
  const sql = `SELECT ${SUMMARY_COLUMNS} FROM tasks ${where}
    ORDER BY seq DESC LIMIT ? OFFSET ?`;
  return db.prepare<Array<string | number>, SummaryRow>(sql).all(...params, filter.limit, filter.offset);
}

