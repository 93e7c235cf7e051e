import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

const INFO_ENABLED = new Set(['info', 'debug', 'trace']);

/**
 * One structured line per request, written when it completes: request id (as reqId), user id,
 * method, route, status and latency. Fastify's separate "incoming request" line is dropped.
 * Headers are never logged, so no token or cookie reaches the log.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    // Under load with LOG_LEVEL=warn, a successful request costs no allocation here.
    if (!error && !INFO_ENABLED.has(reply.log.level)) return;
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? null,
      url: request.url.split('?')[0]?.slice(0, 300),
      userId: request.userId,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request failed');
    else reply.log.info(line, 'request');
  }
}
