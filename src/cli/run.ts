/**
 * `flowgram run <workflow.json>`: runs a workflow in-process, shows per-node progress on stderr and
 * prints the outputs as JSON on stdout.
 */
import { writeFile } from 'node:fs/promises';
import type { Task } from '../engine/task.js';
import { createRuntime } from '../runtime.js';
import { errorMessage } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, loadInputs, loadWorkflow } from './load.js';
import { createProgress, loopLayout, type ProgressOutput } from './progress.js';
import { fileAndEnvSecrets } from './secrets-option.js';
import type { ValidateFlags } from './validate.js';

export interface RunFlags extends ValidateFlags {
  report?: string;
  /** Show progress on stderr. Default true (`--no-progress` turns it off). */
  progress?: boolean;
  /** Hide what nodes log (code nodes' console output) from the progress lines. */
  quiet?: boolean;
  /** Inputs the start node does not declare are an error instead of a warning. */
  strict?: boolean;
  /**
   * When the workflow waits at a `wait` node, keep waiting (for its timeoutMs, whose onError decides what
   * follows) instead of stopping with exit code 1: nothing can signal a task of `flowgram run`.
   */
  wait?: boolean;
}

export interface CommandIO {
  stdout: { write(text: string): unknown };
  stderr: ProgressOutput;
  /** Where `secrets set` reads its value; default process.stdin. */
  stdin?: AsyncIterable<Buffer | string>;
}

/** `2 problems: a; b` → one line that still says how many there were. */
export function summarizeProblems(errors: readonly string[]): string {
  if (errors.length === 1) return errors[0];
  return `${errors[0]} (and ${errors.length - 1} more; see flowgram validate)`;
}

/** Input keys the start node does not declare (when it declares any): likely typos. */
export function undeclaredInputs(schema: Record<string, unknown>, inputs: Record<string, unknown>): string[] {
  const nodes = Array.isArray(schema.nodes) ? (schema.nodes as Array<{ type?: unknown; data?: { outputs?: { properties?: unknown } } } | null>) : [];
  const properties = nodes.find((node) => node?.type === 'start')?.data?.outputs?.properties;
  if (typeof properties !== 'object' || properties === null) return [];
  return Object.keys(inputs).filter((key) => !Object.prototype.hasOwnProperty.call(properties, key));
}

/** `node "x" failed: why` → `why`: the failure line names the node already. */
function failureReason(message: string, nodeID: string | undefined): string {
  const prefix = nodeID === undefined ? undefined : `node "${nodeID}" failed: `;
  return prefix !== undefined && message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

type WaitingNodes = ReturnType<Task['waitingNodes']>;

const nodeList = (waits: WaitingNodes): string => `${waits.length === 1 ? 'node' : 'nodes'} ${waits.map((wait) => wait.nodeID).join(', ')}`;

/** When the first of these waits times out, in whole seconds from now; undefined when none has a timeout. */
function secondsToTimeout(waits: WaitingNodes): number | undefined {
  const deadlines = waits.flatMap((wait) => (wait.deadline === undefined ? [] : [wait.deadline]));
  return deadlines.length === 0 ? undefined : Math.max(0, Math.ceil((Math.min(...deadlines) - Date.now()) / 1000));
}

/** Why `flowgram run` stops at a wait node, and how to run such a workflow instead. */
export function waitingLine(waits: WaitingNodes): string {
  const first = waits[0]?.nodeID ?? '<nodeID>';
  const timeout = secondsToTimeout(waits);
  const orWait = timeout === undefined ? '' : `, or pass --wait to wait for its timeout (${timeout} s)`;
  return `flowgram: workflow waiting for a signal at ${nodeList(waits)}, which flowgram run cannot receive: run it on a server (flowgram serve) and answer with flowgram signal <taskID> ${first} --data '<json>'${orWait}`;
}

/** `--wait`: the task waits (nothing can signal it here) until its waits time out, or Ctrl-C; the process stays up meanwhile. */
async function waitThrough(task: Task, io: CommandIO): Promise<void> {
  const announce = (): void => {
    const waits = task.waitingNodes();
    const timeout = secondsToTimeout(waits);
    const until = timeout === undefined ? 'which has no timeout: this waits until Ctrl-C' : `until its timeout in ${timeout} s (Ctrl-C stops)`;
    io.stderr.write(`flowgram: waiting for a signal at ${nodeList(waits)}, ${until}\n`);
  };
  announce();
  const unsubscribe = task.subscribe((event) => event.type === 'workflow_waiting' && announce(), { replay: false });
  // Wait timeouts do not keep a process alive on their own (a server's waits must not): this does.
  const hold = setInterval(() => undefined, 60_000);
  try {
    await task.done;
  } finally {
    clearInterval(hold);
    unsubscribe();
  }
}

export async function runCommand(file: string, flags: RunFlags, io: CommandIO): Promise<ExitCode> {
  const schema = await loadWorkflow(file, io.stdin);
  const inputs = await loadInputs(flags);
  const where = file === '-' ? 'workflow from stdin' : file;
  const unknown = undeclaredInputs(schema, inputs);
  if (unknown.length > 0) {
    const names = unknown.map((key) => `"${key}"`).join(', ');
    if (flags.strict) throw new UsageError(`inputs: ${names} ${unknown.length === 1 ? 'is' : 'are'} not declared by the start node`);
    io.stderr.write(`flowgram: warning: inputs ${names} ${unknown.length === 1 ? 'is' : 'are'} not declared by the start node (passed on anyway; --strict makes this an error)
`);
  }
  const runtime = createRuntime({ secrets: fileAndEnvSecrets(flags.secretsFile) });
  try {
    const validation = runtime.validate(schema, inputs);
    if (!validation.valid) throw new UsageError(`${where}: ${summarizeProblems(validation.errors ?? ['invalid workflow'])}`);

    const task = runtime.start(schema, inputs);
    const progress = flags.progress === false ? undefined : createProgress(io.stderr, { layout: loopLayout(schema), quiet: flags.quiet });
    if (progress) {
      task.subscribe((event) => progress.onEvent(event));
    }
    // Ctrl-C cancels the run (its report still gets written) instead of killing the process.
    const onInterrupt = (): void => void task.cancel('interrupted (SIGINT)');
    process.once('SIGINT', onInterrupt);
    await task.idle();
    if (task.status === 'waiting' && flags.wait) await waitThrough(task, io);
    process.off('SIGINT', onInterrupt);
    progress?.stop();

    if (flags.report) {
      try {
        await writeFile(flags.report, `${JSON.stringify(task.report(), null, 2)}\n`);
      } catch (error) {
        throw new UsageError(`--report ${flags.report}: ${errorMessage(error)}`);
      }
    }
    if (task.status === 'waiting') {
      io.stderr.write(`${waitingLine(task.waitingNodes())}\n`);
      return ExitCode.FAILED;
    }
    if (task.status !== 'succeeded') {
      const error = task.error;
      const at = error?.nodeID ? ` (node ${error.nodeID})` : '';
      io.stderr.write(`flowgram: workflow ${task.status}${at}: ${error ? failureReason(error.message, error.nodeID) : 'no reason recorded'}\n`);
      return ExitCode.FAILED;
    }
    io.stdout.write(`${JSON.stringify(task.result() ?? {}, null, 2)}\n`);
    return ExitCode.OK;
  } finally {
    await runtime.close();
  }
}
