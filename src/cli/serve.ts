/**
 * `flowgram serve`: the runtime server the flowgram.ai editor calls (default http://127.0.0.1:4000),
 * with request logging, tasks persisted in SQLite (--db), and graceful shutdown on SIGTERM/SIGINT.
 * Resolves once the server has closed.
 */
import { pino, type Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { createMetrics } from '../metrics/metrics.js';
import { checkRedisURL, redactRedisURL } from '../queue/connection.js';
import { connectQueueService } from '../queue/queue-task-service.js';
import { createServer, type ServerOptions } from '../server/index.js';
import { isLoopbackHostname } from '../server/request-origin.js';
import { ExitCode } from './exit-codes.js';
import { limitsOption } from './limits-option.js';
import { UsageError } from './load.js';
import type { CommandIO } from './run.js';
import { openSecrets } from './secrets-option.js';
import { openStore } from './store-option.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  corsOrigin?: string[];
  allowedHosts?: string[];
  denyPrivateNetworks?: boolean;
  /** False with --no-console. */
  console?: boolean;
  maxRunning?: string;
  maxQueued?: string;
  bodyLimit?: string;
  graceMs?: string;
  logLevel?: string;
  db?: string;
  leaseMs?: string;
  queue?: string;
  secretsFile?: string;
  limit?: string[];
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** A whole number from a flag or an environment variable, or undefined when neither is set. */
export function integer(value: string | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`${name}: must be a whole number between ${min} and ${max}, got "${value}"`);
  }
  return parsed;
}

/** A comma-separated list from a flag or an environment variable: undefined when empty, `true` for `*`. */
function nameList(list: string[] | undefined, env: string | undefined): true | string[] | undefined {
  const names = (list ?? env?.split(',') ?? []).map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) return undefined;
  return names.includes('*') ? true : names;
}

/** `1`/`true`/`yes` (any case) turn a boolean environment variable on. */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

/** A malformed --queue URL is refused before anything is opened. */
function checkQueueURL(url: string): void {
  try {
    checkRedisURL(url);
  } catch (error) {
    throw new UsageError(`--queue: ${errorMessage(error).replace(/^queue: /, '')}`);
  }
}

/**
 * The server's own lines (where it listens, warnings of the process) as pino JSON on stderr, whatever
 * --log-level filters from the request log: an operator always needs the address. Node's own warning
 * printer is replaced, so no plain-text line mixes into the log.
 */
function serverAnnouncements(): Logger {
  const announce = pino({ base: { name: 'flowgram' } }, pino.destination({ fd: 2, sync: true }));
  process.removeAllListeners('warning');
  process.on('warning', (warning) => announce.warn({ warning: warning.name }, warning.message));
  return announce;
}

export async function serveCommand(flags: ServeFlags, _io: CommandIO): Promise<ExitCode> {
  const env = process.env;
  const port = integer(flags.port ?? env.PORT, '--port', 0, 65_535) ?? 4000;
  const host = flags.host ?? env.HOST ?? '127.0.0.1';
  const maxRunningTasks = integer(flags.maxRunning ?? env.FLOWGRAM_MAX_RUNNING, '--max-running', 1);
  const maxQueuedTasks = integer(flags.maxQueued ?? env.FLOWGRAM_MAX_QUEUED, '--max-queued', 0);
  const leaseMs = integer(flags.leaseMs ?? env.FLOWGRAM_LEASE_MS, '--lease-ms', 100);
  const limits = limitsOption(flags.limit, env.FLOWGRAM_LIMITS);
  const level = flags.logLevel ?? env.FLOWGRAM_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.has(level)) throw new UsageError(`--log-level: must be one of ${[...LOG_LEVELS].join(', ')}, got "${level}"`);

  const denyPrivateNetworks = flags.denyPrivateNetworks === true || envFlag(env.FLOWGRAM_DENY_PRIVATE_NETWORKS);
  const queueURL = flags.queue ?? env.FLOWGRAM_QUEUE;
  if (queueURL) checkQueueURL(queueURL);
  const { store, where } = await openStore(flags.db);
  let secrets: Awaited<ReturnType<typeof openSecrets>>;
  try {
    // A key that cannot open the stored secrets stops the server here, before it accepts anything.
    secrets = await openSecrets(store, flags.db, where, flags.secretsFile);
  } catch (error) {
    await store.close();
    throw error;
  }
  const metrics = createMetrics();
  let taskService: ServerOptions['taskService'];
  if (queueURL) {
    try {
      taskService = await connectQueueService({ url: queueURL, store, metrics });
    } catch (error) {
      await store.close();
      throw new UsageError(`--queue: ${errorMessage(error).replace(/^queue: /, '')}`);
    }
  }

  const server = await createServer({
    logger: { level },
    // In queue mode the workers run the tasks and the store is the queue service's; the server's
    // runtime only validates (given the store, it would settle the fleet's running tasks as its own).
    runtimeOptions: taskService ? { secrets, limits } : { store, secrets, limits, recovery: { leaseMs }, network: { denyPrivateNetworks } },
    taskService,
    metrics,
    handleSignals: true,
    cors: nameList(flags.corsOrigin, env.FLOWGRAM_CORS_ORIGINS),
    allowedHosts: nameList(flags.allowedHosts, env.FLOWGRAM_ALLOWED_HOSTS),
    concurrency: { maxRunningTasks, maxQueuedTasks },
    bodyLimit: integer(flags.bodyLimit ?? env.FLOWGRAM_BODY_LIMIT, '--body-limit', 1),
    shutdownGraceMs: integer(flags.graceMs ?? env.FLOWGRAM_SHUTDOWN_GRACE_MS, '--grace-ms', 0),
    console: flags.console !== false,
  });
  const closed = new Promise<void>((resolve) => server.app.addHook('onClose', (_app, done) => (resolve(), done())));
  const announce = serverAnnouncements();
  let url: string;
  try {
    url = await server.listen({ host, port });
  } catch (error) {
    await server.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new UsageError(`--port ${port}: address ${host}:${port} is already in use`);
    throw error;
  }
  const mode = queueURL ? `; queue ${redactRedisURL(queueURL)}` : '';
  announce.info({ url }, `flowgram server listening on ${url} (API ${url}/api, docs ${url}/docs; tasks in ${where}${mode})`);
  if (flags.console !== false) announce.info({ url: `${url}/` }, `console (run history, run viewer, start a run) at ${url}/`);
  if (!isLoopbackHostname(host) && !env.FLOWGRAM_API_TOKEN) {
    announce.warn(
      { host },
      `listening on ${host}, beyond loopback, without FLOWGRAM_API_TOKEN: anyone who can reach this address can run workflows (code included); set FLOWGRAM_API_TOKEN`,
    );
  }
  await closed;
  return ExitCode.OK;
}
