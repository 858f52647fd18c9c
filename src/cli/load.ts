/**
 * Reads what the commands are given: a workflow file and task inputs (inline JSON or a file). Every
 * problem is a UsageError with one readable line, naming the file or the flag.
 */
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../errors.js';

/** Bad usage or an unreadable/invalid file: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${what} ${path}: no such file`);
    if (code === 'EISDIR') throw new UsageError(`${what} ${path}: is a directory`);
    throw new UsageError(`${what} ${path}: ${errorMessage(error)}`);
  }
}

function parseObject(text: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${where}: not valid JSON (${errorMessage(error)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${where}: must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Largest workflow read from stdin (a file is read whole, like any file the user names). */
const MAX_STDIN_BYTES = 64 * 1024 * 1024;

async function readStdin(stdin: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > MAX_STDIN_BYTES) throw new UsageError(`workflow from stdin: larger than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The workflow schema in `path` (`-`: read from stdin), as an object. */
export async function loadWorkflow(path: string, stdin: AsyncIterable<Buffer | string> = process.stdin): Promise<Record<string, unknown>> {
  if (path === '-') return parseObject(await readStdin(stdin), 'workflow from stdin');
  return parseObject(await readText(path, 'workflow'), path);
}

export interface InputsFlags {
  inputs?: string;
  inputsFile?: string;
}

/** The task inputs from `--inputs '<json>'` or `--inputs-file f.json`; `{}` when neither is given. */
export async function loadInputs(flags: InputsFlags): Promise<Record<string, unknown>> {
  if (flags.inputs !== undefined && flags.inputsFile !== undefined) {
    throw new UsageError('--inputs and --inputs-file cannot be used together');
  }
  if (flags.inputs !== undefined) return parseObject(flags.inputs, '--inputs');
  if (flags.inputsFile !== undefined) return parseObject(await readText(flags.inputsFile, 'inputs file'), flags.inputsFile);
  return {};
}
