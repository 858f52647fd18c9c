/**
 * `flowgram resume <taskID>`: asks a running server (`flowgram serve`, local or queue mode) to resume a
 * failed or cancelled task from its checkpoints, waits for it to end, and prints its outputs as JSON.
 */
import { ErrorCodes, FlowgramError, errorMessage, type ErrorCode } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, loadInputs, type InputsFlags } from './load.js';
import type { CommandIO } from './run.js';

export interface ResumeFlags extends InputsFlags {
  /** The server's base URL. Default env FLOWGRAM_SERVER, else http://127.0.0.1:4000. */
  server?: string;
  /** Wait for the resumed task to end (default true; `--no-wait` prints the task ID at once). */
  wait?: boolean;
}

const DEFAULT_SERVER = 'http://127.0.0.1:4000';
/** The longest wait the result route allows per request (see MAX_RESULT_WAIT_MS). */
const RESULT_WAIT_MS = 60_000;
const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

export async function resumeCommand(taskID: string, flags: ResumeFlags, io: CommandIO, env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  const base = serverURL(flags.server ?? env.FLOWGRAM_SERVER ?? DEFAULT_SERVER);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (env.FLOWGRAM_API_TOKEN) headers.authorization = `Bearer ${env.FLOWGRAM_API_TOKEN}`;
  const body: Record<string, unknown> = { taskID };
  if (flags.inputs !== undefined || flags.inputsFile !== undefined) body.inputs = await loadInputs(flags);
  await call(base, '/api/task/resume', { method: 'POST', headers, body: JSON.stringify(body) });
  if (flags.wait === false) {
    io.stdout.write(`${JSON.stringify({ taskID })}\n`);
    return ExitCode.OK;
  }
  const query = `taskID=${encodeURIComponent(taskID)}&wait=${RESULT_WAIT_MS}`;
  for (;;) {
    try {
      await call(base, `/api/task/result?${query}`, { headers });
      break;
    } catch (error) {
      if (!(error instanceof FlowgramError && error.code === ErrorCodes.TASK_NOT_FINISHED)) throw error;
    }
  }
  const report = (await call(base, `/api/task/report?taskID=${encodeURIComponent(taskID)}`, { headers })) as {
    outputs?: unknown;
    workflowStatus?: { status?: string };
    messages?: { error?: Array<{ message?: string }> };
  };
  const status = report.workflowStatus?.status;
  if (status !== 'succeeded') {
    const reason = report.messages?.error?.at(-1)?.message ?? 'no reason recorded';
    io.stderr.write(`flowgram: resumed task ${status ?? 'ended'}: ${reason}\n`);
    return ExitCode.FAILED;
  }
  io.stdout.write(`${JSON.stringify(report.outputs ?? {}, null, 2)}\n`);
  return ExitCode.OK;
}

/** The server's base URL, checked (a usage error when it is not http(s)). */
export function serverURL(value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    return url.toString().replace(/\/$/, '');
  } catch {
    throw new UsageError(`--server ${value}: must be an http:// or https:// URL`);
  }
}

/** One request; a `{code, message}` answer becomes the FlowgramError it stands for. */
export async function call(base: string, path: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, init);
  } catch (error) {
    throw new FlowgramError(ErrorCodes.INTERNAL, `cannot reach the server at ${base}: ${errorMessage((error as { cause?: unknown }).cause ?? error)}`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.ok) return parsed;
  const { code, message } = (parsed ?? {}) as { code?: string; message?: string };
  const known = code !== undefined && KNOWN_CODES.has(code) ? (code as ErrorCode) : ErrorCodes.INTERNAL;
  throw new FlowgramError(known, message ?? `the server answered ${response.status}`);
}
