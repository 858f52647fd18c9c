import pg from 'pg';
import type { IReport } from '@flowgram.ai/runtime-interface';
import type { TaskEvent } from '../engine/types.js';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import { migrate } from './postgres-migrations.js';
import { containsPattern, emptyCounts } from './list-filter.js';
import { postgresSecretTable } from './postgres-secrets.js';
import { resolveRetention, startPruneTimer } from './retention.js';
import { SUMMARY_COLUMNS, parseStored, toRecord, toSummary, type SummaryRow, type TaskRow } from './task-row.js';
import type { StoreBatch, StoreCountFilter, StoreListFilter, StoreRetention, TaskCounts, TaskStore } from './types.js';

export interface PostgresStoreOptions {
  /** A connection string: `postgres://user:password@host:5432/database`. */
  url: string;
  retention?: StoreRetention;
  /** Connections in the pool. Default 10. */
  maxConnections?: number;
}

interface Statement {
  text: string;
  values: unknown[];
}

const TASK_COLUMNS = 't.id, t.schema_hash, s.body AS schema, t.inputs, t.status, t.created_at, t.start_time, t.end_time, t.outputs, t.error, t.owner, t.rerun_of';

/** Now in ms by the database's clock: every host of a fleet judges heartbeats by the same clock. */
const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/**
 * Takes over abandoned tasks ($1: the new owner, $2: the lease). The UPDATE compares each owner with
 * the one the scan saw: a runtime claiming at the same time waits for the row lock, then finds the
 * owner changed and skips it, so each task goes to one runtime.
 */
const CLAIM_ABANDONED = `
  WITH candidates AS (
    SELECT t.id, t.owner FROM tasks t
    WHERE t.status IN ('pending', 'processing') AND t.owner IS DISTINCT FROM $1
      AND NOT EXISTS (SELECT 1 FROM runtimes r WHERE r.id = t.owner AND r.heartbeat_at >= ${NOW_MS} - $2::bigint)),
  claimed AS (
    UPDATE tasks t SET owner = $1 FROM candidates c
    WHERE t.id = c.id AND t.owner IS NOT DISTINCT FROM c.owner AND t.status IN ('pending', 'processing')
    RETURNING t.*)
  SELECT ${TASK_COLUMNS} FROM claimed t JOIN schemas s ON s.hash = t.schema_hash ORDER BY t.seq`;

/** Deletes the given tasks with their journal and report; `$n` is a bigint[] of their seq. */
const deleteTasksSQL = (victims: string): string => `
  WITH victims AS (${victims}),
  gone_events AS (DELETE FROM events WHERE task_seq IN (SELECT seq FROM victims)),
  gone_reports AS (DELETE FROM reports WHERE task_seq IN (SELECT seq FROM victims)),
  gone AS (DELETE FROM tasks WHERE seq IN (SELECT seq FROM victims) RETURNING seq)
  SELECT count(*)::int AS count FROM gone`;

const DELETE_EXPIRED = deleteTasksSQL('SELECT seq FROM tasks WHERE end_time IS NOT NULL AND end_time < $1');
const DELETE_EXCESS = deleteTasksSQL('SELECT seq FROM tasks WHERE end_time IS NOT NULL ORDER BY seq DESC OFFSET $1');
const DELETE_ONE = deleteTasksSQL('SELECT seq FROM tasks WHERE id = $1');
const DELETE_ORPHAN_SCHEMAS = 'DELETE FROM schemas s WHERE NOT EXISTS (SELECT 1 FROM tasks t WHERE t.schema_hash = s.hash)';

/**
 * The fleet's store: the same tables and semantics as the SQLite store, on PostgreSQL, so every API
 * server and worker shares one history. Each `write` is one transaction of at most four set-based
 * statements (UNNEST of arrays), whatever the batch size. Connects and migrates before it resolves:
 * a bad URL fails here, with one clear message.
 */
export async function createPostgresStore(options: PostgresStoreOptions): Promise<TaskStore> {
  const retention = resolveRetention(options.retention);
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10, connectionTimeoutMillis: 10_000 });
  // An idle connection dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new FlowgramError(ErrorCodes.INTERNAL, `store: cannot open PostgreSQL database ${redactURL(options.url)}: ${errorMessage(error)}`, {
      cause: error,
    });
  }

  /** Runs statements in one transaction; a single statement needs none (it is atomic by itself). */
  async function atomically(statements: Statement[]): Promise<void> {
    if (statements.length === 1) {
      await pool.query(statements[0].text, statements[0].values);
      return;
    }
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const statement of statements) await client.query(statement.text, statement.values);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * A batch as few statements as possible (each is a round trip): statements on different tables
   * share one statement as data-modifying CTEs; a later statement sees what an earlier one wrote.
   */
  function statementsOf(batch: StoreBatch): Statement[] {
    const statements: Statement[] = [];
    if (batch.tasks.length > 0) {
      const schemas = new Map<string, string>();
      for (const record of batch.tasks) schemas.set(record.schemaHash, record.schema);
      // Same ID again (a task re-run after its worker died, or first written by the API server that
      // accepted it): the new run replaces the old one, whose journal and report go. Schemas are
      // always sent (no "known schema" cache): another process may have pruned an orphaned one.
      statements.push({
        text: `WITH new_schemas AS (
            INSERT INTO schemas (hash, body) SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT (hash) DO NOTHING),
          replaced AS (SELECT seq FROM tasks WHERE id = ANY($3::text[])),
          old_events AS (DELETE FROM events WHERE task_seq IN (SELECT seq FROM replaced)),
          old_reports AS (DELETE FROM reports WHERE task_seq IN (SELECT seq FROM replaced))
          INSERT INTO tasks (id, schema_hash, inputs, status, created_at, start_time, end_time, outputs, error, owner, title, rerun_of)
          SELECT * FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
          ON CONFLICT (id) DO UPDATE SET schema_hash = EXCLUDED.schema_hash, inputs = EXCLUDED.inputs, status = EXCLUDED.status,
            created_at = EXCLUDED.created_at, start_time = EXCLUDED.start_time, end_time = EXCLUDED.end_time,
            outputs = EXCLUDED.outputs, error = EXCLUDED.error, owner = EXCLUDED.owner, title = EXCLUDED.title,
            rerun_of = EXCLUDED.rerun_of`,
        values: [
          [...schemas.keys()],
          [...schemas.values()],
          batch.tasks.map((record) => record.id),
          batch.tasks.map((record) => record.schemaHash),
          batch.tasks.map((record) => JSON.stringify(record.inputs)),
          batch.tasks.map((record) => record.status),
          batch.tasks.map((record) => record.createdAt),
          batch.tasks.map((record) => record.startTime),
          batch.tasks.map((record) => record.endTime ?? null),
          batch.tasks.map((record) => toJSON(record.outputs)),
          batch.tasks.map((record) => toJSON(record.error)),
          batch.tasks.map((record) => record.owner ?? null),
          batch.tasks.map((record) => record.title ?? null),
          batch.tasks.map((record) => record.rerunOf ?? null),
        ],
      });
    }
    if (batch.updates.length > 0) {
      statements.push({
        text: `UPDATE tasks t SET status = u.status, start_time = u.start_time, end_time = u.end_time, outputs = u.outputs, error = u.error
          FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS u(id, status, start_time, end_time, outputs, error)
          WHERE t.id = u.id`,
        values: [
          batch.updates.map((change) => change.id),
          batch.updates.map((change) => change.status),
          batch.updates.map((change) => change.startTime),
          batch.updates.map((change) => change.endTime ?? null),
          batch.updates.map((change) => toJSON(change.outputs)),
          batch.updates.map((change) => toJSON(change.error)),
        ],
      });
    }
    if (batch.events.length > 0) {
      // Events of unknown (deleted) tasks are dropped by the join; ORDINALITY keeps their order.
      statements.push({
        text: `INSERT INTO events (task_seq, body)
          SELECT t.seq, e.body FROM UNNEST($1::text[], $2::text[]) WITH ORDINALITY AS e(task_id, body, ord)
          JOIN tasks t ON t.id = e.task_id ORDER BY e.ord`,
        values: [batch.events.map((event) => event.taskID), batch.events.map((event) => JSON.stringify(event))],
      });
    }
    if (batch.reports.length > 0) {
      // A report holds every node's status and snapshots: the journal is no longer needed.
      statements.push({
        text: `WITH saved AS (
            INSERT INTO reports (task_seq, body)
            SELECT t.seq, r.body FROM UNNEST($1::text[], $2::text[]) AS r(task_id, body) JOIN tasks t ON t.id = r.task_id
            ON CONFLICT (task_seq) DO UPDATE SET body = EXCLUDED.body
            RETURNING task_seq)
          DELETE FROM events WHERE task_seq IN (SELECT task_seq FROM saved)`,
        values: [batch.reports.map((entry) => entry.taskID), batch.reports.map((entry) => entry.reportJSON)],
      });
    }
    return statements;
  }

  async function prune(now = Date.now()): Promise<number> {
    let deleted = (await pool.query<{ count: number }>(DELETE_EXPIRED, [now - retention.maxAgeMs])).rows[0].count;
    deleted += (await pool.query<{ count: number }>(DELETE_EXCESS, [retention.maxTasks])).rows[0].count;
    if (deleted > 0) await pool.query(DELETE_ORPHAN_SCHEMAS);
    return deleted;
  }

  const stopPruning = startPruneTimer(prune, retention.intervalMs);
  let closed: Promise<void> | undefined;
  /** The last write: each waits for the one before it, so that batches commit in call order over the pool. */
  let lastWrite: Promise<void> = Promise.resolve();
  function inOrder<T>(run: () => Promise<T>): Promise<T> {
    const result = lastWrite.then(run, run);
    lastWrite = result.then(noop, noop);
    return result;
  }

  return {
    write(batch) {
      const statements = statementsOf(batch);
      if (statements.length === 0) return lastWrite.then(noop, noop);
      const run = (): Promise<void> => atomically(statements);
      lastWrite = lastWrite.then(run, run);
      return lastWrite;
    },
    async getTask(taskID) {
      const { rows } = await pool.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM tasks t JOIN schemas s ON s.hash = t.schema_hash WHERE t.id = $1`, [taskID]);
      return rows[0] && toRecord(rows[0]);
    },
    async getReport(taskID) {
      const { rows } = await pool.query<{ body: string }>('SELECT r.body FROM reports r JOIN tasks t ON t.seq = r.task_seq WHERE t.id = $1', [taskID]);
      return rows[0] && parseStored<IReport>(rows[0].body, taskID, 'report');
    },
    async listTasks(filter) {
      return (await listSummaries(pool, filter)).map(toSummary);
    },
    async countTasks(filter) {
      const { where, params } = whereClause(filter);
      const { rows } = await pool.query<{ status: keyof TaskCounts; count: string }>(`SELECT status, count(*) AS count FROM tasks ${where} GROUP BY status`, params);
      const counts = emptyCounts();
      for (const row of rows) counts[row.status] = Number(row.count);
      return counts;
    },
    async deleteTask(taskID) {
      return (await pool.query<{ count: number }>(DELETE_ONE, [taskID])).rows[0].count > 0;
    },
    heartbeat(owner, alive) {
      // In line with the writes: a runtime's first tasks never commit before its first heartbeat.
      const run = (): Promise<unknown> =>
        alive
          ? pool.query(`INSERT INTO runtimes (id, heartbeat_at) VALUES ($1, ${NOW_MS}) ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`, [owner])
          : pool.query('DELETE FROM runtimes WHERE id = $1', [owner]);
      lastWrite = lastWrite.then(run, run).then(noop);
      return lastWrite;
    },
    async listOwners() {
      return (await pool.query<{ id: string }>('SELECT id FROM runtimes')).rows.map((row) => row.id);
    },
    async claimAbandoned(owner, leaseMs) {
      const { rows } = await pool.query<TaskRow>(CLAIM_ABANDONED, [owner, leaseMs]);
      // Dead runtimes' marks: their tasks are claimed now (a runtime that was only stalled writes its mark again).
      await pool.query(`DELETE FROM runtimes WHERE heartbeat_at < ${NOW_MS} - $1::bigint`, [leaseMs]);
      return rows.map(toRecord);
    },
    async claimWaiting(taskID, owner) {
      // Behind the writes already handed over (e.g. the one that made the task wait).
      const { rowCount } = await inOrder(() => pool.query(`UPDATE tasks SET status = 'processing', owner = $2 WHERE id = $1 AND status = 'waiting'`, [taskID, owner ?? null]));
      return (rowCount ?? 0) > 0;
    },
    async getEvents(taskID) {
      const { rows } = await pool.query<{ body: string }>(
        'SELECT e.body FROM events e JOIN tasks t ON t.seq = e.task_seq WHERE t.id = $1 ORDER BY e.id',
        [taskID],
      );
      return rows.map((row) => parseStored<TaskEvent>(row.body, taskID, 'events'));
    },
    prune,
    secrets: postgresSecretTable(pool, inOrder),
    close() {
      stopPruning();
      closed ??= pool.end();
      return closed;
    },
  };
}

/** The WHERE clause of a listing or count (empty when nothing filters) and its parameters ($1…). */
function whereClause(filter: StoreCountFilter & { status?: string }): { where: string; params: Array<string | number> } {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (filter.status) {
    params.push(filter.status);
    where.push(`status = $${params.length}`);
  }
  if (filter.since !== undefined) {
    params.push(filter.since);
    where.push(`start_time >= $${params.length}`);
  }
  if (filter.until !== undefined) {
    params.push(filter.until);
    where.push(`start_time < $${params.length}`);
  }
  if (filter.q) {
    params.push(containsPattern(filter.q));
    where.push(`(id ILIKE $${params.length} ESCAPE '\\' OR title ILIKE $${params.length} ESCAPE '\\')`);
  }
  return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

async function listSummaries(pool: pg.Pool, filter: StoreListFilter): Promise<SummaryRow[]> {
  const { where, params } = whereClause(filter);
  params.push(filter.limit, filter.offset);
  const sql = `SELECT ${SUMMARY_COLUMNS} FROM tasks ${where}
    ORDER BY seq DESC LIMIT $${params.length - 1} OFFSET $${params.length}`;
  return (await pool.query<SummaryRow>(sql, params)).rows;
}

/** The URL without its password, for error messages. */
export function redactURL(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function noop(): void {}

function toJSON(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

