import { randomBytes } from 'node:crypto';
import { ErrorCodes, FlowgramError } from '../errors.js';
import type { SecretTable } from '../store/types.js';
import { literalSecretName, loadOrCreateKeyFile, openSecret, parseSecretKey, sealSecret } from './cipher.js';
import { SECRET_KEY_ENV, checkSecretName, environmentSecrets, fileSecrets, type SecretValues } from './providers.js';

/** Where a secret comes from; the first that holds a name wins, in this order. */
export type SecretSource = 'options' | 'env' | 'file' | 'store';

/** What may be shown about a secret: never its value. */
export interface SecretInfo {
  name: string;
  source: SecretSource;
  /** When it was first stored and last changed (ms since epoch); only for secrets in the store. */
  createdAt?: number;
  updatedAt?: number;
}

export interface SecretStoreOptions {
  /** Secrets given in code (highest precedence). */
  values?: Record<string, string>;
  /** Environment to read `FLOWGRAM_SECRET_<NAME>` from; `false` reads none. Default `process.env`. */
  env?: NodeJS.ProcessEnv | false;
  /** A JSON or dotenv file of secrets, read once. */
  file?: string;
  /** A database store's secrets table: values set at run time and literal keys moved out of schemas live there, encrypted. */
  table?: SecretTable;
  /** Where the table lives, for messages. */
  tableName?: string;
  /** The encryption key (64 hex characters or base64 of 32 bytes). Default: `FLOWGRAM_SECRET_KEY`, else `keyFile`. */
  key?: string;
  /** Read, or created with mode 0600 on first use, when no key is given. */
  keyFile?: string;
}

/**
 * Every secret the runtime can resolve: fixed sources (options, environment, file) and one writable
 * place: a database table (values sealed with AES-256-GCM) or, without one, this process's memory.
 * Names are known synchronously (validation); values are read when a task that references them starts.
 */
export class SecretStore {
  private readonly fixed: Array<[SecretSource, SecretValues]> = [];
  private readonly table: SecretTable | undefined;
  /** Names in the table (or memory), as last seen. */
  private readonly stored = new Map<string, { createdAt: number; updatedAt: number }>();
  /** Values written by this process (memory store, or literals whose table write may still be in flight). */
  private readonly local = new Map<string, string>();
  private key: Buffer | undefined;
  private readonly keyFile: string | undefined;
  /** Writes in flight, awaited by `flush`. */
  private readonly writing = new Set<Promise<unknown>>();

  constructor(private readonly options: SecretStoreOptions = {}) {
    if (options.values) this.fixed.push(['options', new Map(Object.entries(options.values))]);
    const env = options.env === undefined ? process.env : options.env;
    if (env) this.fixed.push(['env', environmentSecrets(env)]);
    if (options.file) this.fixed.push(['file', fileSecrets(options.file)]);
    for (const [, values] of this.fixed) for (const name of values.keys()) checkSecretName(name);
    this.table = options.table;
    this.keyFile = options.keyFile;
    const keyText = options.key ?? (env ? env[SECRET_KEY_ENV] : undefined);
    // Without a table nothing is encrypted: a per-process key only names literals.
    if (!this.table) this.key = randomBytes(32);
    else if (keyText !== undefined && keyText !== '') this.key = parseSecretKey(keyText, options.key !== undefined ? 'secret key' : SECRET_KEY_ENV);
  }

  /**
   * Reads the table's names and checks that the key opens every stored value; a wrong key fails here,
   * before anything is accepted, and changes nothing.
   */
  async open(): Promise<this> {
    if (!this.table) return this;
    const rows = await this.table.listSecrets();
    if (rows.length > 0) {
      if (!this.key && this.keyFile) this.key = loadOrCreateKeyFile(this.keyFile, false);
      const where = this.options.tableName ?? 'the database';
      if (!this.key) {
        throw new FlowgramError(ErrorCodes.SECRET_KEY, `${rows.length} secret(s) are stored in ${where} but no key is set: set ${SECRET_KEY_ENV} to the key they were stored with`);
      }
      const unreadable = rows.filter((row) => openSecret(this.key as Buffer, row.name, row.sealed) === undefined).length;
      if (unreadable > 0) {
        throw new FlowgramError(
          ErrorCodes.SECRET_KEY,
          `the secret key cannot decrypt ${unreadable} of the ${rows.length} secret(s) stored in ${where}: start with the key they were stored with (${SECRET_KEY_ENV} or the key file)`,
        );
      }
    }
    for (const row of rows) this.stored.set(row.name, { createdAt: row.createdAt, updatedAt: row.updatedAt });
    return this;
  }

  /** Whether some source holds this name (as far as this process knows). */
  has(name: string): boolean {
    return this.fixed.some(([, values]) => values.has(name)) || this.stored.has(name) || this.local.has(name);
  }

  /** The values of these names; a name no source holds is missing from the answer. */
  async resolve(names: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const name of names) {
      const fixed = this.fixedValue(name);
      if (fixed !== undefined) {
        out.set(name, fixed);
        continue;
      }
      const local = this.local.get(name);
      if (local !== undefined) {
        out.set(name, local);
        continue;
      }
      // Read every time: another server or worker sharing the database may have changed it.
      const row = await this.table?.getSecret(name);
      if (!row) {
        this.stored.delete(name);
        continue;
      }
      const value = this.key && openSecret(this.key, name, row.sealed);
      if (value === undefined || value === '') throw new FlowgramError(ErrorCodes.SECRET_KEY, `secret "${name}": the secret key cannot decrypt it`);
      this.stored.set(name, { createdAt: row.createdAt, updatedAt: row.updatedAt });
      out.set(name, value);
    }
    return out;
  }

  /** The name a literal value (an API key typed into a form) is stored under: a keyed hash, the same for the same value, revealing nothing without the key. */
  literalName(value: string): string {
    return literalSecretName(this.writeKey(), value);
  }

  /** Stores a literal under its `literalName` unless already there; the write runs in the background (`flush` awaits it). */
  adoptLiteral(name: string, value: string): void {
    if (this.local.get(name) === value || this.stored.has(name)) return;
    this.local.set(name, value);
    this.track(this.write(name, value)).catch(() => undefined); // a failed write: the value stays usable here, `set` reports errors
  }

  /** Stores a value under a name (replacing one of the same name). */
  async set(name: string, value: string): Promise<void> {
    checkSecretName(name);
    if (typeof value !== 'string' || value === '') throw new FlowgramError(ErrorCodes.BAD_REQUEST, 'value: must be a non-empty string');
    if (this.table) this.local.delete(name);
    else this.local.set(name, value);
    await this.track(this.write(name, value));
  }

  /** False when the store holds no such name (fixed sources cannot be removed). */
  async delete(name: string): Promise<boolean> {
    const had = this.local.delete(name);
    const removed = this.table ? await this.track(Promise.resolve(this.table.deleteSecret(name))) : had;
    this.stored.delete(name);
    return removed === true || had;
  }

  /**
   * Reads the table's names again: another process sharing the database (`flowgram secrets set`, another
   * server of a fleet) may have added or removed some since. `has` answers from what was read last.
   */
  async refresh(): Promise<void> {
    if (!this.table) return;
    const rows = await this.table.listSecrets();
    this.stored.clear();
    for (const row of rows) this.stored.set(row.name, { createdAt: row.createdAt, updatedAt: row.updatedAt });
  }

  /** Every known name with its source and dates, by name. */
  async list(): Promise<SecretInfo[]> {
    await this.refresh();
    const out = new Map<string, SecretInfo>();
    for (const [source, values] of this.fixed) for (const name of values.keys()) if (!out.has(name)) out.set(name, { name, source });
    for (const [name, dates] of this.stored) if (!out.has(name)) out.set(name, { name, source: 'store', ...dates });
    return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async info(name: string): Promise<SecretInfo | undefined> {
    return (await this.list()).find((entry) => entry.name === name);
  }

  /** Resolves once every write so far is durable. */
  async flush(): Promise<void> {
    while (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }

  private fixedValue(name: string): string | undefined {
    for (const [, values] of this.fixed) {
      const value = values.get(name);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** The key, created (key file) on the first write when none was given. */
  private writeKey(): Buffer {
    if (!this.key && this.keyFile) this.key = loadOrCreateKeyFile(this.keyFile, true);
    if (!this.key) throw new FlowgramError(ErrorCodes.SECRET_KEY, `no secret key: set ${SECRET_KEY_ENV} (64 hex characters or base64 of 32 bytes)`);
    return this.key;
  }

  private async write(name: string, value: string): Promise<void> {
    const now = Date.now();
    const previous = this.stored.get(name);
    if (this.table) await this.table.putSecret(name, sealSecret(this.writeKey(), name, value), now);
    this.stored.set(name, { createdAt: previous?.createdAt ?? now, updatedAt: now });
  }

  private track<T>(write: Promise<T>): Promise<T> {
    this.writing.add(write);
    const done = (): void => {
      this.writing.delete(write);
    };
    write.then(done, done);
    return write;
  }
}

/** A secret store, opened: with a table, its names read and the key checked against what it holds. */
export function openSecretStore(options: SecretStoreOptions = {}): Promise<SecretStore> {
  return new SecretStore(options).open();
}
