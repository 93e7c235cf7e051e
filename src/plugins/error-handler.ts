import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, isStorageFailure } from '../db/errors.js';
import { ApiError, type ErrorCode } from '../errors.js';
import { validationMessage } from './validation.js';

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/** Fastify's own errors that carry a client-facing meaning, with the message we give instead. */
const FASTIFY_ERRORS: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['PAYLOAD_TOO_LARGE', 'Request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', 'Request body must be JSON (Content-Type: application/json)'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['VALIDATION_ERROR', 'Content-Length does not match the body'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['VALIDATION_ERROR', 'body must be a JSON object'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['VALIDATION_ERROR', 'Request body is not valid JSON'],
  FST_ERR_BAD_URL: ['VALIDATION_ERROR', 'The URL is not valid'],
  FST_ERR_MAX_PARAM_LENGTH: ['VALIDATION_ERROR', 'A path segment is too long'],
  FST_ERR_ASYNC_CONSTRAINT: ['VALIDATION_ERROR', 'The request is not valid'],
};

/**
 * Errors Fastify raises before any route runs (a URL that does not decode, a path segment over the
 * router's limit): the same `{error, code}` body, without echoing the URL.
 */
export function frameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const [code, message] = FASTIFY_ERRORS[err.code] ?? ['VALIDATION_ERROR', 'The URL is not valid'];
  reply.code(400).send({ error: message, code });
}

function toApiError(err: FastifyError): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err.validation) {
    return new ApiError('VALIDATION_ERROR', validationMessage(err.validation as never, err.validationContext));
  }
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return new ApiError(known[0], known[1]);
  if (isDatabaseUnavailable(err)) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly', { 'retry-after': '1' });
  }
  if (isStorageFailure(err)) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database cannot store changes right now; try again later', { 'retry-after': '5' });
  }
  const status = err.statusCode ?? 500;
  const code = status < 500 ? CODE_BY_STATUS[status] : undefined;
  // Fastify's client-error messages (4xx) are safe and specific; keep them.
  if (code) return new ApiError(code, err.message);
  return undefined;
}

/** The path without the query string: a token in `?access_token=` must not reach the log. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, 300);
}

/**
 * What of an error is logged: its kind, message, code and stack, and the same of its cause. Not
 * its other fields: a database error carries the statement's parameters (titles, user ids).
 */
export function loggableError(err: unknown, depth = 0): Record<string, unknown> | undefined {
  if (!(err instanceof Error) || depth > 3) return undefined;
  const e = err as Error & { code?: unknown; statusCode?: unknown };
  return {
    type: e.name,
    message: e.message,
    code: e.code,
    statusCode: e.statusCode,
    stack: e.stack,
    cause: loggableError(e.cause, depth + 1),
  };
}

/** The one place errors become `{error, code}` bodies. No stack, SQL or secret ever reaches a body. */
export function installErrorHandlers(app: FastifyInstance, onUnexpected: (err: unknown) => void = () => {}): void {
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(err);
    if (apiError === undefined || apiError.statusCode >= 500) onUnexpected(err);
    if (apiError === undefined || apiError.statusCode >= 500) {
      request.log.error(
        { err: loggableError(err), method: request.method, route: request.routeOptions.url, url: pathOf(request.url) },
        apiError ? apiError.message : 'unexpected error',
      );
    }
    if (apiError === undefined) {
      return reply.code(500).send({ error: 'Internal server error', code: 'INTERNAL_ERROR' });
    }
    if (apiError.headers) reply.headers(apiError.headers);
    return reply.code(apiError.statusCode).send({ error: apiError.message, code: apiError.code });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url).slice(0, 200);
    reply.code(404).send({ error: `Route ${request.method} ${path} not found`, code: 'NOT_FOUND' });
  });
}
