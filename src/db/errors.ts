/** Error codes meaning "the database cannot be reached or is going away", not "your query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // The embedded server's socket is missing while it restarts.
  'ENOENT',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'QUERY_TIMEOUT', // no answer in time (db/client.ts)
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57014', // query_canceled (statement_timeout)
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
]);

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown; message?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    // Class 08 is "connection exception", except 08P01 (protocol violation): a misconfiguration
    // (an unsupported startup parameter, say), which retrying cannot fix.
    if (code !== undefined && (UNAVAILABLE_CODES.has(code) || (code.startsWith('08') && code !== '08P01'))) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** The first error code along the cause chain (a SQLSTATE, or a Node code such as ENOTFOUND). */
export function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/**
 * The server cannot store: disk full (53100), out of memory (53200), an I/O error (58030). Like an
 * unreachable database, a 503 (nothing was written); readiness then probes writes until one works.
 */
export function isStorageFailure(err: unknown): boolean {
  const code = errorCode(err);
  return code === '53100' || code === '53200' || code === '58030';
}

/**
 * A write that named a row another transaction deleted while it waited (foreign_key_violation,
 * 23503): a task created in, or moved to, a list deleted meanwhile. The referenced thing is gone for
 * the caller as if it had never been: a 404, not a 500. Which column: the constraint's name.
 */
export function vanishedReference(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; constraint_name?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.code === '23503') return typeof e.constraint_name === 'string' ? e.constraint_name : '';
    e = e.cause as typeof e;
  }
  return undefined;
}

/** The error of a budgeted statement cancelled at its budget. */
export class QueryBudgetExceeded extends Error {
  readonly code = 'QUERY_BUDGET';
  constructor(readonly budgetMs: number) {
    super(`The query took longer than its budget of ${budgetMs} ms`);
  }
}
