import type { JWTPayload } from 'jose';
import { ApiError } from '../errors.js';

export interface Principal {
  readonly userId: string;
}

/** Verifies one family of tokens; returns the principal and until when it may be trusted (ms epoch). */
export interface TokenStrategy {
  verify(token: string): Promise<{ principal: Principal; expiresAt: number }>;
  close?(): Promise<void>;
}

export const CLOCK_TOLERANCE_S = 30;

/** A user id we can store and compare: no NUL, no unpaired surrogate, at most 255 characters. */
// eslint-disable-next-line no-control-regex -- matching NUL is the point: PostgreSQL text cannot hold it
const STORABLE_ID = /^[^\u0000\uD800-\uDFFF]+$/u;

export function isStorableUserId(id: string): boolean {
  return id.length <= 255 && STORABLE_ID.test(id);
}

/** How long a rejection that can never turn into an acceptance is remembered. */
export const FINAL_REJECTION_MS = 60_000;

/** 401 INVALID_TOKEN, saying how long the verifier may remember it for this token (0: not at all). */
export class InvalidTokenError extends ApiError {
  constructor(
    reason: string,
    readonly rememberMs: number,
  ) {
    super('INVALID_TOKEN', reason, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}

export function invalidToken(reason = 'The token is invalid or expired', rememberMs = 0): InvalidTokenError {
  return new InvalidTokenError(reason, rememberMs);
}

/** 503: a token that cannot be checked at all (the auth server is unreachable, nothing cached). */
export function authUnavailable(): ApiError {
  return new ApiError('SERVICE_UNAVAILABLE', 'Tokens cannot be verified right now: the auth server is unreachable', {
    'retry-after': '5',
  });
}

/** The user a verified JWT names: a non-empty string `sub`, or nothing. */
export function principalFromClaims(payload: JWTPayload): { principal: Principal; expiresAt: number } {
  if (typeof payload.sub !== 'string' || payload.sub === '') {
    throw invalidToken('The token has no subject (sub)', FINAL_REJECTION_MS);
  }
  if (!isStorableUserId(payload.sub)) {
    throw invalidToken('The token\'s subject (sub) is not a valid user id', FINAL_REJECTION_MS);
  }
  const expiresAt = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_S) * 1000 : Infinity;
  return { principal: { userId: payload.sub }, expiresAt };
}
