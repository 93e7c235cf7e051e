import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { TokenCache } from './token-cache.js';

export interface Principal {
  readonly userId: string;
}

/** Verifies a bearer value and says who it is; throws ApiError INVALID_TOKEN otherwise. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  close(): Promise<void>;
}

/** Verifies one family of tokens; returns the principal and until when it may be trusted. */
export interface TokenStrategy {
  verify(token: string): Promise<{ principal: Principal; expiresAt: number }>;
  close?(): Promise<void>;
}

export const CLOCK_TOLERANCE_S = 30;
const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const ASYMMETRIC_ALGS = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const MAX_TOKEN_LENGTH = 8192;
/** A verified token is trusted from the cache for at most this long (and never past its exp). */
const MAX_CACHE_MS = 5 * 60_000;

export function invalidToken(reason = 'The token is invalid or expired'): ApiError {
  return new ApiError('INVALID_TOKEN', reason, { 'www-authenticate': 'Bearer error="invalid_token"' });
}

/** The user a verified JWT names: a non-empty string `sub`, or nothing. */
export function principalFromClaims(payload: JWTPayload): { principal: Principal; expiresAt: number } {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw invalidToken('The token has no subject (sub)');
  const expiresAt = typeof payload.exp === 'number' ? (payload.exp + CLOCK_TOLERANCE_S) * 1000 : Infinity;
  return { principal: { userId: payload.sub }, expiresAt };
}

/** HS256/384/512 signed with BETTER_AUTH_SECRET: the original backend's mode. */
export function sharedSecretStrategy(secret: string): TokenStrategy {
  const key = new TextEncoder().encode(secret);
  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, key, { algorithms: HMAC_ALGS, clockTolerance: CLOCK_TOLERANCE_S });
      return principalFromClaims(payload);
    },
  };
}

export interface VerifierStrategies {
  /** HS* JWTs. */
  hmac?: TokenStrategy | undefined;
  /** EdDSA, ES256, RS256, PS256 and kin (JWKS). */
  asymmetric?: TokenStrategy | undefined;
  /** Anything that is not a JWT (opaque session tokens). */
  opaque?: TokenStrategy | undefined;
}

/**
 * Routes each token to the one strategy its form allows, so an HS* token is never checked against
 * a public key nor an asymmetric one against the shared secret, and caches what verified.
 */
export function createVerifier(strategies: VerifierStrategies, cacheSize = 10_000): TokenVerifier {
  const cache = new TokenCache<Principal>(cacheSize);

  function strategyFor(token: string): TokenStrategy | undefined {
    if (token.split('.').length !== 3) return strategies.opaque;
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      return strategies.opaque;
    }
    if (alg !== undefined && HMAC_ALGS.includes(alg)) return strategies.hmac;
    if (alg !== undefined && ASYMMETRIC_ALGS.includes(alg)) return strategies.asymmetric;
    return undefined; // "none" and anything unknown
  }

  return {
    async verify(token) {
      const now = Date.now();
      const cached = cache.get(token, now);
      if (cached !== undefined) return cached;
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
      const strategy = strategyFor(token);
      if (strategy === undefined) throw invalidToken();
      let result: Awaited<ReturnType<TokenStrategy['verify']>>;
      try {
        result = await strategy.verify(token);
      } catch (err) {
        if (err instanceof ApiError) throw err;
        if (err instanceof joseErrors.JWTExpired) throw invalidToken('The token has expired');
        if (err instanceof joseErrors.JOSEError || err instanceof TypeError) throw invalidToken();
        throw err;
      }
      cache.set(token, result.principal, Math.min(result.expiresAt, now + MAX_CACHE_MS));
      return result.principal;
    },
    async close() {
      await Promise.all(Object.values(strategies).map((s: TokenStrategy | undefined) => s?.close?.()));
    },
  };
}

/** The verifier the configuration asks for. */
export function verifierFromConfig(config: Config, extra: Omit<VerifierStrategies, 'hmac'> = {}): TokenVerifier {
  return createVerifier({
    hmac: config.betterAuthSecret === undefined ? undefined : sharedSecretStrategy(config.betterAuthSecret),
    ...extra,
  });
}
