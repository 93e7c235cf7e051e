import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/** The path without the query string: a token in `?access_token=` must not reach the log. */
export function pathOf(url: string): string {
  const q = url.indexOf('?');
  return redactSecrets((q < 0 ? url : url.slice(0, q)).slice(0, 300));
}

/**
 * Paths that carry a secret in place of a token (a calendar feed's address, an invitation's): the
 * secret is replaced, so no log line holds one.
 */
function redactSecrets(path: string): string {
  return path.replace(/^\/ical\/[^/]*/, '/ical/[secret].ics').replace(/\/invitations\/[^/]+\/accept/, '/invitations/[token]/accept');
}

/** A PostgreSQL error (postgres.js PostgresError): a SQLSTATE code and a severity. */
function isServerError(e: object): boolean {
  return typeof (e as { code?: unknown }).code === 'string' && /^[0-9A-Z]{5}$/.test((e as { code: string }).code) && 'severity' in e;
}

/** An error that carries a statement and its parameters (Drizzle's "Failed query: ... params: ..."). */
function carriesQuery(e: object): boolean {
  return 'query' in e || 'params' in e || 'parameters' in e;
}

/**
 * What of an error is logged. A database error: its SQLSTATE, severity, the server routine and
 * the names of the table, column and constraint involved, never its message, detail, hint or
 * query (they can quote what users wrote: values, titles, tags). An error wrapping a query (a
 * Drizzle query error, whose message and stack hold the SQL and every parameter): its kind and
 * code, and its cause as above. Any other error: its kind, message, code and stack. The same for
 * its cause.
 */
export function loggableError(err: unknown, depth = 0): Record<string, unknown> | undefined {
  if (!(err instanceof Error) || depth > 3) return undefined;
  const e = err as Error & Record<string, unknown>;
  if (carriesQuery(e) && !isServerError(e)) return { type: e.name, code: e.code, cause: loggableError(e.cause, depth + 1) };
  if (isServerError(e)) {
    return {
      type: e.name,
      code: e.code,
      severity: e.severity,
      routine: e.routine,
      table: e.table_name,
      column: e.column_name,
      constraint: e.constraint_name,
    };
  }
  return {
    type: e.name,
    message: e.message,
    code: e.code,
    statusCode: e.statusCode,
    stack: e.stack,
    cause: loggableError(e.cause, depth + 1),
  };
}

const INFO_ENABLED = new Set(['info', 'debug', 'trace']);

/**
 * One structured line per request, written when it completes: request id (as reqId), user id,
 * method, route, status and latency, and for a refused token why (`tokenRefused`: bad_signature,
 * expired, wrong_issuer, ...). Fastify's separate "incoming request" line is dropped. Headers are
 * never logged, so no token or cookie reaches the log.
 */
export class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    // Under load with LOG_LEVEL=warn, a successful request costs no allocation here.
    if (!error && !INFO_ENABLED.has(reply.log.level)) return;
    const line = {
      method: request.method,
      route: request.routeOptions.url ?? null,
      url: pathOf(request.url),
      userId: request.userId,
      ...(request.tokenRefused !== undefined ? { tokenRefused: request.tokenRefused } : {}),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (error) reply.log.error({ ...line, err: loggableError(error) }, 'request failed');
    else reply.log.info(line, 'request');
  }
}
