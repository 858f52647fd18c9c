import type { PoolClient } from 'pg';

/**
 * The PostgreSQL schema, one entry per version, the same tables as the SQLite store's migrations;
 * `flowgram_schema_version` records how many have been applied. Append new migrations; never edit one
 * that has shipped. JSON is kept as text (as in SQLite): jsonb would reorder the keys of inputs and outputs.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: tasks, schemas stored once per hash, the journal of running tasks, final reports.
  `
  CREATE TABLE schemas (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
  );
  CREATE TABLE tasks (
    seq BIGSERIAL PRIMARY KEY,          -- acceptance order: listings page on it, reports and events point at it
    id TEXT NOT NULL UNIQUE,
    schema_hash TEXT NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    start_time BIGINT NOT NULL,
    end_time BIGINT,
    outputs TEXT,
    error TEXT
  );
  CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    task_seq BIGINT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX events_task ON events (task_seq);
  CREATE TABLE reports (
    task_seq BIGINT PRIMARY KEY,
    body TEXT NOT NULL
  );
  `,
  // 2: which runtime runs each task, and the heartbeat of each live runtime (recovery settles only the tasks of dead ones).
  `
  ALTER TABLE tasks ADD COLUMN owner TEXT;
  CREATE TABLE runtimes (
    id TEXT PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL
  );
  `,
  // 3: secrets, each value sealed with AES-256-GCM by the runtime (the database never holds a plain value or the key).
  `
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  `,
  // 4: the workflow's title, which listings show and search.
  `
  ALTER TABLE tasks ADD COLUMN title TEXT;
  `,
  // 5: the task a re-run (`runtime.rerun`) reused the outputs of.
  `
  ALTER TABLE tasks ADD COLUMN rerun_of TEXT;
  `,
];

/** Any fixed number: every process of a fleet takes this lock, so only one of them migrates at a time. */
const MIGRATION_LOCK = 0x466c6f77;

/** Brings the database up to the latest version in one transaction; safe when many processes start at once. */
export async function migrate(client: PoolClient): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS flowgram_schema_version (version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM flowgram_schema_version');
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this runtime supports (${MIGRATIONS.length}); upgrade flowgram-runtime`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) await client.query(MIGRATIONS[version]);
    if (rows.length === 0) await client.query('INSERT INTO flowgram_schema_version (version) VALUES ($1)', [MIGRATIONS.length]);
    else if (current < MIGRATIONS.length) await client.query('UPDATE flowgram_schema_version SET version = $1', [MIGRATIONS.length]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
