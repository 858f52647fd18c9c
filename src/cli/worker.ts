/**
 * `flowgram worker --queue redis://…`: takes tasks from the queue the API servers (`flowgram serve
 * --queue`) fill, runs them, and writes them to the shared store (`--db postgres://…`). Any number of
 * workers on any machines. SIGTERM/SIGINT: stop taking tasks, let the running ones finish for up to
 * `--grace-ms`, then hand the rest back to the queue (another worker continues them from their
 * checkpoints, or fails them when marked `"resumable": false`). Optionally serves its own Prometheus metrics on `--metrics-port`.
 */
import { createServer, type Server } from 'node:http';
import { errorMessage } from '../errors.js';
import { createMetrics } from '../metrics/metrics.js';
import { checkRedisURL, redactRedisURL } from '../queue/connection.js';
import { startQueueWorker } from '../queue/worker.js';
import { ExitCode } from './exit-codes.js';
import { limitsOption } from './limits-option.js';
import { UsageError } from './load.js';
import type { CommandIO } from './run.js';
import { openSecrets } from './secrets-option.js';
import { envFlag, integer } from './serve.js';
import { openStore } from './store-option.js';

export interface WorkerFlags {
  queue?: string;
  concurrency?: string;
  db?: string;
  graceMs?: string;
  lockMs?: string;
  metricsPort?: string;
  denyPrivateNetworks?: boolean;
  secretsFile?: string;
  limit?: string[];
}

export async function workerCommand(flags: WorkerFlags, io: CommandIO): Promise<ExitCode> {
  const env = process.env;
  const url = flags.queue ?? env.FLOWGRAM_QUEUE;
  if (!url) throw new UsageError('--queue: required, e.g. --queue redis://127.0.0.1:6379');
  try {
    checkRedisURL(url);
  } catch (error) {
    throw new UsageError(`--queue: ${errorMessage(error).replace(/^queue: /, '')}`);
  }
  const concurrency = integer(flags.concurrency ?? env.FLOWGRAM_CONCURRENCY, '--concurrency', 1, 10_000) ?? 8;
  const limits = limitsOption(flags.limit, env.FLOWGRAM_LIMITS);
  const graceMs = integer(flags.graceMs ?? env.FLOWGRAM_SHUTDOWN_GRACE_MS, '--grace-ms', 0) ?? 10_000;
  const lockMs = integer(flags.lockMs, '--lock-ms', 500);
  const metricsPort = integer(flags.metricsPort, '--metrics-port', 0, 65_535);

  const { store, where } = await openStore(flags.db);
  const metrics = createMetrics();
  let worker;
  let secrets;
  try {
    // Workers resolve secrets from the shared store; a key that cannot open them stops the worker here.
    secrets = await openSecrets(store, flags.db, where, flags.secretsFile);
  } catch (error) {
    await store.close();
    throw error;
  }
  try {
    const denyPrivateNetworks = flags.denyPrivateNetworks === true || envFlag(env.FLOWGRAM_DENY_PRIVATE_NETWORKS);
    worker = await startQueueWorker({ url, store, concurrency, lockMs, metrics, runtimeOptions: { secrets, limits, network: { denyPrivateNetworks } } });
  } catch (error) {
    await store.close();
    throw new UsageError(`--queue: ${errorMessage(error).replace(/^queue: /, '')}`);
  }

  let metricsServer: Server | undefined;
  if (metricsPort !== undefined) {
    metricsServer = createServer((request, response) => {
      if (request.url?.split('?', 1)[0] !== '/metrics') return void response.writeHead(404).end();
      metrics.render().then(
        (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(errorMessage(error)),
      );
    });
    await new Promise<void>((resolve) => metricsServer?.listen(metricsPort, '127.0.0.1', resolve));
  }
  const address = metricsServer?.address();
  const metricsNote = address && typeof address === 'object' ? `; metrics on http://127.0.0.1:${address.port}/metrics` : '';
  io.stderr.write(`flowgram worker taking tasks from ${redactRedisURL(url)} (concurrency ${concurrency}; tasks in ${where}${metricsNote})\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  io.stderr.write(`flowgram worker: ${signal}, finishing ${worker.running()} running task(s) (up to ${graceMs} ms)\n`);
  // A second signal does not wait for the grace period.
  const again = new Promise<'handed-back'>((resolve) => process.once(signal, () => resolve('handed-back')));
  const outcome = await Promise.race([worker.close(graceMs), again]);
  metricsServer?.close();
  if (outcome === 'handed-back') {
    io.stderr.write('flowgram worker: grace period over, running tasks are left to other workers\n');
    // Running tasks still hold the event loop; their jobs' locks expire and another worker takes them.
    process.exit(ExitCode.OK);
  }
  return ExitCode.OK;
}
