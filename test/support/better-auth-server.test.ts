/**
 * Facts about the real Better Auth library (1.7.x) that the API relies on, proven against a running
 * server from test/support/better-auth-server.ts. If an upgrade of better-auth changes one of them,
 * this file says which one before the API tests fail in a confusing way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';

import { startBetterAuth, type BetterAuthAlg, type BetterAuthServer } from './better-auth-server.js';

const PASSWORD = 'correct horse battery staple';
/** `<32 alphanumerics>.<HMAC-SHA256 in standard base64, padded>`: 32 + 1 + 44 = 77 characters. */
const SIGNED_SESSION_TOKEN = /^[A-Za-z0-9]{32}\.[A-Za-z0-9+/]{43}=$/;

function jwksKeys(body: unknown): JWK[] {
  expect(body).toEqual({ keys: expect.any(Array) });
  return (body as { keys: JWK[] }).keys;
}

describe('Better Auth server (EdDSA, the default)', () => {
  let ba: BetterAuthServer;

  beforeAll(async () => {
    ba = await startBetterAuth();
  });
  afterAll(async () => {
    await ba?.close();
  });

  it('has a baseURL of http://localhost:<port> with no trailing slash', () => {
    expect(ba.baseURL).toBe(`http://localhost:${ba.port}`);
    expect(ba.jwksURL).toBe(`${ba.baseURL}/api/auth/jwks`);
  });

  it('returns the session token in set-auth-token: <token>.<standard base64 signature>', async () => {
    const s = await ba.signUp('token-shape@example.com', PASSWORD, 'Token Shape');
    expect(s.sessionToken).toMatch(SIGNED_SESSION_TOKEN);
    expect(s.sessionToken).toHaveLength(77);
    const [bare, signature] = s.sessionToken.split('.');
    expect(bare).toBe(s.bareToken);
    expect(bare).toHaveLength(32);
    expect(Buffer.from(signature ?? '', 'base64')).toHaveLength(32); // HMAC-SHA256
    // The cookie carries the same value, URL-encoded.
    expect(s.cookie).toBe(`better-auth.session_token=${encodeURIComponent(s.sessionToken)}`);
  });

  it('issues EdDSA JWTs from /api/auth/token whose claims are the user plus iss = aud = baseURL, 15 minutes', async () => {
    const s = await ba.signUp('claims@example.com', PASSWORD, 'Claims User');
    const token = await ba.getJwt(s.sessionToken);

    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ alg: 'EdDSA', kid: expect.any(String) });

    const payload = decodeJwt(token);
    expect(payload).toMatchObject({
      sub: s.userId,
      id: s.userId,
      email: 'claims@example.com',
      name: 'Claims User',
      emailVerified: false,
      iss: ba.baseURL,
      aud: ba.baseURL, // a string, not an array
    });
    expect(typeof payload.iat).toBe('number');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
    expect(Math.abs((payload.iat ?? 0) - Date.now() / 1000)).toBeLessThan(30);

    // jose, exactly as the API does it: remote JWKS, issuer and audience pinned to baseURL.
    const jwks = createRemoteJWKSet(new URL(ba.jwksURL));
    const { payload: verified, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: ba.baseURL,
      audience: ba.baseURL,
      algorithms: ['EdDSA'],
    });
    expect(verified.sub).toBe(s.userId);
    expect(protectedHeader.kid).toBe(header.kid);

    // The same token with another expected issuer fails: iss/aud really are the baseURL.
    await expect(
      jwtVerify(token, jwks, { issuer: `http://127.0.0.1:${ba.port}`, audience: ba.baseURL }),
    ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'iss' });
  });

  it('publishes Ed25519 public keys at /api/auth/jwks: kid, kty OKP, crv, x, alg; no use, no private part', async () => {
    const s = await ba.signUp('jwks-shape@example.com', PASSWORD, 'Jwks Shape');
    const kid = decodeProtectedHeader(await ba.getJwt(s.sessionToken)).kid;
    const { status, body } = await ba.getJwks();
    expect(status).toBe(200);
    const keys = jwksKeys(body);
    expect(keys).toEqual([{ kid, kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', x: expect.any(String) }]);
    expect(keys[0]).not.toHaveProperty('use');
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('answers get-session with a bearer session token: 200 {session, user}, plus a JWT in set-auth-jwt', async () => {
    const s = await ba.signUp('session@example.com', PASSWORD, 'Session User');
    for (const token of [s.sessionToken, s.bareToken]) {
      const { status, body, headers } = await ba.getSession(token);
      expect(status).toBe(200);
      expect(body).toMatchObject({
        session: { token: s.bareToken, userId: s.userId, expiresAt: expect.any(String) },
        user: { id: s.userId, email: 'session@example.com', name: 'Session User' },
      });
      // The JWT plugin's after-hook on /get-session also hands out a JWT, exposed for CORS.
      const jwtHeader = headers.get('set-auth-jwt');
      expect(jwtHeader).toBeTruthy();
      expect(decodeJwt(jwtHeader ?? '').sub).toBe(s.userId);
      expect(headers.get('access-control-expose-headers')).toContain('set-auth-jwt');
    }
  });

  it('answers get-session with 200 and body null for garbage, unsigned and wrongly signed tokens', async () => {
    const s = await ba.signUp('garbage@example.com', PASSWORD, 'Garbage');
    const [bare] = s.sessionToken.split('.');
    const wrongSignature = `${bare}.${Buffer.alloc(32, 7).toString('base64')}`;
    const unknownButSigned = 'A'.repeat(32); // a bare token that no session has
    for (const token of ['garbage', 'not.valid', wrongSignature, unknownButSigned]) {
      const { status, body } = await ba.getSession(token);
      expect({ token, status, body }).toEqual({ token, status: 200, body: null });
    }
  });

  it('signs the session out: get-session is then 200 null, /token is 401, and a new sign-in gives a new token', async () => {
    const s = await ba.signUp('signout@example.com', PASSWORD, 'Sign Out');
    expect((await ba.getSession(s.sessionToken)).body).not.toBeNull();
    await ba.signOut(s.sessionToken);
    expect(await ba.getSession(s.sessionToken)).toMatchObject({ status: 200, body: null });
    expect(await ba.getSession(s.bareToken)).toMatchObject({ status: 200, body: null });
    await expect(ba.getJwt(s.sessionToken)).rejects.toThrow(/answered 401/);

    const again = await ba.signIn('signout@example.com', PASSWORD);
    expect(again.userId).toBe(s.userId);
    expect(again.sessionToken).not.toBe(s.sessionToken);
    expect((await ba.getSession(again.sessionToken)).body).toMatchObject({ user: { id: s.userId } });
  });

  it('rejects a wrong password with 401', async () => {
    await ba.signUp('wrong-password@example.com', PASSWORD, 'Wrong');
    await expect(ba.signIn('wrong-password@example.com', 'not the password')).rejects.toThrow(/answered 401/);
  });
});

describe('Better Auth signing keys', () => {
  const started: BetterAuthServer[] = [];
  const start = async (...args: Parameters<typeof startBetterAuth>): Promise<BetterAuthServer> => {
    const ba = await startBetterAuth(...args);
    started.push(ba);
    return ba;
  };
  afterAll(async () => {
    await Promise.all(started.map((ba) => ba.close()));
  });

  it('creates the first key lazily, once, on whichever of /jwks, /token or get-session comes first', async () => {
    // /jwks first
    const a = await start();
    const keysA = jwksKeys((await a.getJwks()).body);
    expect(keysA).toHaveLength(1);
    const sa = await a.signUp('lazy-a@example.com', PASSWORD, 'A');
    expect(decodeProtectedHeader(await a.getJwt(sa.sessionToken)).kid).toBe(keysA[0]?.kid);

    // /token first
    const b = await start();
    const sb = await b.signUp('lazy-b@example.com', PASSWORD, 'B');
    const kidB = decodeProtectedHeader(await b.getJwt(sb.sessionToken)).kid;
    expect(jwksKeys((await b.getJwks()).body).map((k) => k.kid)).toEqual([kidB]);

    // get-session first (its set-auth-jwt header is signed with the new key)
    const c = await start();
    const sc = await c.signUp('lazy-c@example.com', PASSWORD, 'C');
    const jwtC = (await c.getSession(sc.sessionToken)).headers.get('set-auth-jwt') ?? '';
    const kidC = decodeProtectedHeader(jwtC).kid;
    expect(jwksKeys((await c.getJwks()).body).map((k) => k.kid)).toEqual([kidC]);
  });

  it('rotates on demand: the new kid signs, the old kid stays listed and its tokens still verify', async () => {
    const ba = await start();
    const s = await ba.signUp('rotate@example.com', PASSWORD, 'Rotate');
    const before = await ba.getJwt(s.sessionToken);
    const oldKid = decodeProtectedHeader(before).kid;

    const rotated = await ba.rotateKeys();
    expect(rotated.retired).toEqual([oldKid]);
    expect(rotated.kid).not.toBe(oldKid);

    const after = await ba.getJwt(s.sessionToken);
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
    const kids = jwksKeys((await ba.getJwks()).body).map((k) => k.kid);
    expect(kids.sort()).toEqual([oldKid, rotated.kid].sort());

    const jwks = createRemoteJWKSet(new URL(ba.jwksURL));
    for (const token of [before, after]) {
      const { payload } = await jwtVerify(token, jwks, { issuer: ba.baseURL, audience: ba.baseURL });
      expect(payload.sub).toBe(s.userId);
    }
  });

  it('drops a rotated key from the JWKS once its grace period is over (gracePeriod 0)', async () => {
    const ba = await start({ gracePeriodSeconds: 0 });
    const s = await ba.signUp('grace@example.com', PASSWORD, 'Grace');
    const oldKid = decodeProtectedHeader(await ba.getJwt(s.sessionToken)).kid;
    const { kid } = await ba.rotateKeys();
    expect(jwksKeys((await ba.getJwks()).body).map((k) => k.kid)).toEqual([kid]);
    expect(kid).not.toBe(oldKid);
  });

  it('rotates by time with jwks.rotationInterval: a new kid after the interval, the old one still listed', async () => {
    const ba = await start({ rotationIntervalSeconds: 1 });
    const s = await ba.signUp('interval@example.com', PASSWORD, 'Interval');
    const kid1 = decodeProtectedHeader(await ba.getJwt(s.sessionToken)).kid;
    expect(decodeProtectedHeader(await ba.getJwt(s.sessionToken)).kid).toBe(kid1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const kid2 = decodeProtectedHeader(await ba.getJwt(s.sessionToken)).kid;
    expect(kid2).not.toBe(kid1);
    expect(jwksKeys((await ba.getJwks()).body).map((k) => k.kid).sort()).toEqual([kid1, kid2].sort());
  });

  const algs: Array<{ alg: BetterAuthAlg; kty: string; crv?: string }> = [
    { alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519' },
    { alg: 'ES256', kty: 'EC', crv: 'P-256' },
    { alg: 'ES512', kty: 'EC', crv: 'P-521' },
    { alg: 'RS256', kty: 'RSA' },
    { alg: 'PS256', kty: 'RSA' },
  ];
  it.each(algs)(
    'jwks.keyPairConfig.alg $alg: header alg matches, JWKS key is $kty, jose verifies it',
    async ({ alg, kty, crv }) => {
      const ba = await start({ alg });
      const s = await ba.signUp(`alg-${alg.toLowerCase()}@example.com`, PASSWORD, alg);
      const token = await ba.getJwt(s.sessionToken);
      const header = decodeProtectedHeader(token);
      expect(header.alg).toBe(alg);

      const [key, ...others] = jwksKeys((await ba.getJwks()).body);
      expect(others).toEqual([]);
      expect(key).toMatchObject({ kid: header.kid, alg, kty });
      if (crv) expect(key?.crv).toBe(crv);
      else expect(key).not.toHaveProperty('crv');
      expect(key).not.toHaveProperty('use');
      expect(key).not.toHaveProperty('d');

      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(ba.jwksURL)), {
        issuer: ba.baseURL,
        audience: ba.baseURL,
        algorithms: [alg],
      });
      expect(payload.sub).toBe(s.userId);
    },
    15_000,
  );

  it('HS256 (custom jwt.sign with the shared secret): /token gives an HS256 JWT, /jwks is 404', async () => {
    const ba = await start({ alg: 'HS256' });
    const s = await ba.signUp('hs256@example.com', PASSWORD, 'Hs');
    const token = await ba.getJwt(s.sessionToken);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, new TextEncoder().encode(ba.secret), {
      issuer: ba.baseURL,
      audience: ba.baseURL,
      algorithms: ['HS256'],
    });
    expect(payload).toMatchObject({ sub: s.userId, id: s.userId, email: 'hs256@example.com' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
    expect((await ba.getJwks()).status).toBe(404);
  });

  it('uses the configured host in baseURL, iss and aud, and fails clearly when an explicit port is taken', async () => {
    const ba = await start({ host: '127.0.0.1' });
    expect(ba.baseURL).toBe(`http://127.0.0.1:${ba.port}`);
    const s = await ba.signUp('host@example.com', PASSWORD, 'Host');
    expect(decodeJwt(await ba.getJwt(s.sessionToken))).toMatchObject({ iss: ba.baseURL, aud: ba.baseURL });
    await expect(startBetterAuth({ port: ba.port })).rejects.toThrow(`port ${ba.port} on 127.0.0.1 is already in use`);
  });
});
