/**
 * `flowgram run <workflow.json>`: runs a workflow in-process, shows per-node progress on stderr and
 * prints the outputs as JSON on stdout.
 */
import { writeFile } from 'node:fs/promises';
import { createRuntime } from '../runtime.js';
import { errorMessage } from '../errors.js';
import { ExitCode } from './exit-codes.js';
import { UsageError, loadInputs, loadWorkflow } from './load.js';
import { createProgress, type ProgressOutput } from './progress.js';
import { fileAndEnvSecrets } from './secrets-option.js';
import type { ValidateFlags } from './validate.js';

export interface RunFlags extends ValidateFlags {
  report?: string;
  /** Show progress on stderr. Default true (`--no-progress` turns it off). */
  progress?: boolean;
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

export async function runCommand(file: string, flags: RunFlags, io: CommandIO): Promise<ExitCode> {
  const schema = await loadWorkflow(file);
  const inputs = await loadInputs(flags);
  const runtime = createRuntime({ secrets: fileAndEnvSecrets(flags.secretsFile) });
  try {
    const validation = runtime.validate(schema, inputs);
    if (!validation.valid) throw new UsageError(`${file}: ${summarizeProblems(validation.errors ?? ['invalid workflow'])}`);

    const task = runtime.start(schema, inputs);
    const progress = flags.progress === false ? undefined : createProgress(io.stderr);
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
      const where = error?.nodeID ? ` (node ${error.nodeID})` : '';
      io.stderr.write(`flowgram: workflow ${task.status}${where}: ${error?.message ?? 'no reason recorded'}\n`);
      return ExitCode.FAILED;
    }
    io.stdout.write(`${JSON.stringify(task.result() ?? {}, null, 2)}\n`);
    return ExitCode.OK;
  } finally {
    await runtime.close();
  }
}
