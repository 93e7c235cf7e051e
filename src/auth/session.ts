import { createHmac } from 'node:crypto';
import { ApiError, rateLimited } from '../errors.js';
import { authUnavailable, FINAL_REJECTION_MS, invalidToken, isStorableUserId, profileOf, type Profile, type TokenStrategy } from './claims.js';

export interface SessionOptions {
  /** Better Auth's base URL; sessions are resolved at `${baseUrl}/api/auth/get-session`. */
  baseUrl: string;
  /** How long a resolved (or rejected) token is remembered; 0 asks Better Auth every time. */
  cacheTtlMs: number;
  timeoutMs?: number;
  /**
   * BETTER_AUTH_SECRET, when the API holds it: a bare token (`session.token`) is then signed
   * here and presented as the session cookie, which get-session reads without the bearer()
   * plugin. (Its signature is not checked here: with a secret that is not Better Auth's, tokens
   * must still work through bearer(), which checks them with its own.)
   */
  secret?: string | undefined;
  /** The session cookie's name(s); default both `better-auth.session_token` and its `__Secure-` form. */
  cookieNames?: readonly string[];
  /** Lookups in flight at once, in all (default 32) and for one client address (default 4). */
  maxInFlight?: number;
  maxInFlightPerIp?: number;
  /**
   * Where sessions are looked up: Better Auth's get-session endpoint (default), or another
   * source (session-table.ts: Better Auth's `session` table in a database the API can read).
   */
  source?: SessionSource;
}

/** A session found: its user, and until when it may be trusted (ms epoch). */
export interface SessionFound {
  userId: string;
  expiresAt: number;
  profile?: Profile;
}

/** A session token in its forms: as the client sent it, bare (`session.token`), and signed (the cookie's value) when known. */
export interface SessionToken {
  given: string;
  bare: string;
  signed: string | undefined;
}

/** Looks a session up. Null: no such session (unknown, expired or signed out). */
export type SessionSource = (token: SessionToken) => Promise<SessionFound | null>;

/** What the caller knows about the request, for per-client bounds. */
export interface LookupContext {
  ip?: string;
}

/** Session tokens: the bare token (`session.token`), or the signed cookie value `<token>.<base64 HMAC>`. */
const SESSION_TOKEN = /^[A-Za-z0-9_-]{16,128}(\.[A-Za-z0-9+/_-]{16,128}={0,2})?$/;
const DEFAULT_COOKIES = ['better-auth.session_token', '__Secure-better-auth.session_token'];
/** Longest back-off a 429 from Better Auth can ask for. */
const MAX_BACKOFF_S = 60;

/** Whether a bearer value has the form of a Better Auth session token (so not a JWT). */
export function looksLikeSessionToken(token: string): boolean {
  return SESSION_TOKEN.test(token);
}

/** Better Auth's cookie signature of a session token: base64 HMAC-SHA256 with its secret (better-call). */
export function sessionSignature(token: string, secret: string): string {
  return createHmac('sha256', secret).update(token).digest('base64');
}

interface GetSessionBody {
  session?: { userId?: unknown; expiresAt?: unknown } | null;
  user?: { id?: unknown; name?: unknown; email?: unknown } | null;
}

/** 503: Better Auth asked us to slow down (429), or too many lookups are in flight; nothing was asked. */
function authBusy(retryAfterS: number, why: string): ApiError {
  return new ApiError('SERVICE_UNAVAILABLE', `Tokens cannot be verified right now: ${why}`, { 'retry-after': String(retryAfterS) });
}

/** Seconds a 429 asks for (`Retry-After`, or Better Auth's `X-Retry-After`), 1 to 60, default 5. */
function retryAfterOf(res: Response): number {
  const raw = Number(res.headers.get('retry-after') ?? res.headers.get('x-retry-after'));
  return Number.isFinite(raw) && raw >= 1 ? Math.min(MAX_BACKOFF_S, Math.ceil(raw)) : 5;
}

/**
 * Better Auth session tokens, resolved through Better Auth's own get-session endpoint (200 with
 * `null` for an unknown, expired or signed-out session). The token goes as `Authorization: Bearer`
 * (what the bearer() plugin reads) and as the signed session cookie (what get-session reads
 * without bearer(): the signed form as it is, a bare token signed with BETTER_AUTH_SECRET when the
 * API holds it), so frontends with and without bearer() both work.
 *
 * Every outbound call is bounded: results, positive and negative, are cached for `cacheTtlMs`;
 * concurrent lookups of one token share one request; at most `maxInFlight` lookups run at once
 * (more: 503) and `maxInFlightPerIp` for one client (more: 429); while Better Auth answers 429,
 * no lookup is made until its Retry-After has passed (503 with the time left). The caller (auth.hook.ts) counts each
 * uncached attempt against the client's rate limit before calling.
 */
export function sessionStrategy(options: SessionOptions): TokenStrategy<LookupContext> {
  const url = `${options.baseUrl}/api/auth/get-session`;
  const timeoutMs = options.timeoutMs ?? 3000;
  const maxInFlight = options.maxInFlight ?? 32;
  const maxPerIp = options.maxInFlightPerIp ?? 4;
  const cookieNames = options.cookieNames ?? DEFAULT_COOKIES;
  const inflight = new Map<string, Promise<SessionFound | null>>();
  const perIp = new Map<string, number>();
  let running = 0;
  let backoffUntil = 0;

  /** The headers that present `token` (bare or signed) to get-session. */
  function presentation(token: string, signed: string | undefined): Record<string, string> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (signed !== undefined) {
      const value = encodeURIComponent(signed);
      headers.cookie = cookieNames.map((name) => `${name}=${value}`).join('; ');
    }
    return headers;
  }

  /** get-session: the token as `Authorization: Bearer` and, when signed, as the session cookie. */
  async function getSession({ given, signed }: SessionToken): Promise<SessionFound | null> {
    let res: Response;
    try {
      res = await fetch(url, { headers: presentation(given, signed), signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      throw authUnavailable();
    }
    if (res.status === 429) {
      const wait = retryAfterOf(res);
      backoffUntil = Math.max(backoffUntil, Date.now() + wait * 1000);
      await res.body?.cancel();
      throw authBusy(wait, 'the auth server asks us to slow down');
    }
    if (res.status === 401 || res.status === 403) return null;
    if (!res.ok) throw authUnavailable();
    const body = (await res.json().catch(() => undefined)) as GetSessionBody | null | undefined;
    const userId = body?.user?.id ?? body?.session?.userId;
    if (typeof userId !== 'string') return null;
    const sessionEnd = Date.parse(String(body?.session?.expiresAt ?? ''));
    const profile = profileOf(body?.user ?? undefined);
    return { userId, expiresAt: Number.isNaN(sessionEnd) ? Infinity : sessionEnd, ...(profile === undefined ? {} : { profile }) };
  }
  const source = options.source ?? getSession;

  /** The source's answer, checked and bounded by the cache time. */
  async function lookup(token: SessionToken): Promise<SessionFound | null> {
    const found = await source(token);
    if (found === null || !isStorableUserId(found.userId) || found.expiresAt <= Date.now()) return null;
    return { ...found, expiresAt: Math.min(found.expiresAt, Date.now() + options.cacheTtlMs) };
  }

  /** Starts a lookup within the bounds, or refuses at once. */
  function start(token: SessionToken, ip: string): Promise<SessionFound | null> {
    const now = Date.now();
    if (now < backoffUntil) throw authBusy(Math.ceil((backoffUntil - now) / 1000), 'the auth server asks us to slow down');
    const mine = perIp.get(ip) ?? 0;
    if (mine >= maxPerIp) throw rateLimited(1);
    if (running >= maxInFlight) throw authBusy(1, 'too many session lookups in flight');
    running++;
    perIp.set(ip, mine + 1);
    const pending = lookup(token).finally(() => {
      inflight.delete(token.given);
      running--;
      const left = (perIp.get(ip) ?? 1) - 1;
      if (left <= 0) perIp.delete(ip);
      else perIp.set(ip, left);
    });
    inflight.set(token.given, pending);
    return pending;
  }

  return {
    async verify(token, context) {
      if (!SESSION_TOKEN.test(token)) throw invalidToken('malformed', FINAL_REJECTION_MS);
      // The signed form is the cookie's value as it is; a bare token is signed here, if we can.
      const dot = token.indexOf('.');
      const bare = dot < 0 ? token : token.slice(0, dot);
      let signed: string | undefined;
      if (dot >= 0) signed = token;
      else if (options.secret !== undefined) signed = `${token}.${sessionSignature(token, options.secret)}`;
      const result = await (inflight.get(token) ?? start({ given: token, bare, signed }, context?.ip ?? ''));
      // The verifier remembers the rejection as long as a positive answer would be cached.
      if (result === null) throw invalidToken('unknown_session', options.cacheTtlMs);
      // A result that may not be cached (ttl 0) expires at once: the verifier keeps it no longer.
      return { principal: result.profile === undefined ? { userId: result.userId } : { userId: result.userId, profile: result.profile }, expiresAt: options.cacheTtlMs > 0 ? result.expiresAt : 0 };
    },
  };
}
