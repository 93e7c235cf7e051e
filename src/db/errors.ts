/** Error codes meaning "the database cannot be reached or is going away", not "your query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
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
    if (typeof e.message === 'string' && /PGlite is closed/i.test(e.message)) return true;
    e = e.cause as typeof e;
  }
  return false;
}
