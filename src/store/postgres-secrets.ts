import type pg from 'pg';
import type { SealedSecret, SecretTable } from './types.js';

interface SecretRow {
  name: string;
  sealed: string;
  created_at: string;
  updated_at: string;
}

function toSealed(row: SecretRow): SealedSecret {
  // BIGINT columns arrive as strings.
  return { name: row.name, sealed: row.sealed, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at) };
}

/**
 * The secrets table on PostgreSQL. Writes go through `inOrder` (the store's write chain), so a secret
 * a task was accepted with commits before the task's own row.
 */
export function postgresSecretTable(pool: pg.Pool, inOrder: (run: () => Promise<unknown>) => Promise<unknown>): SecretTable {
  return {
    async listSecrets() {
      return (await pool.query<SecretRow>('SELECT * FROM secrets ORDER BY name')).rows.map(toSealed);
    },
    async getSecret(name) {
      const { rows } = await pool.query<SecretRow>('SELECT * FROM secrets WHERE name = $1', [name]);
      return rows[0] && toSealed(rows[0]);
    },
    async putSecret(name, sealed, now) {
      await inOrder(() =>
        pool.query(
          'INSERT INTO secrets (name, sealed, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = EXCLUDED.updated_at',
          [name, sealed, now],
        ),
      );
    },
    async deleteSecret(name) {
      const result = (await inOrder(() => pool.query('DELETE FROM secrets WHERE name = $1', [name]))) as pg.QueryResult;
      return (result.rowCount ?? 0) > 0;
    },
  };
}
