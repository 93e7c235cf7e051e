/**
 * What verifying a bearer token costs per request, for each mode, cold (first sight of the token)
 * and cached (every later request with it, until it expires). Real keys and a real Better Auth.
 *
 *   npx vitest bench --run bench/auth-cost.bench.ts
 *
 * Not part of `npm test`: the benchmark measures, the tests prove behaviour.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, bench, describe } from 'vitest';
import { createVerifier, sharedSecretStrategy, type TokenVerifier } from '../src/auth/verifier.js';
import { jwksStrategy } from '../src/auth/jwks.js';
import { sessionStrategy } from '../src/auth/session.js';
import { startBetterAuth, type BetterAuthServer } from '../test/support/better-auth-server.js';

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
}, 30_000);

afterAll(async () => {
  await ba?.close();
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
