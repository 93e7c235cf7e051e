import type { JWTPayload } from 'jose';
import { ApiError } from '../errors.js';

export interface Principal {
  readonly userId: string;
  /** The user's name and email, when the token (or the session) carries them: what members' lists show. */
  readonly profile?: Profile;
}

export interface Profile {
  readonly name?: string;
  readonly email?: string;
}

/** `name` and `email` of a token's claims or a session's user: strings of at most 320 characters, trimmed; else left out. */
export function profileOf(source: { name?: unknown; email?: unknown } | undefined): Profile | undefined {
  const pick = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && v.length <= 320 ? v.trim() : undefined);
  const name = pick(source?.name);
  const email = pick(source?.email);
  if (name === undefined && email === undefined) return undefined;
  return { ...(name === undefined ? {} : { name }), ...(email === undefined ? {} : { email }) };
}

/** Verifies one family of tokens; returns the principal and until when it may be trusted (ms epoch). */
export interface TokenStrategy<Context = { ip?: string }> {
  verify(token: string, context?: Context): Promise<{ principal: Principal; expiresAt: number }>;
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

/**
 * Why a token was refused: logged (info, in the request's line, never the token) and worded in the
 * 401. Each message names what to check on a deployment; none says more than the caller can see
 * in its own token (the expected secret, keys, issuer and audience are never shown).
 */
export const REFUSALS = {
  malformed: 'The token is malformed: neither a JWT nor a Better Auth session token',
  not_canonical: 'The token is malformed: a part is not canonical base64url',
  too_long: 'The token is too long',
  algorithm: 'The token\'s algorithm (alg) is not accepted: use HS256/384/512 with BETTER_AUTH_SECRET or a Better Auth JWKS key (EdDSA, ES256, RS256, PS256, ...)',
  wrong_type: 'The token\'s type (typ) is not a JWT access token',
  no_shared_secret: 'HS256/384/512 tokens are not accepted here: BETTER_AUTH_SECRET is not set on the API',
  bad_signature: 'The token\'s signature does not match: is BETTER_AUTH_SECRET the same as the frontend\'s?',
  bad_key_signature: 'The token\'s signature does not match the key it names (kid) in Better Auth\'s JWKS',
  unknown_key: 'The token\'s key (kid) is not among Better Auth\'s published keys (JWKS_URL)',
  wrong_issuer: 'The token\'s issuer (iss) is not the one expected: is BETTER_AUTH_URL (or JWT_ISSUER) Better Auth\'s baseURL exactly?',
  wrong_audience: 'The token\'s audience (aud) is not the one expected: is BETTER_AUTH_URL (or JWT_AUDIENCE) Better Auth\'s baseURL exactly?',
  expired: 'The token has expired',
  no_expiry: 'The token has no expiry (exp); tokens must expire',
  not_yet_valid: 'The token is not valid yet (nbf): check the clocks',
  issued_in_future: 'The token was issued in the future (iat): check the clocks',
  bad_claims: 'The token\'s claims are not valid (exp, nbf and iat must be numbers)',
  no_subject: 'The token has no subject (sub)',
  bad_subject: 'The token\'s subject (sub) is not a valid user id',
  unknown_session: 'The session is invalid, expired or signed out',
  session_tokens_off: 'Session tokens are not accepted here (AUTH_SESSION_TOKENS=false)',
} as const;
export type RefusalReason = keyof typeof REFUSALS;

/** 401 INVALID_TOKEN, saying why and how long the verifier may remember it for this token (0: not at all). */
export class InvalidTokenError extends ApiError {
  constructor(
    readonly reason: RefusalReason,
    readonly rememberMs: number,
  ) {
    super('INVALID_TOKEN', REFUSALS[reason], { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}

export function invalidToken(reason: RefusalReason, rememberMs = 0): InvalidTokenError {
  return new InvalidTokenError(reason, rememberMs);
}

/** 503: a token that cannot be checked at all (the auth server is unreachable, nothing cached). */
export function authUnavailable(): ApiError {
  return new ApiError('SERVICE_UNAVAILABLE', 'Tokens cannot be verified right now: the auth server is unreachable', {
    'retry-after': '5',
  });
}

/**
 * The user a verified JWT names (a non-empty string `sub`), after the checks RFC 8725 asks for
 * beyond the signature: `iat`, if present, not in the future (beyond the clock tolerance).
 */
export function principalFromClaims(payload: JWTPayload, now = Date.now()): { principal: Principal; expiresAt: number } {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken('no_subject', FINAL_REJECTION_MS);
  if (!isStorableUserId(payload.sub)) throw invalidToken('bad_subject', FINAL_REJECTION_MS);
  if (typeof payload.iat === 'number' && payload.iat > now / 1000 + CLOCK_TOLERANCE_S) throw invalidToken('issued_in_future');
  const expiresAt = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_S) * 1000 : Infinity;
  const profile = profileOf(payload as { name?: unknown; email?: unknown });
  return { principal: profile === undefined ? { userId: payload.sub } : { userId: payload.sub, profile }, expiresAt };
}
