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

export function invalidToken(reason = 'The token is invalid or expired'): ApiError {
  return new ApiError('INVALID_TOKEN', reason, { 'www-authenticate': 'Bearer error="invalid_token"' });
}

/** The user a verified JWT names: a non-empty string `sub`, or nothing. */
export function principalFromClaims(payload: JWTPayload): { principal: Principal; expiresAt: number } {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken('The token has no subject (sub)');
  const expiresAt = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_S) * 1000 : Infinity;
  return { principal: { userId: payload.sub }, expiresAt };
}
