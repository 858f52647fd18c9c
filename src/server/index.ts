/**
 * `createServer`: the flowgram.ai runtime server (a drop-in for the editor's runtime at
 * http://localhost:4000) as a Fastify app with graceful shutdown.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { ErrorCodes, FlowgramError } from '../errors.js';
import { observeRuntime } from '../metrics/observe-runtime.js';
import type { Runtime } from '../runtime.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, flowgramPlugin, resolveRuntime, resolveToken, type FlowgramPluginOptions } from './plugin.js';
import { RequestLog } from './request-log.js';
import { createTaskService, type TaskService } from './task-service.js';

export { flowgramPlugin, type FlowgramPluginOptions } from './plugin.js';
export type { AllowedHosts, CorsOrigins } from './request-origin.js';
export type { FlowgramRouter } from './trpc.js';
export type { TaskService, LiveTask, HealthStatus, ServerInfo } from './task-service.js';

export interface ServerOptions extends Omit<FlowgramPluginOptions, 'service'> {
  /**
   * Serve tasks through another TaskService (e.g. a queue feeding a fleet of workers) instead of
   * running them on the server's runtime, which is then used only to validate. Its `close()` is
   * called when the server closes.
   */
  taskService?: (runtime: Runtime) => TaskService;
  /** pino logging: `false` (default) for none, `true` for info level, or pino options. One line per request. */
  logger?: FastifyServerOptions['logger'];
  /** Shut down gracefully on SIGTERM and SIGINT (what `flowgram serve` does). Default false. */
  handleSignals?: boolean;
  /**
   * How long a client may take to send a whole request, headers and body (ms); a slower one gets 408
   * and its connection is closed. Headers alone must arrive within 10 s (or this, if shorter). Default 30,000.
   */
  requestTimeoutMs?: number;
}

export interface ListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 4000, the port the editor calls; 0 picks a free one. */
  port?: number;
}

export interface FlowgramServer {
  readonly app: FastifyInstance;
  readonly runtime: Runtime;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:4000`. */
  listen(options?: ListenOptions): Promise<string>;
  /**
   * Graceful shutdown: stops accepting new tasks (503), lets running tasks finish for up to the grace
   * period (reports and streams can still be read meanwhile), cancels the rest with a recorded reason,
   * then stops listening and closes the app (and the runtime, if the server created it). Idempotent.
   */
  close(): Promise<void>;
}

/** How long a closing server waits for open responses after the tasks have drained. */
const CONNECTION_CLOSE_WAIT_MS = 2_000;
/** Fastify waits for a request body forever by default: a slow client would hold its connection without end. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;

export async function createServer(options: ServerOptions = {}): Promise<FlowgramServer> {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!(Number.isInteger(requestTimeoutMs) && requestTimeoutMs > 0)) {
    throw new FlowgramError(ErrorCodes.BAD_REQUEST, 'requestTimeoutMs: must be a positive whole number of milliseconds');
  }
  const app = Fastify({
    logger: options.logger ?? false,
    requestTimeout: requestTimeoutMs,
    // Node checks these timeouts every connectionsCheckingInterval (30 s by default): often enough to honour them.
    http: { headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeoutMs), connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs) },
    // One line per request when logging; nothing at all (not even building the line) otherwise.
    ...(options.logger ? { logController: new RequestLog(resolveToken(options.apiToken)) } : {}),
    bodyLimit: options.bodyLimit,
    // On close, idle keep-alive sockets go at once; busy ones finish their response first.
    forceCloseConnections: 'idle',
  });
  const { runtime, owned } = resolveRuntime(options);
  const service = options.taskService ? options.taskService(runtime) : createTaskService(options.metrics ? observeRuntime(runtime, options.metrics) : runtime);
  // Waiting tasks are counted where they are kept (the store, in queue mode the fleet's), at every scrape.
  options.metrics?.watchWaiting(async () => (await service.list({ status: 'waiting', limit: 1 })).counts.waiting);
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;

  const { taskService: _factory, requestTimeoutMs: _timeout, ...pluginOptions } = options;
  await app.register(flowgramPlugin, { ...pluginOptions, runtime, service });
  if (service.close) app.addHook('onClose', () => service.close?.());
  if (owned) app.addHook('onClose', () => runtime.close());

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal does not wait for the grace period: it cancels whatever still runs.
    if (closing) {
      void service.drain(0);
      return;
    }
    app.log.info({ signal, graceMs }, 'shutting down');
    // Never an unhandled rejection on the way out: what failed is logged, the process still ends.
    close().catch((error: unknown) => app.log.error({ err: error }, 'shutdown failed'));
  };
  function close(): Promise<void> {
    closing ??= (async () => {
      // During the grace period new tasks get 503 and /healthz says "draining" (load balancers stop
      // routing here), but reads still work, so the editor can poll its running task to the end.
      await service.drain(graceMs);
      // Streams and long-polls of tasks this server did not start (a shared runtime) could hold the
      // close forever: after a short wait, their connections are cut.
      const cut = setTimeout(() => app.server.closeAllConnections(), CONNECTION_CLOSE_WAIT_MS);
      cut.unref();
      await app.close();
      clearTimeout(cut);
      app.server.closeIdleConnections();
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    })();
    return closing;
  }
  if (options.handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  return {
    app,
    runtime,
    async listen(listenOptions = {}) {
      return app.listen({ host: listenOptions.host ?? '127.0.0.1', port: listenOptions.port ?? 4000 });
    },
    close,
  };
}
