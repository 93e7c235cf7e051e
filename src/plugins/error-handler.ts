import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable, isStorageFailure, QueryBudgetExceeded, vanishedReference } from '../db/errors.js';
import { ApiError, type ErrorCode } from '../errors.js';
import { LogThrottle } from '../lib/log-throttle.js';
import { loggableError, pathOf } from '../lib/request-log.js';
import { JSON_API_HEADERS } from './security-headers.js';
import { errorBody } from '../http/errors.js';

export { errorBody };
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
 * router's limit): the same `{error, code, detail}` body, without echoing the URL.
 */
export function frameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const [code, message] = FASTIFY_ERRORS[err.code] ?? ['VALIDATION_ERROR', 'The URL is not valid'];
  // No route, so no onSend hook: the headers every answer carries are set here.
  reply.headers({ ...JSON_API_HEADERS, 'x-request-id': request.id });
  reply.code(400).send(errorBody(message, code));
}

/** What Node's HTTP parser refuses, with our answer: [status, code, message]. */
function clientErrorAnswer(code: string | undefined): [number, ErrorCode, string] {
  if (code === 'HPE_HEADER_OVERFLOW') return [431, 'HEADERS_TOO_LARGE', 'The request headers are too large'];
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return [408, 'REQUEST_TIMEOUT', 'The request did not arrive in time'];
  return [400, 'VALIDATION_ERROR', 'The request is not valid HTTP'];
}

const clientErrorThrottle = new LogThrottle();

const CLIENT_ABORTED = 'client aborted the request';

/**
 * The client went away while its body was still arriving (Node reports `aborted`, ECONNRESET): its
 * own doing, not a failure of ours, and not the database's (whose ECONNRESET means "unavailable").
 */
function clientAborted(request: FastifyRequest): boolean {
  const raw = request.raw;
  return !raw.complete && (raw.readableAborted || raw.destroyed);
}

/**
 * Fastify's `clientErrorHandler`: requests Node's parser refuses (malformed HTTP, headers over the
 * limit, a request that does not arrive in time) never reach Fastify, so the answer is written
 * here, on the socket: the contract's body, the JSON security headers and a request id of ours,
 * then the connection is closed. One log line (bounded) says which parser error it was.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  // The connection ended in the middle of a request (a client that gave up its upload): nobody to
  // answer. When the request had reached a route, its error handler logs the abort, once.
  if (err.code === 'HPE_INVALID_EOF_STATE') {
    if (inFlight == null && clientErrorThrottle.admit(CLIENT_ABORTED).log) this.log.info({ reason: err.code }, CLIENT_ABORTED);
    socket.destroy();
    return;
  }
  const [status, code, message] = clientErrorAnswer(err.code);
  const id = randomUUID();
  if (clientErrorThrottle.admit(String(err.code)).log) this.log.info({ reqId: id, status, reason: err.code }, 'client error');
  // A response already under way on this socket (keep-alive) cannot be followed by another.
  if (socket.writable && inFlight?.headersSent !== true) {
    const body = JSON.stringify(errorBody(message, code));
    const headers = { ...JSON_API_HEADERS, 'x-request-id': id, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' };
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n');
    socket.write(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n${head}\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function toApiError(err: FastifyError): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err.validation) {
    return new ApiError('VALIDATION_ERROR', validationMessage(err.validation as never, err.validationContext));
  }
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return new ApiError(known[0], known[1]);
  if (err instanceof QueryBudgetExceeded) {
    return new ApiError(
      'SERVICE_UNAVAILABLE',
      `This request's query took longer than its budget (QUERY_BUDGET_MS, ${err.budgetMs} ms) and was stopped: narrow it (a longer q, a due range, a tag, a smaller limit) and try again`,
    );
  }
  if (isDatabaseUnavailable(err)) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly', { 'retry-after': '1' });
  }
  const vanished = vanishedReference(err);
  if (vanished !== undefined) return new ApiError('NOT_FOUND', vanished.includes('list_id') ? 'List not found' : 'Not found: it was deleted meanwhile');
  if (isStorageFailure(err)) {
    return new ApiError('SERVICE_UNAVAILABLE', 'The database cannot store changes right now; try again later', { 'retry-after': '5' });
  }
  const status = err.statusCode ?? 500;
  const code = status < 500 ? CODE_BY_STATUS[status] : undefined;
  // Fastify's client-error messages (4xx) are safe and specific; keep them.
  if (code) return new ApiError(code, err.message);
  return undefined;
}


/**
 * The one place errors become `{error, code, detail}` bodies. No stack, SQL or secret ever reaches
 * a body; 5xx are logged (bounded: a burst per kind of failure, then a count), without user data.
 * `onServerError` hears of each 5xx cause (the database remembers a full disk).
 */
export function installErrorHandlers(app: FastifyInstance, onServerError: (err: unknown) => void = () => {}): void {
  const throttle = new LogThrottle();
  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (clientAborted(request)) {
      const { log, suppressed } = throttle.admit(CLIENT_ABORTED);
      if (log) request.log.info({ reason: err.code, method: request.method, route: request.routeOptions.url, url: pathOf(request.url), ...(suppressed ? { suppressedBefore: suppressed } : {}) }, CLIENT_ABORTED);
      // Nobody reads this answer: the connection is gone.
      return reply.code(400).send(errorBody('The request was cut off before its end', 'VALIDATION_ERROR'));
    }
    const apiError = toApiError(err);
    if (apiError === undefined || apiError.statusCode >= 500) {
      onServerError(err);
      const cause = loggableError(err);
      const key = `${apiError?.code ?? 'INTERNAL_ERROR'}:${String(cause?.code ?? cause?.type)}`;
      const { log, suppressed } = throttle.admit(key);
      if (log) {
        request.log.error(
          { err: cause, method: request.method, route: request.routeOptions.url, url: pathOf(request.url), ...(suppressed ? { suppressedBefore: suppressed } : {}) },
          apiError ? apiError.message : 'unexpected error',
        );
      }
    }
    if (apiError === undefined) return reply.code(500).send(errorBody('Internal server error', 'INTERNAL_ERROR'));
    if (apiError.headers) reply.headers(apiError.headers);
    return reply.code(apiError.statusCode).send(errorBody(apiError.message, apiError.code));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url).slice(0, 200);
    reply.code(404).send(errorBody(`Route ${request.method} ${path} not found`, 'NOT_FOUND'));
  });
}
