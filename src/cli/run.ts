/**
 * `flowgram run <workflow.json>`: runs a workflow in-process, shows per-node progress on stderr and
 * prints the outputs as JSON on stdout.
 */
import { writeFile } from 'node:fs/promises';
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
    await task.done;
    process.off('SIGINT', onInterrupt);
    progress?.stop();

    if (flags.report) {
      try {
        await writeFile(flags.report, `${JSON.stringify(task.report(), null, 2)}\n`);
      } catch (error) {
        throw new UsageError(`--report ${flags.report}: ${errorMessage(error)}`);
      }
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
