import { decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import {
  CLOCK_TOLERANCE_S,
  FINAL_REJECTION_MS,
  InvalidTokenError,
  invalidToken,
  principalFromClaims,
  type Principal,
  type TokenStrategy,
} from './claims.js';
import { ASYMMETRIC_ALGS, jwksStrategy } from './jwks.js';
import { sessionStrategy } from './session.js';
import { TokenCache } from './token-cache.js';

/** Verifies a bearer value and says who it is; throws ApiError INVALID_TOKEN otherwise. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
  close(): Promise<void>;
}

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const MAX_TOKEN_LENGTH = 8192;
/** A verified token is trusted from the cache for at most this long (and never past its exp). */
const MAX_CACHE_MS = 5 * 60_000;

/**
 * The client's answer for a failed verification. A bad signature, a malformed or expired token, a
 * wrong iss/aud can never verify later, so they may be remembered; an unknown kid (a key about to
 * be fetched) or a not-yet-valid token may, so they are checked again every time.
 */
function toInvalidToken(err: unknown): ApiError | undefined {
  if (err instanceof ApiError) return err;
  if (err instanceof joseErrors.JWTExpired) return invalidToken('The token has expired', FINAL_REJECTION_MS);
  const final =
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWSInvalid ||
    err instanceof joseErrors.JWTInvalid ||
    (err instanceof joseErrors.JWTClaimValidationFailed && (err.claim === 'iss' || err.claim === 'aud'));
  if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return invalidToken(undefined, final ? FINAL_REJECTION_MS : 0);
  return undefined;
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
  /** Rejections a strategy allowed to remember (InvalidTokenError.rememberMs), with why. */
  const rejected = new TokenCache<string>(cacheSize);

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
      const rejection = rejected.get(token, now);
      if (rejection !== undefined) throw invalidToken(rejection);
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken();
      const strategy = strategyFor(token);
      if (strategy === undefined) throw invalidToken();
      let result: Awaited<ReturnType<TokenStrategy['verify']>>;
      try {
        result = await strategy.verify(token);
      } catch (err) {
        const answer = toInvalidToken(err);
        if (answer === undefined) throw err;
        if (answer instanceof InvalidTokenError && answer.rememberMs > 0) {
          rejected.set(token, answer.message, now + answer.rememberMs);
        }
        throw answer;
      }
      const until = Math.min(result.expiresAt, now + MAX_CACHE_MS);
      if (until > now) cache.set(token, result.principal, until);
      return result.principal;
    },
    async close() {
      await Promise.all(Object.values(strategies).map((s: TokenStrategy | undefined) => s?.close?.()));
    },
  };
}

/** The verifier the configuration asks for: shared secret, JWKS, and (unless off) session tokens. */
export function verifierFromConfig(config: Config): TokenVerifier {
  return createVerifier({
    hmac: config.betterAuthSecret === undefined ? undefined : sharedSecretStrategy(config.betterAuthSecret),
    asymmetric: jwksStrategy({
      url: config.jwksUrl,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      cooldownMs: config.jwksCooldownMs,
    }),
    opaque: config.sessionTokens
      ? sessionStrategy({ baseUrl: config.betterAuthUrl, cacheTtlMs: config.sessionCacheTtlMs })
      : undefined,
  });
}

export type { Principal, TokenStrategy };
