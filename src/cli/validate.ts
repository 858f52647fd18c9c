/**
 * `flowgram validate <workflow.json>`: checks a workflow (and inputs) without running it and prints
 * every problem, each named by its path in the schema.
 */
import { createRuntime } from '../runtime.js';
import { ExitCode } from './exit-codes.js';
import { loadInputs, loadWorkflow, type InputsFlags } from './load.js';
import type { CommandIO } from './run.js';
import { fileAndEnvSecrets } from './secrets-option.js';

export interface ValidateFlags extends InputsFlags {
  /** Secrets the workflow may reference (with FLOWGRAM_SECRET_<NAME> variables). */
  secretsFile?: string;
}

export async function validateCommand(file: string, flags: ValidateFlags, io: CommandIO): Promise<ExitCode> {
  const schema = await loadWorkflow(file);
  const inputs = await loadInputs(flags);
  const runtime = createRuntime({ secrets: fileAndEnvSecrets(flags.secretsFile) });
  try {
    const result = runtime.validate(schema, inputs);
    const warnings = result.warnings ?? [];
    for (const warning of warnings) io.stdout.write(`⚠ ${warning}\n`);
    if (result.valid) {
      io.stdout.write(`✔ ${file} is valid${warnings.length > 0 ? ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})` : ''}\n`);
      return ExitCode.OK;
    }
    const errors = result.errors ?? [];
    for (const error of errors) io.stdout.write(`✖ ${error}\n`);
    io.stdout.write(`${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}\n`);
    return ExitCode.FAILED;
  } finally {
    await runtime.close();
  }
}
