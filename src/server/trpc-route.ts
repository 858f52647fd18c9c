/**
 * Mounts the tRPC router at /trpc with the adapter's request handler. Unlike the adapter's own plugin
 * it also matches procedure names that contain slashes (upstream's `/task/run`), which arrive as
 * `/trpc//task/run`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { TaskService } from './task-service.js';
import { flowgramRouter } from './trpc.js';

export interface TrpcRouteOptions {
  service: TaskService;
  bodyLimit: number;
}

export async function trpcRoutes(app: FastifyInstance, options: TrpcRouteOptions): Promise<void> {
  // tRPC reads bodies itself (batches, form data); Fastify only hands it the text.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_request, body, done) => done(null, body));

  const handle = (request: FastifyRequest, path: string, reply: Parameters<typeof fastifyRequestHandler>[0]['res']) =>
    fastifyRequestHandler({
      router: flowgramRouter,
      createContext: () => ({ service: options.service }),
      maxBodySize: options.bodyLimit,
      req: request,
      res: reply,
      path,
    });

  app.all<{ Params: { path: string } }>('/:path', (request, reply) => handle(request, request.params.path, reply));
  app.all<{ Params: { '*': string } }>('/*', (request, reply) => handle(request, request.params['*'], reply));
}
