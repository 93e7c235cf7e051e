import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ApiError, rateLimited } from '../errors.js';
import type { RateLimiter } from '../lib/rate-limiter.js';
import { InvalidTokenError, type Profile } from './claims.js';
import type { TokenVerifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (the token's `sub`); set by the auth hook on /api routes. */
    userId: string | undefined;
    /** Why the token was refused (claims.ts REFUSALS), for the request's log line; never the token. */
    tokenRefused: string | undefined;
    /** The name and email the token (or session) carries, if any: members' lists show them. */
    profile: Profile | undefined;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer' };
const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Runs in onRequest, before the body is read or anything validated: a token verified before is
 * taken from the cache (microseconds); any other token first counts against the caller's IP
 * rate limit, then is verified; then the user's rate. Sets `request.userId`. An anonymous caller learns nothing about a
 * route's parameters.
 */
/**
 * `redeemTicket` serves routes whose config says `ticket: true` (the event stream): without an
 * Authorization header, a single-use `?ticket=` names the user instead, after the caller's IP was
 * counted (then the user's rate, as for a token). Tokens themselves are never read from the query
 * string.
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
    let countedIp = false;
    try {
      const ticket = (request.query as { ticket?: unknown }).ticket;
      if ((header === undefined || header === '') && redeemTicket && request.routeOptions.config.ticket === true && typeof ticket === 'string') {
        // Anonymous until redeemed: the caller's address is counted before the ticket is looked
        // up, so that guesses beyond the limit cost no query (and spend no real ticket).
        countedIp = true;
        await limit(`ip:${request.ip}`);
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
      let principal = verifier.cached(token);
      if (principal === undefined) {
        // A token not verified before counts against the caller's address first, whatever comes
        // of it (401, 503, or a user), so that no anonymous client makes more checks (or calls
        // to Better Auth) than its rate limit allows.
        countedIp = true;
        await limit(`ip:${request.ip}`);
        principal = await verifier.verify(token, { ip: request.ip });
      }
      userId = principal.userId;
      request.profile = principal.profile;
    } catch (err) {
      if (err instanceof InvalidTokenError) request.tokenRefused = err.reason;
      // A missing or malformed header counts against the caller's address too.
      if (!countedIp && err instanceof ApiError && err.statusCode === 401) await limit(`ip:${request.ip}`);
      throw err;
    }
    await limit(`user:${userId}`);
    request.userId = userId;
  };
}
