/**
 * `flowgram signal <taskID> <nodeID>`: answers a `wait` node of a task waiting on a running server
 * (`POST /api/task/signal`); the data (a JSON object, checked against the node's declared outputs)
 * become the node's outputs and the task runs on. Prints `{taskID, status}`.
 */
import { ExitCode } from './exit-codes.js';
import { UsageError, loadInputs } from './load.js';
import { call, serverURL } from './resume.js';
import type { CommandIO } from './run.js';

export interface SignalFlags {
  /** The answer as a JSON object. */
  data?: string;
  /** The answer from a JSON file. */
  dataFile?: string;
  /** The server's base URL. Default env FLOWGRAM_SERVER, else http://127.0.0.1:4000. */
  server?: string;
}

export async function signalCommand(taskID: string, nodeID: string, flags: SignalFlags, io: CommandIO, env: NodeJS.ProcessEnv = process.env): Promise<ExitCode> {
  if (flags.data === undefined && flags.dataFile === undefined) throw new UsageError('--data or --data-file: the answer (a JSON object) is required');
  // The answer reads like task inputs: a JSON object inline or from a file.
  const data = await loadInputs({ inputs: flags.data, inputsFile: flags.dataFile });
  const base = serverURL(flags.server ?? env.FLOWGRAM_SERVER ?? 'http://127.0.0.1:4000');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (env.FLOWGRAM_API_TOKEN) headers.authorization = `Bearer ${env.FLOWGRAM_API_TOKEN}`;
  const answer = await call(base, '/api/task/signal', { method: 'POST', headers, body: JSON.stringify({ taskID, nodeID, data }) });
  io.stdout.write(`${JSON.stringify(answer)}\n`);
  return ExitCode.OK;
}
