import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

/**
 * Bodies are JSON or nothing. An empty body is "no body" (PATCH .../complete sent with
 * `Content-Type: application/json` and nothing else, as many frontends do); anything that does not
 * parse is a 400.
 */
export function installJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new ApiError('VALIDATION_ERROR', 'Request body is not valid JSON'), undefined);
    }
  });
}
