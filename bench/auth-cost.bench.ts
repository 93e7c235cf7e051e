/**
 * What verifying a bearer token costs per request, for each mode, cold (first sight of the token)
 * and cached (every later request with it, until it expires). Real keys and a real Better Auth.
 *
 *   npx vitest bench --run bench/auth-cost.bench.ts
 *   BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres npx vitest bench --run bench/auth-cost.bench.ts
 *     (also: session tokens read from Better Auth's session table, in a scratch database there)
 *
 * Not part of `npm test`: the benchmark measures, the tests prove behaviour.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { createVerifier, sharedSecretStrategy, type TokenVerifier } from '../src/auth/verifier.js';
import { jwksStrategy } from '../src/auth/jwks.js';
import { sessionStrategy } from '../src/auth/session.js';
import { sessionTableSource } from '../src/auth/session-table.js';
import postgres from 'postgres';
import { scratchDatabase, type ScratchDatabase } from '../test/helpers/scratch.js';
import { startBetterAuth, type BetterAuthServer } from '../test/support/better-auth-server.js';

const DATABASE_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;

const SECRET = 'bench-secret-bench-secret-bench-secret-01';
let ba: BetterAuthServer;
let hsTokens: string[] = [];
let jwts: string[] = [];
let sessions: string[] = [];
let i = 0;

/** A verifier whose cache never hits: each call is a first sight. */
const cold = (make: () => TokenVerifier) => make();

let hsCold: TokenVerifier;
let hsWarm: TokenVerifier;
let jwksCold: TokenVerifier;
let jwksWarm: TokenVerifier;
let sessionCold: TokenVerifier;
let sessionWarm: TokenVerifier;
let baNoBearer: BetterAuthServer;
let bareToken = '';
let cookieCold: TokenVerifier;
let cookieWarm: TokenVerifier;
let baTable: BetterAuthServer | undefined;
let tableDb: ScratchDatabase | undefined;
let tableSql: postgres.Sql | undefined;
let tableToken = '';
let tableCold: TokenVerifier;
let tableWarm: TokenVerifier;

beforeAll(async () => {
  ba = await startBetterAuth();
  const key = new TextEncoder().encode(SECRET);
  hsTokens = await Promise.all(
    Array.from({ length: 2000 }, (_, n) => new SignJWT({ n }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h').sign(key)),
  );
  const user = await ba.signUp(`bench-${Date.now()}@example.com`, 'correct horse battery staple', 'Bench');
  sessions = [user.sessionToken];
  jwts = [await ba.getJwt(user.sessionToken)];
  const jwks = { url: ba.jwksURL, issuer: ba.baseURL, audience: ba.baseURL };
  hsCold = cold(() => createVerifier({ hmac: sharedSecretStrategy(SECRET) }, 0));
  hsWarm = createVerifier({ hmac: sharedSecretStrategy(SECRET) });
  jwksCold = createVerifier({ asymmetric: jwksStrategy(jwks) }, 0);
  jwksWarm = createVerifier({ asymmetric: jwksStrategy(jwks) });
  sessionCold = createVerifier({ opaque: sessionStrategy({ baseUrl: ba.baseURL, cacheTtlMs: 0 }) }, 0);
  sessionWarm = createVerifier({ opaque: sessionStrategy({ baseUrl: ba.baseURL, cacheTtlMs: 10_000 }) });
  // Warm the JWKS key caches (a one-off fetch per process, not per request).
  await jwksCold.verify(jwts[0]!);
  await jwksWarm.verify(jwts[0]!);

  // A frontend without bearer(): the API signs the bare token and sends it as the session cookie.
  baNoBearer = await startBetterAuth({ bearer: false });
  bareToken = (await baNoBearer.signUp(`bench-nb-${Date.now()}@example.com`, 'correct horse battery staple', 'Bench')).bareToken;
  const cookieMode = (ttl: number) => sessionStrategy({ baseUrl: baNoBearer.baseURL, cacheTtlMs: ttl, secret: baNoBearer.secret });
  cookieCold = createVerifier({ opaque: cookieMode(0) }, 0);
  cookieWarm = createVerifier({ opaque: cookieMode(10_000) });

  // Better Auth's session table in a PostgreSQL database the API reads (AUTH_SESSION_SOURCE=database).
  if (DATABASE_URL !== undefined) {
    tableDb = await scratchDatabase(DATABASE_URL, { prefix: 'task_api_bench' });
    baTable = await startBetterAuth({ bearer: false, database: { url: tableDb.url, columns: 'snake' } });
    tableToken = (await baTable.signUp(`bench-table-${Date.now()}@example.com`, 'correct horse battery staple', 'Bench')).bareToken;
    const sql = postgres(tableDb.url, { max: 4, onnotice: () => {} });
    tableSql = sql;
    const tableMode = (ttl: number) =>
      sessionStrategy({ baseUrl: 'http://127.0.0.1:9', cacheTtlMs: ttl, source: sessionTableSource({ sql, table: 'session', prepare: true }) });
    tableCold = createVerifier({ opaque: tableMode(0) }, 0);
    tableWarm = createVerifier({ opaque: tableMode(10_000) });
  }
}, 60_000);

afterAll(async () => {
  await ba?.close();
  await baNoBearer?.close();
  await baTable?.close();
  await tableSql?.end({ timeout: 5 });
  await tableDb?.drop();
});

describe('HS256 shared secret', () => {
  bench('cold: HMAC check of a token not seen before', async () => {
    await hsCold.verify(hsTokens[i++ % hsTokens.length]!);
  });
  bench('cached', async () => {
    await hsWarm.verify(hsTokens[0]!);
  });
});

describe('EdDSA via JWKS (keys already fetched)', () => {
  bench('cold: signature check of a token not seen before', async () => {
    await jwksCold.verify(jwts[0]!);
  });
  bench('cached', async () => {
    await jwksWarm.verify(jwts[0]!);
  });
});

describe('Better Auth session token', () => {
  bench('cold: GET /api/auth/get-session on loopback', async () => {
    await sessionCold.verify(sessions[0]!);
  }, { time: 2000 });
  bench('cached', async () => {
    await sessionWarm.verify(sessions[0]!);
  });
});

describe('Better Auth session token without bearer() (presented as the signed session cookie)', () => {
  bench('cold: GET /api/auth/get-session on loopback, with the cookie signed here', async () => {
    await cookieCold.verify(bareToken);
  }, { time: 2000 });
  bench('cached', async () => {
    await cookieWarm.verify(bareToken);
  });
});

describe.skipIf(DATABASE_URL === undefined)('Better Auth session table (AUTH_SESSION_SOURCE=database, PostgreSQL on loopback)', () => {
  bench('cold: one indexed SELECT on session.token', async () => {
    await tableCold.verify(tableToken);
  }, { time: 2000 });
  bench('cached', async () => {
    await tableWarm.verify(tableToken);
  });
});
