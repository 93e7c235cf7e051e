/**
 * A real Better Auth server (the npm library, not a fake) for tests: email + password sign-up,
 * the `jwt()` plugin (JWKS at /api/auth/jwks, JWTs at /api/auth/token) and the `bearer()` plugin
 * (session token in the `set-auth-token` header; optional), its own rate limit (optional), on node:http over loopback, with the in-memory
 * adapter as its database. It plays the part of the Next.js frontend that mounts Better Auth at
 * /api/auth, and can serve static HTML pages from the same origin for browser tests.
 *
 * Everything a test does goes through Better Auth's HTTP API, except `rotateKeys()`: Better Auth
 * 1.7 has no HTTP endpoint for rotation (see there).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { betterAuth } from 'better-auth';
import { drizzleAdapter } from 'better-auth/adapters/drizzle';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { toNodeHandler } from 'better-auth/node';
import { bearer, jwt, type JwtOptions } from 'better-auth/plugins';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { createAuthTables, type AuthTables, type ColumnStyle } from './better-auth-tables.js';

/** Asymmetric algorithms come from the JWT plugin's own keys; HS256 needs a custom `jwt.sign`. */
export type BetterAuthAlg = 'EdDSA' | 'ES256' | 'ES512' | 'RS256' | 'PS256' | 'HS256';

export interface StartBetterAuthOptions {
  /** Port to listen on; 0 (default) picks a free one. An explicit port that is taken is a clear error. */
  port?: number;
  /** Host name in `baseURL` (and so in the JWTs' `iss`/`aud`). Default 'localhost'. */
  host?: string;
  /** Address to bind. Default '127.0.0.1' (loopback only). */
  listenHost?: string;
  /** Signing algorithm of the JWT plugin. Default 'EdDSA' (the library's own default). */
  alg?: BetterAuthAlg;
  /** Better Auth secret (cookie signing, private key encryption, and the HS256 key). Random by default. */
  secret?: string;
  /** Extra trusted origins; `baseURL` is always trusted by Better Auth itself. */
  trustedOrigins?: string[];
  /** `jwks.rotationInterval` in seconds: keys expire and are replaced on the next signing. Default: none. */
  rotationIntervalSeconds?: number;
  /** `jwks.gracePeriod` in seconds: how long an expired key stays in the JWKS. Library default 30 days. */
  gracePeriodSeconds?: number;
  /** `jwt.expirationTime`, e.g. '15m' (library default) or '1s'. */
  expirationTime?: string | number;
  /** Static pages served from the same origin: path (e.g. '/') to HTML. */
  pages?: Record<string, string>;
  /** Let Better Auth log (warnings, errors); off by default to keep test output clean. */
  log?: boolean;
  /** Install the bearer() plugin (default true). Without it, sessions travel in the cookie only. */
  bearer?: boolean;
  /** Better Auth's own rate limit (off by default): `max` requests per `window` seconds per IP and path. */
  rateLimit?: { window: number; max: number };
  /** `session.expiresIn` in seconds (library default: 7 days). */
  sessionExpiresIn?: number;
  /**
   * Keep Better Auth's data in this PostgreSQL database (the Drizzle adapter; its tables are
   * created, columns named in `columns` style: better-auth-tables.ts) instead of in memory.
   */
  database?: { url: string; columns: ColumnStyle };
}

export interface BetterAuthSession {
  userId: string;
  email: string;
  /**
   * The signed session cookie value `<token>.<base64 HMAC>`: the `set-auth-token` header with
   * bearer(), the decoded cookie without it.
   */
  sessionToken: string;
  /** The bare session token (the part before the dot, also `token` in the JSON body). */
  bareToken: string;
  /** A `Cookie` header value carrying the session, as a browser would send it. */
  cookie: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  at: number;
}

export interface RotatedKeys {
  /** Key ids that were live before and are now expired (still listed during the grace period). */
  retired: string[];
  /** The key id of the freshly minted signing key. */
  kid: string;
}

export interface BetterAuthServer {
  baseURL: string;
  jwksURL: string;
  port: number;
  alg: BetterAuthAlg;
  secret: string;
  /** Every request the server received, in order (method and path with query). */
  requests: LoggedRequest[];
  /** How many get-session requests were being answered at once, at most, since the last reset. */
  getSessionPeak(): number;
  resetGetSessionPeak(): void;
  signUp(email: string, password: string, name: string): Promise<BetterAuthSession>;
  signIn(email: string, password: string): Promise<BetterAuthSession>;
  /** GET /api/auth/token with `Authorization: Bearer <sessionToken>`; returns the JWT. */
  getJwt(sessionToken: string): Promise<string>;
  /** GET /api/auth/get-session with the bearer session token; status and parsed body. */
  getSession(sessionToken: string): Promise<{ status: number; body: unknown; headers: Headers }>;
  /** GET /api/auth/jwks; status and parsed body. */
  getJwks(): Promise<{ status: number; body: unknown }>;
  /** POST /api/auth/sign-out with the bearer session token; Better Auth deletes the session. */
  signOut(sessionToken: string): Promise<void>;
  /** Expire every live signing key now and mint a new one (see the function for why not HTTP). */
  rotateKeys(): Promise<RotatedKeys>;
  /** Hold every new request without answering (a hung auth server) until `resume()`. */
  stall(): void;
  resume(): void;
  close(): Promise<void>;
}

/** Cheap, deterministic password hashing for tests (the library's own test utilities do the same). */
const testPasswordHasher = {
  hash: async (password: string): Promise<string> =>
    `test-sha256:${createHash('sha256').update(password.normalize('NFKC')).digest('hex')}`,
  verify: async ({ hash, password }: { hash: string; password: string }): Promise<boolean> =>
    hash === `test-sha256:${createHash('sha256').update(password.normalize('NFKC')).digest('hex')}`,
};

function keyPairConfig(alg: Exclude<BetterAuthAlg, 'HS256'>): NonNullable<NonNullable<JwtOptions['jwks']>['keyPairConfig']> {
  switch (alg) {
    case 'EdDSA':
      return { alg: 'EdDSA', crv: 'Ed25519' };
    case 'ES256':
      return { alg: 'ES256' };
    case 'ES512':
      return { alg: 'ES512' };
    case 'RS256':
      return { alg: 'RS256', modulusLength: 2048 };
    case 'PS256':
      return { alg: 'PS256', modulusLength: 2048 };
  }
}

/**
 * JWT plugin options for one algorithm. HS256 is not a JWT-plugin key type (its keys are asymmetric
 * only); the plugin's documented escape hatch is a custom `jwt.sign`, which requires `jwks.remoteUrl`
 * (and `keyPairConfig.alg`, used only for OpenID metadata). With it, /api/auth/token returns an
 * HS256 token signed with the shared secret, the FastAPI backend's mode, and /api/auth/jwks is 404.
 */
export function jwtPluginOptions(opts: {
  alg: BetterAuthAlg;
  secret: string;
  baseURL: string;
  rotationIntervalSeconds?: number;
  gracePeriodSeconds?: number;
  expirationTime?: string | number;
}): JwtOptions {
  const jwtClaims = opts.expirationTime !== undefined ? { expirationTime: opts.expirationTime } : {};
  if (opts.alg === 'HS256') {
    const key = new TextEncoder().encode(opts.secret);
    return {
      jwks: { remoteUrl: `${opts.baseURL}/api/auth/jwks`, keyPairConfig: { alg: 'EdDSA' } },
      jwt: {
        ...jwtClaims,
        // The payload already carries iat, exp, iss and aud (the plugin's signJWT adds them).
        sign: (payload) => new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key),
      },
    };
  }
  return {
    jwks: {
      keyPairConfig: keyPairConfig(opts.alg),
      ...(opts.rotationIntervalSeconds !== undefined ? { rotationInterval: opts.rotationIntervalSeconds } : {}),
      ...(opts.gracePeriodSeconds !== undefined ? { gracePeriod: opts.gracePeriodSeconds } : {}),
    },
    jwt: jwtClaims,
  };
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new Error(
            `Better Auth test server: port ${port} on ${host} is already in use. ` +
              'Stop whatever listens there (e.g. a Next.js dev server) and run the test again.',
          ),
        );
      } else {
        reject(err);
      }
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function cookieValue(setCookie: string[], name: string): string | undefined {
  for (const line of setCookie) {
    const [pair] = line.split(';');
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

export async function startBetterAuth(opts: StartBetterAuthOptions = {}): Promise<BetterAuthServer> {
  const host = opts.host ?? 'localhost';
  const listenHost = opts.listenHost ?? '127.0.0.1';
  const alg = opts.alg ?? 'EdDSA';
  const secret = opts.secret ?? randomBytes(32).toString('base64url');
  const pages = opts.pages ?? {};
  const requests: LoggedRequest[] = [];

  // The handler is attached after listen(): baseURL needs the real port when port is 0.
  const state: { handle?: (req: http.IncomingMessage, res: http.ServerResponse) => void } = {};
  let stalled = false;
  const held: http.ServerResponse[] = [];
  let getSessionNow = 0;
  let getSessionPeak = 0;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', at: Date.now() });
    if ((req.url ?? '').startsWith('/api/auth/get-session')) {
      getSessionPeak = Math.max(getSessionPeak, ++getSessionNow);
      res.once('close', () => getSessionNow--);
    }
    if (stalled) {
      held.push(res);
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path.startsWith('/api/auth/') && state.handle) {
      state.handle(req, res);
      return;
    }
    const page = pages[path];
    if (page !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : page);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  server.keepAliveTimeout = 1000;

  const port = await listen(server, opts.port ?? 0, listenHost);
  const baseURL = `http://${host}:${port}`;
  // Requests from Node go to the bound address; Better Auth uses its configured baseURL anyway.
  const internalURL = `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`;

  const jwtPlugin = jwt(
    jwtPluginOptions({
      alg,
      secret,
      baseURL,
      ...(opts.rotationIntervalSeconds !== undefined ? { rotationIntervalSeconds: opts.rotationIntervalSeconds } : {}),
      ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
      ...(opts.expirationTime !== undefined ? { expirationTime: opts.expirationTime } : {}),
    }),
  );
  const plugins = [jwtPlugin, ...(opts.bearer === false ? [] : [bearer()])];
  let tables: AuthTables | undefined;
  if (opts.database) tables = await createAuthTables(opts.database.url, opts.database.columns, { plugins });
  const db: Record<string, unknown[]> = { user: [], session: [], account: [], verification: [], jwks: [] };
  const auth = betterAuth({
    baseURL,
    secret,
    database: tables ? drizzleAdapter(tables.db, { provider: 'pg', schema: tables.schema }) : memoryAdapter(db),
    emailAndPassword: { enabled: true, password: testPasswordHasher },
    trustedOrigins: opts.trustedOrigins ?? [],
    rateLimit: opts.rateLimit ? { enabled: true, window: opts.rateLimit.window, max: opts.rateLimit.max, storage: 'memory' } : { enabled: false },
    ...(opts.sessionExpiresIn !== undefined ? { session: { expiresIn: opts.sessionExpiresIn } } : {}),
    telemetry: { enabled: false },
    logger: { disabled: !opts.log },
    plugins,
  });
  state.handle = toNodeHandler(auth);

  const call = async (path: string, init: RequestInit & { sessionToken?: string } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    // Node's fetch sends `sec-fetch-mode: cors`, so Better Auth's CSRF check wants an Origin, as
    // a browser on the frontend's own origin would send.
    headers.set('origin', baseURL);
    if (init.sessionToken !== undefined) {
      // bearer() reads the header; without it, the session cookie is how a browser would send it.
      headers.set('authorization', `Bearer ${init.sessionToken}`);
      if (init.sessionToken.includes('.')) headers.set('cookie', `better-auth.session_token=${encodeURIComponent(init.sessionToken)}`);
    }
    const { sessionToken: _ignored, ...rest } = init;
    return fetch(`${internalURL}${path}`, { ...rest, headers, signal: AbortSignal.timeout(5000) });
  };

  const sessionFrom = async (res: Response, what: string): Promise<BetterAuthSession> => {
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Better Auth ${what} answered ${res.status}: ${text}`);
    const body = JSON.parse(text) as { token?: string; user?: { id?: string; email?: string } };
    const cookieName = 'better-auth.session_token';
    const rawCookie = cookieValue(res.headers.getSetCookie(), cookieName);
    const sessionToken = res.headers.get('set-auth-token') ?? (rawCookie === undefined ? null : decodeURIComponent(rawCookie));
    if (!sessionToken || !body.user?.id || !body.token || !rawCookie) {
      throw new Error(`Better Auth ${what}: missing set-auth-token, user or cookie in the answer: ${text}`);
    }
    return {
      userId: body.user.id,
      email: body.user.email ?? '',
      sessionToken,
      bareToken: body.token,
      cookie: `${cookieName}=${rawCookie}`,
    };
  };

  const closeServer = async (): Promise<void> => {
    for (const res of held.splice(0)) res.destroy();
    if (server.listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
    await tables?.close();
    tables = undefined;
  };

  return {
    baseURL,
    jwksURL: `${baseURL}/api/auth/jwks`,
    port,
    alg,
    secret,
    requests,
    getSessionPeak: () => getSessionPeak,
    resetGetSessionPeak: () => {
      getSessionPeak = getSessionNow;
    },

    async signUp(email, password, name) {
      const res = await call('/api/auth/sign-up/email', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, name }),
      });
      return sessionFrom(res, 'sign-up');
    },

    async signIn(email, password) {
      const res = await call('/api/auth/sign-in/email', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      return sessionFrom(res, 'sign-in');
    },

    async getJwt(sessionToken) {
      const res = await call('/api/auth/token', { sessionToken });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`Better Auth /token answered ${res.status}: ${text}`);
      const { token } = JSON.parse(text) as { token?: unknown };
      if (typeof token !== 'string') throw new Error(`Better Auth /token: no token in ${text}`);
      return token;
    },

    async getSession(sessionToken) {
      const res = await call('/api/auth/get-session', { sessionToken });
      return { status: res.status, body: JSON.parse(await res.text()) as unknown, headers: res.headers };
    },

    async getJwks() {
      const res = await call('/api/auth/jwks');
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (e.g. a 404 page); keep the text
      }
      return { status: res.status, body };
    },

    async signOut(sessionToken) {
      const res = await call('/api/auth/sign-out', { method: 'POST', sessionToken });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`Better Auth sign-out answered ${res.status}: ${text}`);
    },

    /**
     * Better Auth 1.7.25 rotates keys only by time: with `jwks.rotationInterval` set, each new key
     * gets `expiresAt`; signing skips expired keys and mints a new one (plugins/jwt/sign.mjs,
     * resolveSigningKey), while /jwks keeps listing a key until `expiresAt + gracePeriod`
     * (plugins/jwt/index.mjs, getJwks). There is no HTTP endpoint to rotate now, so this does
     * exactly what the interval would do, on demand: it sets `expiresAt` of every live key to the
     * past through the library's own database adapter, then asks the library to sign once
     * (`auth.api.signJWT`, a server-only endpoint), which mints the new key by its normal path.
     */
    async rotateKeys() {
      if (alg === 'HS256') throw new Error('rotateKeys(): HS256 tokens use the shared secret, there are no keys to rotate');
      const ctx = await auth.$context;
      const now = Date.now();
      const keys = await ctx.adapter.findMany<{ id: string; expiresAt?: Date | null }>({ model: 'jwks' });
      const live = keys.filter((k) => !k.expiresAt || new Date(k.expiresAt).getTime() > now);
      for (const key of live) {
        await ctx.adapter.update({
          model: 'jwks',
          where: [{ field: 'id', value: key.id }],
          update: { expiresAt: new Date(now - 1000) },
        });
      }
      const { token } = await auth.api.signJWT({ body: { payload: { sub: 'key-rotation-probe' } } });
      const { kid } = decodeProtectedHeader(token);
      if (!kid || live.some((k) => k.id === kid)) throw new Error(`rotateKeys(): no new key was minted (kid ${kid})`);
      return { retired: live.map((k) => k.id), kid };
    },

    stall() {
      stalled = true;
    },

    resume() {
      stalled = false;
      for (const res of held.splice(0)) res.destroy();
    },

    close: closeServer,
  };
}
