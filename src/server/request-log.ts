/**
 * One pino line per request, written when it completes (Fastify's default is two: incoming and
 * completed), with what an operator scans for: method, url, status, time.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { maskAccessToken } from './auth.js';

export class RequestLog extends LogController {
  /** `token`: the API token, masked by value wherever it appears in a URL. */
  constructor(private readonly token?: string) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: maskAccessToken(request.url, this.token),
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }

  // Fastify's own lines would print the raw request (its URL) with these.
  override writeHeadError(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.warn({ url: maskAccessToken(request.url, this.token), err: error }, error.message);
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    reply.log.error({ url: maskAccessToken(request.url, this.token), statusCode: reply.statusCode, err: error }, error.message);
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ url: maskAccessToken(request.url, this.token) }, 'route not found');
  }
}
