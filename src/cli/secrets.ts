/**
 * `flowgram secrets set NAME | list | rm NAME`: manage the secrets stored (encrypted) in the --db.
 * A value is read from stdin, never from the command line (argv shows in `ps` and shell history).
 */
import { ErrorCodes, FlowgramError } from '../errors.js';
import { checkSecretName } from '../secrets/providers.js';
import type { SecretStore } from '../secrets/store.js';
import { ExitCode } from './exit-codes.js';
import { UsageError } from './load.js';
import type { CommandIO } from './run.js';
import { openSecrets } from './secrets-option.js';
import { openStore } from './store-option.js';

export interface SecretsFlags {
  db?: string;
}

/** Largest value read from stdin. */
const MAX_VALUE_BYTES = 64 * 1024;

async function withSecrets<T>(flags: SecretsFlags, use: (secrets: SecretStore) => Promise<T>): Promise<T> {
  const { store, where } = await openStore(flags.db);
  try {
    if (!store.secrets) throw new UsageError(`--db ${where}: this store keeps no secrets`);
    return await use(await openSecrets(store, flags.db, where, undefined));
  } finally {
    await store.close();
  }
}

async function readValue(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_VALUE_BYTES) throw new FlowgramError(ErrorCodes.LIMIT_EXCEEDED, `stdin: a secret value is at most ${MAX_VALUE_BYTES} bytes`);
    chunks.push(bytes);
  }
  // `echo value | flowgram secrets set NAME` adds one line break.
  const value = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (value === '') throw new UsageError('stdin: no value given; pipe it in, e.g. printf %s "$KEY" | flowgram secrets set NAME');
  return value;
}

function checkName(name: string): void {
  try {
    checkSecretName(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function secretsSetCommand(name: string, flags: SecretsFlags, io: CommandIO): Promise<ExitCode> {
  checkName(name);
  const value = await readValue(io.stdin ?? process.stdin);
  await withSecrets(flags, (secrets) => secrets.set(name, value));
  io.stderr.write(`secret ${name} stored\n`);
  return ExitCode.OK;
}

export async function secretsListCommand(flags: SecretsFlags, io: CommandIO): Promise<ExitCode> {
  const list = await withSecrets(flags, (secrets) => secrets.list());
  for (const entry of list) {
    const changed = entry.updatedAt === undefined ? '' : `\tchanged ${new Date(entry.updatedAt).toISOString()}`;
    io.stdout.write(`${entry.name}\t${entry.source}${changed}\n`);
  }
  return ExitCode.OK;
}

export async function secretsRemoveCommand(name: string, flags: SecretsFlags, io: CommandIO): Promise<ExitCode> {
  checkName(name);
  const removed = await withSecrets(flags, (secrets) => secrets.delete(name));
  if (!removed) throw new FlowgramError(ErrorCodes.SECRET_UNKNOWN, `secret ${name}: not in the store`);
  io.stderr.write(`secret ${name} removed\n`);
  return ExitCode.OK;
}
