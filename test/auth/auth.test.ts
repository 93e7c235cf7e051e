/**
 * Requests go through the test client (test/helpers/api.ts), but for the malformed bodies sent
 * without a token (`{bad`, text/plain), which a typed client cannot send: raw inject, at its paths.
 */
import { SignJWT, UnsecuredJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, loose, publicApi, routes } from '../helpers/api.js';
import { buildTestApp, expectError, signToken, TEST_SECRET, uniqueUser, type TestApp } from '../helpers/app.js';

describe('authentication (shared-secret HS256 mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
  });
  afterAll(async () => t?.close());

  const list = async (user: string, authorization?: string) =>
    (await api(t.app, user, { token: null })).list(undefined, authorization === undefined ? {} : { authorization });

  it('no Authorization header: 401 UNAUTHORIZED with WWW-Authenticate: Bearer', async () => {
    const res = await list('alice');
    expectError(res, 401, 'UNAUTHORIZED', 'Missing Authorization header (expected: Bearer <token>)');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it.each(['Token abc', 'Basic YWxpY2U6cHc=', 'Bearer', 'Bearer ', 'abc'])('malformed header %j: 401 UNAUTHORIZED', async (h) => {
    const res = await list('alice', h);
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('the scheme is case-insensitive and extra spaces are tolerated (RFC 7235)', async () => {
    const token = await signToken('alice');
    expect((await list('alice', `bearer ${token}`)).statusCode).toBe(200);
    expect((await list('alice', `Bearer  ${token}`)).statusCode).toBe(200);
  });

  it('HS256, HS384 and HS512 tokens signed with the secret are accepted', async () => {
    for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
      expect((await list('alice', `Bearer ${await signToken('alice', { alg })}`)).statusCode, alg).toBe(200);
    }
  });

  const unsigned = new UnsecuredJWT({ sub: 'alice' }).setIssuedAt().setExpirationTime('1h').encode();
  const hsHeaderRsBody = (async () => {
    // An RS256 header on an HMAC signature: must not be checked against the shared secret.
    const good = await signToken('alice');
    const [, payload, sig] = good.split('.');
    return `${base64url.encode(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${payload}.${sig}`;
  })();

  it.each([
    ['garbage', async () => 'not.a.jwt'],
    ['another secret', async () => signToken('alice', { secret: 'another-secret-another-secret-0123456789' })],
    ['expired beyond 30 s', async () => signToken('alice', { expiresIn: -31 })],
    ['alg none', async () => unsigned],
    ['no sub', async () => signToken('alice', { noSub: true })],
    ['numeric sub', async () =>
      new SignJWT({ sub: 123 as unknown as string }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(TEST_SECRET))],
    ['not yet valid beyond 30 s', async () =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setNotBefore(Math.floor(Date.now() / 1000) + 120).setExpirationTime('1h').sign(new TextEncoder().encode(TEST_SECRET))],
    ['a NUL in sub', async () => signToken('a\u0000b')],
    ['a tampered payload', async () => {
      const [h, , s] = (await signToken('alice')).split('.');
      return `${h}.${base64url.encode(JSON.stringify({ sub: 'alice', exp: 9_999_999_999 }))}.${s}`;
    }],
  ])('%s: 401 INVALID_TOKEN', async (_name, make) => {
    const res = await list('alice', `Bearer ${await make()}`);
    expectError(res, 401, 'INVALID_TOKEN');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('an RS256 header on an HMAC signature is never checked against the shared secret', async () => {
    // No JWKS is reachable in this app, so an asymmetric token cannot be verified at all: 503, not 200.
    expectError(await list('alice', `Bearer ${await hsHeaderRsBody}`), 503, 'SERVICE_UNAVAILABLE');
  });

  it('accepts a token expired by less than the 30 s tolerance', async () => {
    expect((await list('alice', `Bearer ${await signToken('alice', { expiresIn: -10 })}`)).statusCode).toBe(200);
  });

  it('authentication runs before validation: bad ids and bodies are 401 without a token', async () => {
    const anonymous = await api(t.app, 'alice', { token: null });
    expectError(await anonymous.get('abc'), 401, 'UNAUTHORIZED');
    expectError(await t.app.inject({ method: 'POST', url: routes.tasks('alice'), payload: '{bad', headers: { 'content-type': 'application/json' } }), 401, 'UNAUTHORIZED');
    expectError(await t.app.inject({ method: 'POST', url: routes.tasks('alice'), payload: 'x', headers: { 'content-type': 'text/plain' } }), 401, 'UNAUTHORIZED');
    expectError(await anonymous.list('?status=zzz', { authorization: 'Bearer not.a.jwt' }), 401, 'INVALID_TOKEN');
  });

  it('the path user is checked before validation: 403, then 400', async () => {
    const token = await signToken('alice');
    expectError(await (await api(t.app, 'bob', { token })).get('abc'), 403, 'FORBIDDEN');
    expectError(await (await api(t.app, 'alice', { token })).get('abc'), 400, 'VALIDATION_ERROR');
  });

  it('the user comes from the token, not the body', async () => {
    const user = uniqueUser();
    const res = await (await api(t.app, user)).create(loose({ title: 'x', user_id: 'mallory' }));
    expect(res.json().data.user_id).toBe(user);
  });

  it('/health, /ready, /openapi.json and /docs need no token', async () => {
    expect((await publicApi(t.app).health()).json()).toEqual({ status: 'healthy' });
    expect((await publicApi(t.app).ready()).json()).toEqual({ status: 'ready' });
    expect((await t.app.inject(routes.openapi)).statusCode).toBe(200);
    expect((await t.app.inject(routes.docs)).statusCode).toBe(200);
  });
});

const KEY = new TextEncoder().encode(TEST_SECRET);
const nowS = () => Math.floor(Date.now() / 1000);
/** An HS256 token with exactly these header fields and claims (no defaults added). */
const mint = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, key = KEY) =>
  new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key);

describe('tokens per RFC 8725, and a 401 that says why', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
  });
  afterAll(async () => t?.close());

  const list = async (token: string, app = t.app) => (await api(app, 'alice', { token })).list();

  it.each([
    ['another secret', () => signToken('alice', { secret: 'another-secret-another-secret-0123456789' }),
      "The token's signature does not match: is BETTER_AUTH_SECRET the same as the frontend's?"],
    ['expired', () => signToken('alice', { expiresIn: -3600 }), 'The token has expired'],
    ['no exp', () => mint({ sub: 'alice', iat: nowS() }), 'The token has no expiry (exp); tokens must expire'],
    ['iat 2 minutes ahead', () => mint({ sub: 'alice', iat: nowS() + 120, exp: nowS() + 3600 }), 'The token was issued in the future (iat): check the clocks'],
    ['nbf 2 minutes ahead', () => mint({ sub: 'alice', nbf: nowS() + 120, exp: nowS() + 3600 }), 'The token is not valid yet (nbf): check the clocks'],
    ['exp a string', () => mint({ sub: 'alice', exp: String(nowS() + 3600) }), "The token's claims are not valid (exp, nbf and iat must be numbers)"],
    ['no sub', () => signToken('alice', { noSub: true }), 'The token has no subject (sub)'],
    ['alg none', async () => new UnsecuredJWT({ sub: 'alice' }).setExpirationTime('1h').encode(),
      "The token's algorithm (alg) is not accepted: use HS256/384/512 with BETTER_AUTH_SECRET or a Better Auth JWKS key (EdDSA, ES256, RS256, PS256, ...)"],
    ['garbage', async () => 'garbage', 'The token is malformed: neither a JWT nor a Better Auth session token'],
    ["Better Auth's session cookie cache (typ better-auth.session-cache+jwt)",
      () => mint({ sub: 'alice', exp: nowS() + 3600 }, { alg: 'HS256', typ: 'better-auth.session-cache+jwt' }), "The token's type (typ) is not a JWT access token"],
    ['typ dpop+jwt', () => mint({ sub: 'alice', exp: nowS() + 3600 }, { alg: 'HS256', typ: 'dpop+jwt' }), "The token's type (typ) is not a JWT access token"],
    ['typ a number', () => mint({ sub: 'alice', exp: nowS() + 3600 }, { alg: 'HS256', typ: 7 }), "The token's type (typ) is not a JWT access token"],
  ])('%s: 401 INVALID_TOKEN saying why', async (_name, make, message) => {
    const res = await list(await make());
    expectError(res, 401, 'INVALID_TOKEN', message);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it.each([
    ['no typ', { alg: 'HS256' }],
    ['typ JWT', { alg: 'HS256', typ: 'JWT' }],
    ['typ jwt', { alg: 'HS256', typ: 'jwt' }],
    ['typ at+jwt (RFC 9068)', { alg: 'HS256', typ: 'at+jwt' }],
    ['typ application/at+jwt', { alg: 'HS256', typ: 'application/at+jwt' }],
  ])('%s is accepted', async (_name, header) => {
    expect((await list(await mint({ sub: 'alice', exp: nowS() + 3600, iat: nowS() }, header))).statusCode).toBe(200);
  });

  it('iat within the 30 s clock tolerance is accepted', async () => {
    expect((await list(await mint({ sub: 'alice', iat: nowS() + 20, exp: nowS() + 3600 }))).statusCode).toBe(200);
  });

  it('changing the last base64url character of a signature never gives another accepted token', async () => {
    const good = await signToken('alice');
    expect((await list(good)).statusCode).toBe(200);
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = good.at(-1) as string;
    const accepted: string[] = [];
    for (const c of ALPHABET) {
      if (c === last) continue;
      const variant = `${good.slice(0, -1)}${c}`;
      const res = await list(variant);
      if (res.statusCode !== 401) accepted.push(`${c}: ${res.statusCode}`);
      else expect(res.json().code).toBe('INVALID_TOKEN');
    }
    expect(accepted).toEqual([]);
    // The spellings that decode to the same bytes are refused as non-canonical, not as a bad signature.
    const i = ALPHABET.indexOf(last);
    const alias = `${good.slice(0, -1)}${ALPHABET[i ^ 1]}`;
    expectError(await list(alias), 401, 'INVALID_TOKEN', 'The token is malformed: a part is not canonical base64url');
    for (const bad of [`${good}=`, good.replace('.', '.+'), `${good.slice(0, -1)}*`]) expectError(await list(bad), 401, 'INVALID_TOKEN');
  });

  it('JWT_REQUIRE_EXP=false accepts a token without exp', async () => {
    const lax = await buildTestApp('embedded', { jwtRequireExp: false });
    try {
      expect((await list(await mint({ sub: 'alice', iat: nowS() }), lax.app)).statusCode).toBe(200);
    } finally {
      await lax.close();
    }
  });

  it('an HS256 token where no BETTER_AUTH_SECRET is set says so', async () => {
    const jwksOnly = await buildTestApp('embedded', { betterAuthSecret: undefined });
    try {
      expectError(await list(await signToken('alice'), jwksOnly.app), 401, 'INVALID_TOKEN', 'HS256/384/512 tokens are not accepted here: BETTER_AUTH_SECRET is not set on the API');
    } finally {
      await jwksOnly.close();
    }
  });
});
