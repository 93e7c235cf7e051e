import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError, rateLimited } from '../errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import { InvalidTokenError } from './claims.js';
import type { TokenVerifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (the token's `sub`); set by the auth hook on /api routes. */
    userId: string | undefined;
    /** Why the token was refused (claims.ts REFUSALS), for the request's log line; never the token. */
    tokenRefused: string | undefined;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer' };
const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Runs in onRequest, before the body is read or anything validated: the token is checked first,
 * then the caller's rate. Sets `request.userId`. An anonymous caller learns nothing about a
 * route's parameters.
 */
export function authHook(verifier: TokenVerifier, limiter: RateLimiter | undefined): onRequestAsyncHookHandler {
  async function limit(key: string): Promise<void> {
    if (limiter === undefined) return;
    const decision = await limiter.consume(key);
    if (!decision.allowed) throw rateLimited(decision.retryAfter);
  }

  return async function authenticate(request: FastifyRequest, _reply: FastifyReply) {
    const header = request.headers.authorization;
    let userId: string;
    try {
      if (header === undefined || header === '') {
        throw new ApiError('UNAUTHORIZED', 'Missing Authorization header (expected: Bearer <token>)', CHALLENGE);
      }
      const token = BEARER.exec(header)?.[1];
      if (token === undefined) {
        throw new ApiError('UNAUTHORIZED', 'Malformed Authorization header (expected: Bearer <token>)', CHALLENGE);
      }
      userId = (await verifier.verify(token)).userId;
    } catch (err) {
      if (err instanceof InvalidTokenError) request.tokenRefused = err.reason;
      // Failed attempts count against the caller's address, so guessing tokens is rate-limited too.
      if (err instanceof ApiError && err.statusCode === 401) await limit(`ip:${request.ip}`);
      throw err;
    }
    await limit(`user:${userId}`);
    request.userId = userId;
  };
}
