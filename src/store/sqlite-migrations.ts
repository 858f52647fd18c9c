import type { Database } from 'better-sqlite3';

/**
 * The database schema, one entry per version; `PRAGMA user_version` records how many have been
 * applied. Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: tasks, schemas stored once per hash, the journal of running tasks, final reports.
  `
  CREATE TABLE schemas (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE tasks (
    seq INTEGER PRIMARY KEY,           -- acceptance order: listings page on it, reports and events point at it
    id TEXT NOT NULL UNIQUE,
    schema_hash TEXT NOT NULL,
    inputs TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    outputs TEXT,
    error TEXT
  );
  -- No index beyond the ID: each one costs every write, while listings page on seq and pruning and
  -- recovery scan these small rows in the background or once at start.
  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    task_seq INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX events_task ON events (task_seq);
  CREATE TABLE reports (
    task_seq INTEGER PRIMARY KEY,
    body TEXT NOT NULL
  );
  `,
  // 2: which runtime runs each task, and the heartbeat of each live runtime (recovery settles only the tasks of dead ones).
  `
  ALTER TABLE tasks ADD COLUMN owner TEXT;
  CREATE TABLE runtimes (
    id TEXT PRIMARY KEY,
    heartbeat_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // 3: secrets, each value sealed with AES-256-GCM by the runtime (the database never holds a plain value or the key).
  `
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) WITHOUT ROWID;
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

/** Brings the database up to the latest version, each step in its own transaction. */
export function migrate(db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this runtime supports (${MIGRATIONS.length}); upgrade flowgram-runtime`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
