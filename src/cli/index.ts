/**
 * The `flowgram` command line: `serve`, `run`, `validate`. `main` never exits the process; it resolves
 * with the exit code (bin/flowgram.js sets it), so tests can call it directly.
 */
import { Command, CommanderError, Option } from 'commander';
import { errorMessage } from '../errors.js';
import { packageVersion } from '../server/version.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import type { ResumeFlags } from './resume.js';
import type { CommandIO, RunFlags } from './run.js';
import type { SecretsFlags } from './secrets.js';
import type { SignalFlags } from './signal.js';
import type { ServeFlags } from './serve.js';
import type { ValidateFlags } from './validate.js';
import type { WorkerFlags } from './worker.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',')];
}

function buildProgram(io: CommandIO, setCode: (code: ExitCode) => void): Command {
  const program = new Command('flowgram')
    .description('Run flowgram.ai workflows: serve the editor\'s runtime API, or run and validate workflow files.')
    .version(packageVersion, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showHelpAfterError('(run flowgram --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });

  program
    .command('serve')
    .description('start the HTTP server the flowgram.ai editor talks to')
    .option('--host <host>', 'address to listen on (env HOST)', undefined)
    .option('--port <port>', 'port to listen on, 0 for any free one (env PORT)', undefined)
    .option('--cors-origin <origins>', 'web origins that may call the server, comma-separated, * for any (env FLOWGRAM_CORS_ORIGINS; default loopback origins only)', collect)
    .option('--allowed-hosts <names>', 'Host names answered besides loopback ones when listening on loopback without a token, * for any (env FLOWGRAM_ALLOWED_HOSTS)', collect)
    .option('--deny-private-networks', 'HTTP and LLM nodes may not reach loopback, private, link-local or other special addresses (env FLOWGRAM_DENY_PRIVATE_NETWORKS=1)')
    .option('--max-running <n>', 'tasks running at once (env FLOWGRAM_MAX_RUNNING; default unlimited)')
    .option('--max-queued <n>', 'tasks waiting for a slot before new ones get 429 (env FLOWGRAM_MAX_QUEUED)')
    .option('--body-limit <bytes>', 'largest request body (env FLOWGRAM_BODY_LIMIT; default 1048576)')
    .option('--grace-ms <ms>', 'on SIGTERM/SIGINT, how long running tasks may finish before they are cancelled (default 10000)')
    .option('--db <path>', 'where tasks and reports persist: a SQLite file, :memory:, or a postgres:// URL (env FLOWGRAM_DB; default ./.flowgram/flowgram.db)')
    .option('--lease-ms <ms>', 'servers sharing a --db: one silent this long is taken for dead and its running tasks are settled by another (env FLOWGRAM_LEASE_MS; default 30000)')
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug, trace, silent (default info)')
    .option('--no-console', 'do not serve the web console at /')
    .option('--queue <url>', 'scale out: enqueue tasks on this Redis (redis://host:port) for `flowgram worker` processes instead of running them here (env FLOWGRAM_QUEUE)')
    .option('--secrets-file <file>', 'secrets workflows reference as ["secrets", NAME]: a JSON object or dotenv file (env FLOWGRAM_SECRETS_FILE)')
    .option('--limit <name=value>', 'a task limit, e.g. taskTimeoutMs=600000 (repeatable; env FLOWGRAM_LIMITS=name=value,…; names and defaults in the README)', collect)
    .addHelpText(
      'after',
      '\nSet FLOWGRAM_API_TOKEN to require "Authorization: Bearer <token>" on every route but /api/info.\nSecrets: FLOWGRAM_SECRET_<NAME> variables, --secrets-file, and the --db (encrypted with FLOWGRAM_SECRET_KEY or <db>.key).',
    )
    // Commands load lazily: `--version` and `--help` should not pay for the server's imports.
    .action(async (flags: ServeFlags) => setCode(await (await import('./serve.js')).serveCommand(flags, io)));

  program
    .command('worker')
    .description('run tasks that `flowgram serve --queue` servers enqueue; any number of workers on any machines')
    .option('--queue <url>', 'the Redis the servers enqueue on, redis://host:port (env FLOWGRAM_QUEUE)')
    .option('--concurrency <n>', 'tasks this worker runs at once (env FLOWGRAM_CONCURRENCY; default 8)')
    .option('--db <url>', 'the store the servers read: a postgres:// URL shared by the fleet (env FLOWGRAM_DB)')
    .option('--grace-ms <ms>', 'on SIGTERM/SIGINT, how long running tasks may finish before they are handed back to the queue (default 10000)')
    .option('--lock-ms <ms>', 'a dead worker\'s tasks go to another worker after about twice this (default 30000)')
    .option('--metrics-port <port>', 'serve Prometheus metrics on 127.0.0.1:<port>/metrics (0 for any free port)')
    .option('--deny-private-networks', 'HTTP and LLM nodes may not reach loopback, private, link-local or other special addresses (env FLOWGRAM_DENY_PRIVATE_NETWORKS=1)')
    .option('--secrets-file <file>', 'secrets workflows reference: a JSON object or dotenv file (env FLOWGRAM_SECRETS_FILE)')
    .option('--limit <name=value>', 'a task limit, e.g. taskTimeoutMs=600000 (repeatable; env FLOWGRAM_LIMITS=name=value,…)', collect)
    .addHelpText(
      'after',
      '\nDelivery is at-least-once: a task whose worker dies is continued from its checkpoints by another worker (the\nnodes in flight run again), unless its workflow is marked "resumable": false: then it fails as interrupted.',
    )
    .action(async (flags: WorkerFlags) => setCode(await (await import('./worker.js')).workerCommand(flags, io)));

  program
    .command('run')
    .description('run a workflow file; outputs go to stdout as JSON, progress to stderr')
    .argument('<workflow.json>', 'the workflow schema, as the editor exports it (- reads it from stdin)')
    .addOption(new Option('--inputs <json>', 'task inputs as a JSON object').conflicts('inputsFile'))
    .option('--inputs-file <file>', 'task inputs from a JSON file')
    .option('--report <file>', 'write the full task report (IReport) to this file')
    .option('--secrets-file <file>', 'secrets the workflow references: a JSON object or dotenv file (env FLOWGRAM_SECRETS_FILE); FLOWGRAM_SECRET_<NAME> variables too')
    .option('--no-progress', 'do not show per-node progress')
    .option('--quiet', 'do not show what nodes log (code nodes\' console output) under their progress lines')
    .option('--strict', 'inputs the start node does not declare are an error (default: a warning)')
    .option('--wait', 'at a wait node, keep waiting for its timeoutMs (its onError decides what follows) instead of stopping: nothing can signal a run of flowgram run')
    .addHelpText('after', '\nA workflow that reaches a wait node stops there with exit code 1 (a signal needs a server: flowgram serve, then flowgram signal).\nExit codes: 0 succeeded, 1 the workflow failed, was cancelled or waits for a signal, 2 bad usage or an invalid file.')
    .action(async (file: string, flags: RunFlags) => setCode(await (await import('./run.js')).runCommand(file, flags, io)));

  program
    .command('resume')
    .description('resume a failed or cancelled task on a running server from its checkpoints; prints its outputs as JSON')
    .argument('<taskID>', 'the task to resume (it keeps its ID)')
    .option('--server <url>', 'the server (env FLOWGRAM_SERVER; default http://127.0.0.1:4000); FLOWGRAM_API_TOKEN is sent as the bearer token')
    .addOption(new Option('--inputs <json>', 'run with these task inputs instead (the start node runs again)').conflicts('inputsFile'))
    .option('--inputs-file <file>', 'the new task inputs from a JSON file')
    .option('--no-wait', 'print {"taskID"} at once instead of waiting for the outputs')
    .addHelpText('after', '\nExit codes: 0 succeeded, 1 the task failed again or cannot be resumed (unknown, running, succeeded), 2 bad usage.')
    .action(async (taskID: string, flags: ResumeFlags) => setCode(await (await import('./resume.js')).resumeCommand(taskID, flags, io)));

  program
    .command('signal')
    .description('answer a wait node of a task waiting on a running server; the task runs on')
    .argument('<taskID>', 'the waiting task')
    .argument('<nodeID>', 'the wait node to answer')
    .addOption(new Option('--data <json>', 'the answer, a JSON object checked against the node\'s declared outputs').conflicts('dataFile'))
    .option('--data-file <file>', 'the answer from a JSON file')
    .option('--server <url>', 'the server (env FLOWGRAM_SERVER; default http://127.0.0.1:4000); FLOWGRAM_API_TOKEN is sent as the bearer token')
    .addHelpText('after', '\nExit codes: 0 answered, 1 refused (not waiting, unknown task), 2 bad usage or data that does not fit the node\'s outputs.')
    .action(async (taskID: string, nodeID: string, flags: SignalFlags) => setCode(await (await import('./signal.js')).signalCommand(taskID, nodeID, flags, io)));

  program
    .command('validate')
    .description('check a workflow file (and inputs) without running it; prints every problem with its path')
    .argument('<workflow.json>', 'the workflow schema')
    .addOption(new Option('--inputs <json>', 'task inputs as a JSON object').conflicts('inputsFile'))
    .option('--inputs-file <file>', 'task inputs from a JSON file')
    .option('--secrets-file <file>', 'secrets the workflow references: a JSON object or dotenv file (env FLOWGRAM_SECRETS_FILE); FLOWGRAM_SECRET_<NAME> variables too')
    .addHelpText('after', '\nExit codes: 0 valid, 1 problems found, 2 bad usage or an unreadable file.')
    .action(async (file: string, flags: ValidateFlags) => setCode(await (await import('./validate.js')).validateCommand(file, flags, io)));

  const secrets = program
    .command('secrets')
    .description('manage the secrets workflows reference as ["secrets", NAME] / {{secrets.NAME}}, stored encrypted in the --db');
  const dbOption = '--db <path>';
  const dbHelp = 'the store: a SQLite file or a postgres:// URL (env FLOWGRAM_DB; default ./.flowgram/flowgram.db)';
  secrets
    .command('set')
    .description('store a secret; the value is read from stdin, never from the command line')
    .argument('<NAME>', 'letters, digits and _')
    .option(dbOption, dbHelp)
    .addHelpText('after', '\nExample: printf %s "$OPENAI_API_KEY" | flowgram secrets set OPENAI_API_KEY')
    .action(async (name: string, flags: SecretsFlags) => setCode(await (await import('./secrets.js')).secretsSetCommand(name, flags, io)));
  secrets
    .command('list')
    .description('every secret name, where it comes from and when it changed (never a value)')
    .option(dbOption, dbHelp)
    .action(async (flags: SecretsFlags) => setCode(await (await import('./secrets.js')).secretsListCommand(flags, io)));
  secrets
    .command('rm')
    .description('remove a stored secret')
    .argument('<NAME>')
    .option(dbOption, dbHelp)
    .action(async (name: string, flags: SecretsFlags) => setCode(await (await import('./secrets.js')).secretsRemoveCommand(name, flags, io)));

  return program;
}

export async function main(argv: readonly string[], io: CommandIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let code: ExitCode = ExitCode.OK;
  const program = buildProgram(io, (value) => (code = value));
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.USAGE;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with exit code 0; commander already printed the usage problem.
      return error.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    io.stderr.write(`flowgram: ${errorMessage(error)}\n`);
    return exitCodeFor(error);
  }
}
