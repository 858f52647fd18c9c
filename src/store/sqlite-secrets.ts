import type Database from 'better-sqlite3';
import type { SealedSecret } from './types.js';

interface SecretRow {
  name: string;
  sealed: string;
  created_at: number;
  updated_at: number;
}

function toSealed(row: SecretRow): SealedSecret {
  return { name: row.name, sealed: row.sealed, createdAt: row.created_at, updatedAt: row.updated_at };
}

/** Reads of the secrets table (the caller's connection). */
export function sqliteSecretReads(db: Database.Database): { list(): SealedSecret[]; get(name: string): SealedSecret | undefined } {
  const selectAll = db.prepare<[], SecretRow>('SELECT * FROM secrets ORDER BY name');
  const selectOne = db.prepare<[string], SecretRow>('SELECT * FROM secrets WHERE name = ?');
  return {
    list: () => selectAll.all().map(toSealed),
    get(name) {
      const row = selectOne.get(name);
      return row && toSealed(row);
    },
  };
}

/** Writes of the secrets table (the writer's connection). */
export function sqliteSecretWrites(db: Database.Database): { put(name: string, sealed: string, now: number): void; delete(name: string): boolean } {
  const upsert = db.prepare(
    'INSERT INTO secrets (name, sealed, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at',
  );
  const remove = db.prepare('DELETE FROM secrets WHERE name = ?');
  return {
    put(name, sealed, now) {
      upsert.run(name, sealed, now, now);
    },
    delete: (name) => remove.run(name).changes > 0,
  };
}
