import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError } from '../errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import type { TokenVerifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (the token's `sub`); set by the auth hook on /api routes. */
    userId: string | undefined;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer' };
const BEARER = /^Bearer +([^\s]+) *$/i;

export function rateLimited(retryAfter: number): ApiError {
  return new ApiError('RATE_LIMITED', `Too many requests; retry in ${retryAfter} s`, { 'retry-after': String(retryAfter) });
}

/**
 * Runs in onRequest, before the body is read or anything validated: the token is checked first,
 * then the caller's rate, then that the path's user is the token's user. An anonymous caller
 * learns nothing about a route's parameters.
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
      // Failed attempts count against the caller's address, so guessing tokens is rate-limited too.
      if (err instanceof ApiError && err.statusCode === 401) await limit(`ip:${request.ip}`);
      throw err;
    }
    await limit(`user:${userId}`);
    request.userId = userId;
    const pathUser = (request.params as { user_id?: string }).user_id;
    if (pathUser !== undefined && pathUser !== userId) {
      throw new ApiError('FORBIDDEN', "You can only access your own tasks: the path's user is not the token's user");
    }
  };
}
