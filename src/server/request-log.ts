/**
 * One pino line per request, written when it completes (Fastify's default is two: incoming and
 * completed), with what an operator scans for: method, url, status, time.
 */
import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { maskAccessToken } from './auth.js';

export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = {
      method: request.method,
      url: maskAccessToken(request.url),
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}
