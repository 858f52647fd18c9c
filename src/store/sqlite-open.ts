import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCodes, FlowgramError, errorMessage } from '../errors.js';
import { migrate } from './sqlite-migrations.js';

/** Whether a path names a private in-memory database, which a second connection (the writer thread) cannot share. */
export function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === '';
}

export interface OpenOptions {
  /** Bring the schema up to date (the first connection only: the writer thread opens the file after it is). */
  migrate: boolean;
  /** Run `PRAGMA quick_check` first (the first connection only: one check per open store). */
  check?: boolean;
  /** How long a statement waits for another connection's lock before it fails (ms). Default 5,000. */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** SQLite's result codes for a damaged file, or one that is not a database at all. */
const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

function corrupt(path: string, found: string): FlowgramError {
  // SQLite's report spans lines: one line, the first problems only.
  const detail = found.replace(/\*\*\* in database \w+ \*\*\*/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
  return new FlowgramError(
    ErrorCodes.STORE_CORRUPT,
    `store: the SQLite database "${path}" is corrupt (${detail}); restore it from a backup, or move it aside to start with an empty one and recover what is readable with: sqlite3 "${path}" .recover | sqlite3 recovered.db`,
  );
}

/**
 * A damaged file is refused before anything is read or written: a store that answered from it would
 * accept tasks it cannot keep. `quick_check` reads every page once (no index cross-checks): a cost
 * paid once per start.
 */
function assertIntact(db: Database.Database, path: string): void {
  const problems = db.pragma('quick_check(3)', { simple: false }) as Array<{ quick_check: string }>;
  if (problems.length === 1 && problems[0].quick_check === 'ok') return;
  throw corrupt(path, problems.map((row) => row.quick_check).join('; '));
}

/**
 * Opens the database in WAL mode with `synchronous = NORMAL`: a committed batch survives the process
 * being killed; only an OS crash or power loss can lose the last commits.
 */
export function openDatabase(path: string, options: OpenOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (!isMemoryPath(path)) mkdirSync(dirname(resolve(path)), { recursive: true });
    db = new Database(path);
    if (options.check && !isMemoryPath(path)) assertIntact(db, path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Another connection (the writer thread, a CLI listing tasks) may hold the lock briefly.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
    db.pragma('cache_size = -16000');
    if (options.migrate) migrate(db);
    return db;
  } catch (error) {
    db?.close();
    if (error instanceof FlowgramError) throw error;
    if (CORRUPT_CODES.has((error as { code?: string }).code ?? '')) throw corrupt(path, errorMessage(error));
    throw new FlowgramError(ErrorCodes.STORE_UNAVAILABLE, `store: cannot open SQLite database "${path}": ${errorMessage(error)}`, { cause: error });
  }
}
