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
  type RefusalReason,
  type TokenStrategy,
} from './claims.js';
import { ASYMMETRIC_ALGS, jwksStrategy } from './jwks.js';
import postgres from 'postgres';
import { looksLikeSessionToken, sessionStrategy, type SessionSource } from './session.js';
import { sessionTableSource } from './session-table.js';
import { TokenCache } from './token-cache.js';

/** Verifies a bearer value and says who it is; throws ApiError INVALID_TOKEN otherwise. */
export interface TokenVerifier {
  /** The principal of a token verified before and still cached: no work, microseconds. */
  cached(token: string): Principal | undefined;
  verify(token: string, context?: { ip?: string }): Promise<Principal>;
  close(): Promise<void>;
}

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'];
const MAX_TOKEN_LENGTH = 8192;
/** A verified token is trusted from the cache for at most this long (and never past its exp). */
const MAX_CACHE_MS = 5 * 60_000;

/**
 * A JWS part in canonical base64url (RFC 7515 §2, RFC 8725 §3.7): only the alphabet, no padding,
 * and unused low bits of the last character zero. Node's decoder ignores stray characters and
 * those bits, so without this check `...Xg` and `...Xh` would be two accepted spellings of one
 * signature.
 */
const B64URL = /^[A-Za-z0-9_-]*$/;
function isCanonicalBase64url(part: string): boolean {
  return B64URL.test(part) && part.length % 4 !== 1 && Buffer.from(part, 'base64url').toString('base64url') === part;
}

/** `typ`, when present, must say "a JWT" (RFC 8725 §3.11): `JWT`, `at+jwt`, with or without `application/`. */
function isAccessTokenType(typ: unknown): boolean {
  if (typ === undefined) return true;
  if (typeof typ !== 'string') return false;
  const t = typ.toLowerCase().replace(/^application\//, '');
  return t === 'jwt' || t === 'at+jwt';
}

type JwtKind = 'hmac' | 'asymmetric' | 'session';

/**
 * The client's answer for a failed verification, with its reason. A bad signature, a malformed or
 * expired token, a wrong iss/aud, a missing exp can never verify later, so they may be
 * remembered; an unknown kid (a key about to be fetched) or a not-yet-valid token may, so they are
 * checked again every time.
 */
function toInvalidToken(err: unknown, kind: JwtKind): ApiError | undefined {
  if (err instanceof ApiError) return err;
  const refuse = (reason: RefusalReason, final = true) => invalidToken(reason, final ? FINAL_REJECTION_MS : 0);
  if (err instanceof joseErrors.JWTExpired) return refuse('expired');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return refuse(kind === 'hmac' ? 'bad_signature' : 'bad_key_signature');
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) return refuse('unknown_key', false);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return refuse('wrong_issuer');
    if (err.claim === 'aud') return refuse('wrong_audience');
    if (err.claim === 'exp' && err.reason === 'missing') return refuse('no_expiry');
    if (err.claim === 'nbf') return refuse('not_yet_valid', false);
    return refuse('bad_claims');
  }
  if (err instanceof joseErrors.JWTInvalid) return refuse('bad_claims');
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) return refuse('algorithm');
  if (err instanceof joseErrors.JOSEError || err instanceof TypeError) return refuse('malformed');
  return undefined;
}

export interface JwtOptions {
  /** Refuse a JWT without `exp` (RFC 8725 §3.10; JWT_REQUIRE_EXP, default true). */
  requireExp?: boolean;
}

/** HS256/384/512 signed with BETTER_AUTH_SECRET: the original backend's mode. */
export function sharedSecretStrategy(secret: string, options: JwtOptions = {}): TokenStrategy {
  const key = new TextEncoder().encode(secret);
  const requiredClaims = options.requireExp === false ? [] : ['exp'];
  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, key, { algorithms: HMAC_ALGS, clockTolerance: CLOCK_TOLERANCE_S, requiredClaims });
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
 * a public key nor an asymmetric one against the shared secret, and caches what verified. JWTs
 * are checked for form first (RFC 8725): canonical base64url parts, a `typ` that says JWT.
 */
export function createVerifier(strategies: VerifierStrategies, cacheSize = 10_000): TokenVerifier {
  const cache = new TokenCache<Principal>(cacheSize);
  /** Rejections a strategy allowed to remember (InvalidTokenError.rememberMs), with why. */
  const rejected = new TokenCache<RefusalReason>(cacheSize);

  /** The strategy for this token and the kind of JWT it is, or why it is refused unverified. */
  function strategyFor(token: string): { strategy: TokenStrategy; kind: JwtKind } | RefusalReason {
    const parts = token.split('.');
    if (parts.length !== 3) {
      if (strategies.opaque !== undefined) return { strategy: strategies.opaque, kind: 'session' };
      return looksLikeSessionToken(token) ? 'session_tokens_off' : 'malformed';
    }
    if (!parts.every(isCanonicalBase64url)) return 'not_canonical';
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return 'malformed';
    }
    if (!isAccessTokenType(header.typ)) return 'wrong_type';
    const alg = header.alg;
    if (alg !== undefined && HMAC_ALGS.includes(alg)) return strategies.hmac ? { strategy: strategies.hmac, kind: 'hmac' } : 'no_shared_secret';
    if (alg !== undefined && ASYMMETRIC_ALGS.includes(alg) && strategies.asymmetric) return { strategy: strategies.asymmetric, kind: 'asymmetric' };
    return 'algorithm'; // "none" and anything unknown
  }

  return {
    cached: (token) => cache.get(token),
    async verify(token, context) {
      const now = Date.now();
      const cached = cache.get(token, now);
      if (cached !== undefined) return cached;
      const rejection = rejected.get(token, now);
      if (rejection !== undefined) throw invalidToken(rejection);
      if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('too_long');
      const route = strategyFor(token);
      if (typeof route === 'string') {
        rejected.set(token, route, now + FINAL_REJECTION_MS);
        throw invalidToken(route);
      }
      let result: Awaited<ReturnType<TokenStrategy['verify']>>;
      try {
        result = await route.strategy.verify(token, context);
      } catch (err) {
        const answer = toInvalidToken(err, route.kind);
        if (answer === undefined) throw err;
        if (answer instanceof InvalidTokenError && answer.rememberMs > 0) rejected.set(token, answer.reason, now + answer.rememberMs);
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

/** What the verifier may use of the app: its database pool, for Better Auth's session table. */
export interface VerifierResources {
  sql?: postgres.Sql;
  prepare?: boolean;
}

/** Where session tokens are looked up: get-session (default), or Better Auth's session table. */
function sessionSource(config: Config, resources: VerifierResources): { source?: SessionSource; close?: () => Promise<void> } {
  if (config.sessionSource !== 'database') return {};
  const own = config.sessionDatabaseUrl === undefined ? undefined : postgres(config.sessionDatabaseUrl, { max: 4, onnotice: () => {}, prepare: false, connect_timeout: 5 });
  const sql = own ?? resources.sql;
  if (sql === undefined) throw new Error('AUTH_SESSION_SOURCE=database needs a database: set AUTH_SESSION_DATABASE_URL');
  return {
    source: sessionTableSource({
      sql,
      table: config.sessionTable,
      columns: config.sessionColumns,
      prepare: own === undefined ? (resources.prepare ?? true) : false,
      secret: config.betterAuthSecret,
    }),
    ...(own ? { close: () => own.end({ timeout: 5 }) } : {}),
  };
}

/** The verifier the configuration asks for: shared secret, JWKS, and (unless off) session tokens. */
export function verifierFromConfig(config: Config, resources: VerifierResources = {}): TokenVerifier {
  const sessions = config.sessionTokens ? sessionSource(config, resources) : {};
  const verifier = createVerifier({
    hmac: config.betterAuthSecret === undefined ? undefined : sharedSecretStrategy(config.betterAuthSecret, { requireExp: config.jwtRequireExp }),
    asymmetric: jwksStrategy({
      url: config.jwksUrl,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      cooldownMs: config.jwksCooldownMs,
      requireExp: config.jwtRequireExp,
    }),
    opaque: config.sessionTokens
      ? sessionStrategy({
          baseUrl: config.betterAuthUrl,
          cacheTtlMs: config.sessionCacheTtlMs,
          secret: config.betterAuthSecret,
          maxInFlight: config.sessionLookupsMax,
          maxInFlightPerIp: config.sessionLookupsPerIp,
          ...(config.sessionCookie !== undefined ? { cookieNames: [config.sessionCookie] } : {}),
          ...(sessions.source ? { source: sessions.source } : {}),
        })
      : undefined,
  });
  if (sessions.close === undefined) return verifier;
  const closeOwn = sessions.close;
  return { ...verifier, close: async () => { await verifier.close(); await closeOwn(); } };
}

export type { Principal, TokenStrategy };
