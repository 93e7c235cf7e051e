import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * A client's (or a proxy's) X-Request-Id is taken when it is short and made of safe characters
 * (UUIDs, W3C trace ids, ULIDs: at most 128 of [A-Za-z0-9._:-]); anything else (16 KB of text, spaces, quotes,
 * control characters, non-ASCII) would flow into every log line and the response header, so the
 * request gets an id of ours instead.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function isSafeRequestId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_REQUEST_ID.test(value);
}

/** Fastify's `genReqId`: the client's id if safe, else a fresh UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return isSafeRequestId(given) ? given : randomUUID();
}
