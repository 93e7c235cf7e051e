import { authUnavailable, FINAL_REJECTION_MS, invalidToken, isStorableUserId, type TokenStrategy } from './claims.js';

export interface SessionOptions {
  /** Better Auth's base URL; sessions are resolved at `${baseUrl}/api/auth/get-session`. */
  baseUrl: string;
  /** How long a resolved (or rejected) token is remembered; 0 asks Better Auth every time. */
  cacheTtlMs: number;
  timeoutMs?: number;
}

/** Session tokens: the signed cookie value `<token>.<base64 signature>` or the bare token. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{16,128}(\.[A-Za-z0-9+/_-]{16,128}={0,2})?$/;

/** Whether a bearer value has the form of a Better Auth session token (so not a JWT). */
export function looksLikeSessionToken(token: string): boolean {
  return SESSION_TOKEN.test(token);
}

interface GetSessionBody {
  session?: { userId?: unknown; expiresAt?: unknown } | null;
  user?: { id?: unknown } | null;
}

/**
 * Better Auth bearer-plugin session tokens: resolved through Better Auth's own get-session endpoint
 * (it answers 200 with `null` for an unknown, expired or signed-out token). Results, positive and
 * negative, are cached for `cacheTtlMs`, and concurrent lookups of one token share one request, so
 * the hot path does not call Better Auth (which rate-limits per IP) on every request.
 */
export function sessionStrategy(options: SessionOptions): TokenStrategy {
  const url = `${options.baseUrl}/api/auth/get-session`;
  const timeoutMs = options.timeoutMs ?? 3000;
  const inflight = new Map<string, Promise<{ userId: string; expiresAt: number } | null>>();

  async function lookup(token: string): Promise<{ userId: string; expiresAt: number } | null> {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch {
      throw authUnavailable();
    }
    if (res.status === 401 || res.status === 403) return null;
    if (!res.ok) throw authUnavailable();
    const body = (await res.json().catch(() => undefined)) as GetSessionBody | null | undefined;
    const userId = body?.user?.id ?? body?.session?.userId;
    if (typeof userId !== 'string' || !isStorableUserId(userId)) return null;
    const sessionEnd = Date.parse(String(body?.session?.expiresAt ?? ''));
    const cacheEnd = Date.now() + options.cacheTtlMs;
    return { userId, expiresAt: Number.isNaN(sessionEnd) ? cacheEnd : Math.min(cacheEnd, sessionEnd) };
  }

  return {
    async verify(token) {
      if (!SESSION_TOKEN.test(token)) throw invalidToken('malformed', FINAL_REJECTION_MS);
      let pending = inflight.get(token);
      if (pending === undefined) {
        pending = lookup(token).finally(() => inflight.delete(token));
        inflight.set(token, pending);
      }
      const result = await pending;
      // The verifier remembers the rejection as long as a positive answer would be cached.
      if (result === null) throw invalidToken('unknown_session', options.cacheTtlMs);
      // A result that may not be cached (ttl 0) expires at once: the verifier keeps it no longer.
      return { principal: { userId: result.userId }, expiresAt: options.cacheTtlMs > 0 ? result.expiresAt : 0 };
    },
  };
}
