import type { FastifyInstance } from 'fastify';

/** The headers of every JSON answer (also written by hand for answers Fastify never sees: error-handler.ts). */
export const JSON_API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Every answer carries its request id; JSON answers the headers of a JSON API (/docs is an HTML page). */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (!request.url.startsWith('/docs')) reply.headers(JSON_API_HEADERS);
  });
}
