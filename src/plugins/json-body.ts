import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as it came: an Idempotency-Key's fingerprint covers it (src/sync/idempotency.ts). */
    rawBody: string | undefined;
  }
}

/** Decodes UTF-8 and throws on any invalid byte (instead of writing U+FFFD in its place). */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `charset=...` of a Content-Type, lower-cased and unquoted; undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? '');
  return match?.[2]?.toLowerCase();
}

/**
 * Bodies are JSON or nothing. JSON is UTF-8 (RFC 8259 §8.1): a `charset` other than UTF-8 is a
 * 415, and a body that is not valid UTF-8 is a 400, never stored with replacement characters. An
 * empty body is "no body" (PATCH .../complete sent with `Content-Type: application/json` and
 * nothing else, as many frontends do); anything that does not parse is a 400.
 */
export function installJsonBody(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.decorateRequest('rawBody', undefined);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return done(new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Request body must be JSON in UTF-8 (Content-Type: application/json; charset=utf-8)'), undefined);
    }
    const bytes = body as Buffer;
    if (bytes.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = UTF8.decode(bytes);
    } catch {
      return done(new ApiError('VALIDATION_ERROR', 'Request body is not valid UTF-8'), undefined);
    }
    request.rawBody = text;
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError('VALIDATION_ERROR', 'Request body is not valid JSON'), undefined);
    }
  });
}
