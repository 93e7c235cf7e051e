import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as it came: an Idempotency-Key's fingerprint covers it (src/sync/idempotency.ts). */
    rawBody: string | undefined;
  }
}

/**
 * Bodies are JSON or nothing. An empty body is "no body" (PATCH .../complete sent with
 * `Content-Type: application/json` and nothing else, as many frontends do); anything that does not
 * parse is a 400.
 */
export function installJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.decorateRequest('rawBody', undefined);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new ApiError('VALIDATION_ERROR', 'Request body is not valid JSON'), undefined);
    }
  });
}
