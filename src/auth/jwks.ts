import {
  createLocalJWKSet,
  errors as joseErrors,
  jwtVerify,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type LocalJWKSet,
} from 'jose';
import { authUnavailable, CLOCK_TOLERANCE_S, principalFromClaims, type TokenStrategy } from './claims.js';

export interface JwksOptions {
  url: string;
  issuer: string;
  audience: string;
  /** Least time between two fetches: a flood of unknown kids costs at most one fetch per this. */
  cooldownMs?: number;
  /** Keys are refreshed in the background after this long (rotation that reuses no kid). */
  maxAgeMs?: number;
  /** Bound on one fetch of the key set. */
  timeoutMs?: number;
  /** Refuse a JWT without `exp` (JWT_REQUIRE_EXP, default true). */
  requireExp?: boolean;
}

export const ASYMMETRIC_ALGS = ['EdDSA', 'Ed25519', 'ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];

/**
 * Better Auth JWT-plugin tokens (EdDSA by default; ES256, RS256, PS256 too), verified against the
 * keys at the JWKS URL with iss and aud checked. Keys are fetched on first use and kept: an unknown
 * kid triggers a refetch at most once per cooldown (2 s), so a freshly rotated key works within
 * seconds; a failed fetch keeps the keys already known, so the auth server being down does not log
 * anybody out. Only when no key was ever fetched does verification answer 503.
 */
export function jwksStrategy(options: JwksOptions): TokenStrategy {
  const cooldownMs = options.cooldownMs ?? 2000;
  const maxAgeMs = options.maxAgeMs ?? 10 * 60_000;
  const timeoutMs = options.timeoutMs ?? 3000;
  let keys: LocalJWKSet | undefined;
  let fetchedAt = 0;
  let lastAttempt = -Infinity;
  let inflight: Promise<boolean> | undefined;

  /** Fetches the key set (one at a time, at most once per cooldown); resolves whether keys changed. */
  function refresh(): Promise<boolean> {
    if (inflight) return inflight;
    if (Date.now() - lastAttempt < cooldownMs) return Promise.resolve(false);
    lastAttempt = Date.now();
    inflight = (async () => {
      try {
        const res = await fetch(options.url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
        if (!res.ok) return false;
        const body = (await res.json()) as JSONWebKeySet;
        if (!body || !Array.isArray(body.keys)) return false;
        keys = createLocalJWKSet(body);
        fetchedAt = Date.now();
        return true;
      } catch {
        return false;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  }

  async function getKey(header: JWSHeaderParameters, token: FlattenedJWSInput) {
    if (keys === undefined) {
      await refresh();
      if (keys === undefined) throw authUnavailable();
    } else if (Date.now() - fetchedAt > maxAgeMs) {
      void refresh(); // in the background; the current keys serve meanwhile
    }
    try {
      return await keys(header, token);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey && (await refresh())) return keys(header, token);
      throw err;
    }
  }

  return {
    async verify(token) {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: ASYMMETRIC_ALGS,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: options.requireExp === false ? [] : ['exp'],
      });
      return principalFromClaims(payload);
    },
  };
}
