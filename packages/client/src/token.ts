/**
 * The token provider hook: what the client calls before every request for the bearer token.
 * Sync or async; `null`/`undefined` sends no Authorization header (the API then answers 401).
 * `forceRefresh` is true once after a 401, so a cached token can be dropped and fetched anew.
 *
 * With Better Auth's JWT plugin and `jwtClient()`:
 *   token: cachedToken(async () => (await authClient.token()).data?.token)
 */
export type TokenProvider = (context: { forceRefresh: boolean }) => string | null | undefined | Promise<string | null | undefined>;

/** The `exp` claim of a JWT (seconds since the epoch), or null if it is not a readable JWT. */
export function jwtExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (part === undefined) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '='))) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp : null;
  } catch {
    return null;
  }
}

export interface CachedToken extends TokenProvider {
  /** Forget the cached token (e.g. on sign-out). */
  clear(): void;
}

/**
 * Wraps a token source so it is asked only when needed: a JWT is reused until `skewSeconds` before
 * its `exp`; a token without a readable `exp` for `ttlSeconds`. Concurrent callers share one fetch.
 * `forceRefresh` (after a 401) always fetches.
 */
export function cachedToken(
  fetchToken: () => string | null | undefined | Promise<string | null | undefined>,
  options: { skewSeconds?: number; ttlSeconds?: number; now?: () => number } = {},
): CachedToken {
  const skew = options.skewSeconds ?? 30;
  const ttl = options.ttlSeconds ?? 60;
  const now = options.now ?? Date.now;
  let cached: { token: string; until: number } | null = null;
  let pending: Promise<string | null> | null = null;
  let generation = 0;

  const provider = (async ({ forceRefresh }: { forceRefresh: boolean }) => {
    if (!forceRefresh && cached && now() < cached.until) return cached.token;
    if (!forceRefresh && pending) return pending;
    const gen = ++generation;
    const p = (async () => {
      const token = (await fetchToken()) ?? null;
      if (gen === generation) {
        const exp = token ? jwtExpiry(token) : null;
        cached = token ? { token, until: exp !== null ? exp * 1000 - skew * 1000 : now() + ttl * 1000 } : null;
      }
      return token;
    })();
    pending = p;
    try {
      return await p;
    } finally {
      if (pending === p) pending = null;
    }
  }) as CachedToken;
  provider.clear = () => {
    generation++;
    cached = null;
    pending = null;
  };
  return provider;
}
