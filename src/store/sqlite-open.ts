import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import { migrate } from './sqlite-migrations.js';

/** Whether a path names a private in-memory database, which a second connection (the writer thread) cannot share. */
export function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === '';
}

/**
 * Opens the database in WAL mode with `synchronous = NORMAL`: a committed batch survives the process
 * being killed; only an OS crash or power loss can lose the last commits. `migrate` is for the first
 * connection only: the writer thread opens the file after it is up to date.
 */
export function openDatabase(path: string, options: { migrate: boolean }): Database.Database {
  try {
    if (!isMemoryPath(path)) mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Another connection (the writer thread, a CLI listing tasks) may hold the lock briefly.
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -16000');
    if (options.migrate) migrate(db);
    return db;
  } catch (error) {
    throw new FlowgramError(ErrorCodes.INTERNAL, `store: cannot open SQLite database "${path}": ${errorMessage(error)}`, { cause: error });
  }
}
