import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError, rateLimited } from '../errors.js';
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

/**
 * Runs in onRequest, before the body is read or anything validated: the token is checked first,
 * then the caller's rate. Sets `request.userId`. An anonymous caller learns nothing about a
 * route's parameters.
 */
/**
 * `redeemTicket` serves routes whose config says `ticket: true` (the event stream): without an
 * Authorization header, a single-use `?ticket=` names the user instead. Tokens themselves are
 * never read from the query string.
 */
export function authHook(
  verifier: TokenVerifier,
  limiter: RateLimiter | undefined,
  redeemTicket?: (ticket: string) => Promise<string | null>,
): onRequestAsyncHookHandler {
  async function limit(key: string): Promise<void> {
    if (limiter === undefined) return;
    const decision = await limiter.consume(key);
    if (!decision.allowed) throw rateLimited(decision.retryAfter);
  }

  return async function authenticate(request: FastifyRequest, _reply: FastifyReply) {
    const header = request.headers.authorization;
    let userId: string;
    try {
      const ticket = (request.query as { ticket?: unknown }).ticket;
      if ((header === undefined || header === '') && redeemTicket && request.routeOptions.config.ticket === true && typeof ticket === 'string') {
        const owner = await redeemTicket(ticket);
        if (owner === null) {
          throw new ApiError('INVALID_TOKEN', 'The ticket is invalid, expired or already used: get a new one (POST .../tasks/events/ticket)', {
            'www-authenticate': 'Bearer error="invalid_token"',
          });
        }
        await limit(`user:${owner}`);
        request.userId = owner;
        return;
      }
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
  };
}
