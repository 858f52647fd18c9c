/**
 * `--db`: where tasks and reports persist. A postgres:// URL selects the PostgreSQL store (shared by a
 * fleet of servers and workers); anything else is a SQLite file (the single-machine default).
 */
import { errorMessage } from '../errors.js';
import { createPostgresStore, redactURL } from '../store/postgres.js';
import { DEFAULT_DB_PATH, createSqliteStore } from '../store/sqlite.js';
import type { TaskStore } from '../store/types.js';
import { UsageError } from './load.js';

export interface OpenedStore {
  store: TaskStore;
  /** Where the tasks are, for the start-up line (no password). */
  where: string;
}

export function isPostgresURL(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

export async function openStore(db: string | undefined): Promise<OpenedStore> {
  const target = db ?? process.env.FLOWGRAM_DB ?? DEFAULT_DB_PATH;
  if (isPostgresURL(target)) {
    try {
      return { store: await createPostgresStore({ url: target }), where: redactURL(target) };
    } catch (error) {
      // The store's message already names the (redacted) URL.
      throw new UsageError(`--db: ${errorMessage(error).replace(/^store: /, '')}`);
    }
  }
  try {
    return { store: createSqliteStore({ path: target }), where: target };
  } catch (error) {
    throw new UsageError(`--db ${target}: ${errorMessage(error)}`);
  }
}
