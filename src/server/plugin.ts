/**
 * `flowgramPlugin`: every route of the server (REST, SSE, tRPC, OpenAPI, Swagger UI, health) as one
 * Fastify plugin, so it mounts under a prefix inside an existing app:
 * `app.register(flowgramPlugin, { prefix: '/flow' })`. `createServer` is this plugin in its own app.
 */
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import { createRuntime, type ConcurrencyOptions, type Runtime, type RuntimeOptions } from '../runtime.js';
import { ErrorCodes, FlowgramError } from '../errors.js';
import type { FlowgramMetrics } from '../metrics/metrics.js';
import { bearerTokenHook } from './auth.js';
import { toHttpError } from './errors.js';
import { isConsolePath, registerConsole } from './console-route.js';
import { jsonDepthHook } from './json-depth.js';
import { buildOpenApiDocument } from './openapi.js';
import { originAllowed, requestOriginHook, type AllowedHosts, type CorsOrigins } from './request-origin.js';
import { routes } from './routes.js';
import { createTaskService, type TaskService } from './task-service.js';
import { trpcRoutes } from './trpc-route.js';
import { packageVersion } from './version.js';


export interface FlowgramPluginOptions {
  /** Run tasks on this runtime (the server never closes it). Default: a runtime of its own. */
  runtime?: Runtime;
  /** Options of the runtime the server creates when none is given. */
  runtimeOptions?: RuntimeOptions;
  /** Shorthand for `runtimeOptions.concurrency`: tasks running at once and queued behind them. */
  concurrency?: ConcurrencyOptions;
  /**
   * Web origins that may call the server (CORS); requests from any other origin are refused (403).
   * Default: loopback origins only (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`, e.g. a
   * local editor dev server); `true` for any; `false` turns CORS and the origin check off (the host app's concern).
   */
  cors?: CorsOrigins;
  /**
   * Without a token, a request that reaches the server on a loopback address must name it by a
   * loopback name (DNS rebinding); these names are accepted too, `true` accepts any.
   */
  allowedHosts?: AllowedHosts;
  /** Bearer token every route but the server info requires. Default: env FLOWGRAM_API_TOKEN; `null` turns it off. */
  apiToken?: string | null;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Serve /openapi.json and Swagger UI at /docs. Default true. */
  docs?: boolean;
  /** Serve the web console at / (run history, run viewer, start a run). Default true. */
  console?: boolean;
  /** How long a shutdown lets running tasks finish before cancelling them (ms). Default 10,000. */
  shutdownGraceMs?: number;
  /** Serve these Prometheus metrics at GET /metrics. */
  metrics?: FlowgramMetrics;
  /** @internal The service `createServer` shares with the plugin, so its `close()` can drain first. */
  service?: TaskService;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** The runtime the options ask for, and whether the server owns (and so closes) it. */
export function resolveRuntime(options: FlowgramPluginOptions): { runtime: Runtime; owned: boolean } {
  if (options.runtime) return { runtime: options.runtime, owned: false };
  const concurrency = options.concurrency ?? options.runtimeOptions?.concurrency;
  return { runtime: createRuntime({ ...options.runtimeOptions, ...(concurrency ? { concurrency } : {}) }), owned: true };
}

export function resolveToken(option: string | null | undefined): string | undefined {
  if (option === null) return undefined;
  const token = option ?? process.env.FLOWGRAM_API_TOKEN;
  return token ? token : undefined;
}

/** Mounts every route of the server inside an existing Fastify app. */
export const flowgramPlugin: FastifyPluginAsync<FlowgramPluginOptions> = async (app, options) => {
  let service = options.service;
  if (!service) {
    const { runtime, owned } = resolveRuntime(options);
    service = createTaskService(runtime);
    if (owned) app.addHook('onClose', () => runtime.close());
  }
  const tasks = service;
  const prefix = app.prefix;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const graceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const token = resolveToken(options.apiToken);

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = toHttpError(error);
    if (status >= 500) request.log.error({ err: error }, body.message);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const { status, body } = toHttpError(new FlowgramError(ErrorCodes.NOT_FOUND, `route: ${request.method} ${request.url.split('?', 1)[0]} does not exist`));
    return reply.code(status).send(body);
  });

  // Only JSON bodies: a text/plain body is refused with 415 rather than misread.
  app.removeContentTypeParser('text/plain');
  // Before anything recursive (validation, logging, the runtime) touches a body: its nesting is bounded.
  app.addHook('preValidation', jsonDepthHook(tasks.runtime.limits.maxJsonDepth));

  app.addHook('onRequest', requestOriginHook({ cors: options.cors, allowedHosts: options.allowedHosts, tokenRequired: token !== undefined }));
  if (options.cors !== false) {
    const corsOption = options.cors;
    await app.register(cors, {
      origin: corsOption === true || corsOption === '*' ? '*' : (origin, done) => done(null, origin !== undefined && originAllowed(corsOption, origin)),
      methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
      allowedHeaders: ['content-type', 'authorization', 'last-event-id', 'trpc-accept'],
      maxAge: 600,
    });
  }

  if (token) {
    const publicPaths = new Set(routes.filter((route) => route.protected === false).flatMap((route) => route.paths.map((path) => `${prefix}${path}`)));
    const consoleIsPublic = options.console !== false;
    app.addHook('onRequest', bearerTokenHook(token, (path) => publicPaths.has(path) || (consoleIsPublic && isConsolePath(path, prefix))));
  }

  // A shutdown of the host app lets this server's tasks finish (or cancels them) first.
  app.addHook('preClose', () => tasks.drain(graceMs));

  for (const route of routes) {
    for (const url of route.paths) {
      app.route({
        method: route.method,
        url,
        ...(route.body ? { bodyLimit } : {}),
        handler: (request, reply) => route.handle(tasks, request, reply),
      });
    }
  }

  if (options.metrics) {
    const metrics = options.metrics;
    app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.render()));
  }

  await app.register(trpcRoutes, { prefix: '/trpc', service: tasks, bodyLimit });

  if (options.console !== false) registerConsole(app, packageVersion);

  if (options.docs !== false) {
    const document = buildOpenApiDocument(routes, { prefix, bearerAuth: token !== undefined });
    app.get('/openapi.json', () => document);
    await app.register(swagger, { mode: 'static', specification: { document: document as never } });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  }
};

