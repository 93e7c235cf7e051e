import { SignJWT, UnsecuredJWT, base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeader, buildTestApp, expectError, signToken, TEST_SECRET, uniqueUser, type TestApp } from '../helpers/app.js';

describe('authentication (shared-secret HS256 mode)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
  });
  afterAll(async () => t?.close());

  const list = (user: string, authorization?: string) =>
    t.app.inject({ method: 'GET', url: `/api/${user}/tasks`, headers: authorization === undefined ? {} : { authorization } });

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
    expectError(await t.app.inject({ method: 'GET', url: '/api/alice/tasks/abc' }), 401, 'UNAUTHORIZED');
    expectError(await t.app.inject({ method: 'POST', url: '/api/alice/tasks', payload: '{bad', headers: { 'content-type': 'application/json' } }), 401, 'UNAUTHORIZED');
    expectError(await t.app.inject({ method: 'POST', url: '/api/alice/tasks', payload: 'x', headers: { 'content-type': 'text/plain' } }), 401, 'UNAUTHORIZED');
    expectError(await t.app.inject({ method: 'GET', url: '/api/alice/tasks?status=zzz', headers: { authorization: 'Bearer not.a.jwt' } }), 401, 'INVALID_TOKEN');
  });

  it('the path user is checked before validation: 403, then 400', async () => {
    const headers = await authHeader('alice');
    expectError(await t.app.inject({ method: 'GET', url: '/api/bob/tasks/abc', headers }), 403, 'FORBIDDEN');
    expectError(await t.app.inject({ method: 'GET', url: '/api/alice/tasks/abc', headers }), 400, 'VALIDATION_ERROR');
  });

  it('the user comes from the token, not the body', async () => {
    const user = uniqueUser();
    const res = await t.app.inject({ method: 'POST', url: `/api/${user}/tasks`, headers: await authHeader(user), payload: { title: 'x', user_id: 'mallory' } });
    expect(res.json().data.user_id).toBe(user);
  });

  it('/health, /ready, /openapi.json and /docs need no token', async () => {
    expect((await t.app.inject('/health')).json()).toEqual({ status: 'healthy' });
    expect((await t.app.inject('/ready')).json()).toEqual({ status: 'ready' });
    expect((await t.app.inject('/openapi.json')).statusCode).toBe(200);
    expect((await t.app.inject('/docs')).statusCode).toBe(200);
  });
});
