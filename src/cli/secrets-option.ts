/**
 * `--secrets-file` and the database's encrypted secrets: the secret store `serve` and `worker` run
 * with. The key is FLOWGRAM_SECRET_KEY or, for a SQLite file, `<db>.key` beside it (created, mode 0600,
 * when the first secret is stored).
 */
import { SecretStore, openSecretStore } from '../secrets/store.js';
import { DEFAULT_DB_PATH } from '../store/sqlite.js';
import type { TaskStore } from '../store/types.js';
import { isPostgresURL } from './store-option.js';

export function keyFileFor(db: string | undefined): string | undefined {
  const target = db ?? process.env.FLOWGRAM_DB ?? DEFAULT_DB_PATH;
  return isPostgresURL(target) || target === ':memory:' || target === '' ? undefined : `${target}.key`;
}

/** For `run` and `validate`: FLOWGRAM_SECRET_<NAME> variables and the --secrets-file (no database). */
export function fileAndEnvSecrets(file: string | undefined): SecretStore {
  const secretsFile = file ?? process.env.FLOWGRAM_SECRETS_FILE;
  return new SecretStore(secretsFile ? { file: secretsFile } : {});
}

export function openSecrets(store: TaskStore | undefined, db: string | undefined, where: string, file: string | undefined): Promise<SecretStore> {
  const secretsFile = file ?? process.env.FLOWGRAM_SECRETS_FILE;
  return openSecretStore({
    ...(secretsFile ? { file: secretsFile } : {}),
    ...(store?.secrets ? { table: store.secrets, tableName: where } : {}),
    ...(keyFileFor(db) ? { keyFile: keyFileFor(db) } : {}),
  });
}
