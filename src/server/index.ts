/**
 * `createServer`: the flowgram.ai runtime server (a drop-in for the editor's runtime at
 * http://localhost:4000) as a Fastify app with graceful shutdown.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Runtime } from '../runtime.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, flowgramPlugin, resolveRuntime, type FlowgramPluginOptions } from './plugin.js';
import { RequestLog } from './request-log.js';
import { createTaskService } from './task-service.js';

export { flowgramPlugin, type FlowgramPluginOptions, type CorsOrigins } from './plugin.js';
export type { FlowgramRouter } from './trpc.js';

export interface ServerOptions extends Omit<FlowgramPluginOptions, 'service'> {
  /** pino logging: `false` (default) for none, `true` for info level, or pino options. One line per request. */
  logger?: FastifyServerOptions['logger'];
  /** Shut down gracefully on SIGTERM and SIGINT (what `flowgram serve` does). Default false. */
  handleSignals?: boolean;
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

export async function createServer(options: ServerOptions = {}): Promise<FlowgramServer> {
  const app = Fastify({
    logger: options.logger ?? false,
    // One line per request when logging; nothing at all (not even building the line) otherwise.
    ...(options.logger ? { logController: new RequestLog() } : {}),
    bodyLimit: options.bodyLimit,
    // Shutdown keeps long-lived streams until their tasks end; idle keep-alive sockets are closed.
    forceCloseConnections: 'idle',
  });
  const { runtime, owned } = resolveRuntime(options);
  const service = createTaskService(runtime);
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;

  await app.register(flowgramPlugin, { ...options, runtime, service });
  if (owned) app.addHook('onClose', () => runtime.close());

  let closing: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    // A second signal does not wait for the grace period: it cancels whatever still runs.
    if (closing) {
      void service.drain(0);
      return;
    }
    app.log.info({ signal, graceMs }, 'shutting down');
    void close();
  };
  function close(): Promise<void> {
    closing ??= (async () => {
      // During the grace period new tasks get 503 and /healthz says "draining" (load balancers stop
      // routing here), but reads still work, so the editor can poll its running task to the end.
      await service.drain(graceMs);
      await app.close();
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
