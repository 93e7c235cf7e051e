/**
 * A raw Better Auth session token from a frontend WITHOUT the bearer() plugin (issue 12: it sends
 * `authClient.getSession()`'s `session.token` as the Bearer token). get-session then ignores the
 * Authorization header, so the API presents the token as the signed session cookie, which it can
 * sign because it holds BETTER_AUTH_SECRET. Against the real better-auth server, configured
 * without bearer(): valid, expired, signed-out and forged tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api as apiOf } from '../helpers/api.js';
import { expectError, startApi, type RunningApi } from '../helpers/app.js';
import { sleep } from '../helpers/process.js';
import { startBetterAuth, type BetterAuthServer, type BetterAuthSession } from '../support/better-auth-server.js';

const PASSWORD = 'a long enough password';

function withBearer(api: RunningApi, token: string) {
  return {
    list: async (user: string) => (await apiOf(api.app, user, { token })).list(),
    create: async (user: string, title: string) => (await apiOf(api.app, user, { token })).create({ title }),
  };
}

describe('session tokens from a frontend without bearer() (the API holds BETTER_AUTH_SECRET)', () => {
  let ba: BetterAuthServer;
  let api: RunningApi;
  let alice: BetterAuthSession;

  beforeAll(async () => {
    ba = await startBetterAuth({ bearer: false });
    api = await startApi({ betterAuthUrl: ba.baseURL, betterAuthSecret: ba.secret, sessionCacheTtlMs: 0 });
    alice = await ba.signUp('alice@example.com', PASSWORD, 'Alice');
  }, 30_000);
  afterAll(async () => {
    await api?.close();
    await ba?.close();
  });

  it('without bearer(), Better Auth itself ignores the Authorization header (what the frontend faces)', async () => {
    const res = await fetch(`${ba.baseURL.replace('localhost', '127.0.0.1')}/api/auth/get-session`, { headers: { authorization: `Bearer ${alice.bareToken}` } });
    expect(await res.json()).toBeNull();
  });

  it('the bare session.token works: create, then list as that user', async () => {
    expect(alice.bareToken).toMatch(/^[A-Za-z0-9]{32}$/);
    const as = withBearer(api, alice.bareToken);
    const created = await as.create(alice.userId, 'from a bearer-less frontend');
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().data).toMatchObject({ user_id: alice.userId, title: 'from a bearer-less frontend' });
    const list = await as.list(alice.userId);
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((t: { title: string }) => t.title)).toContain('from a bearer-less frontend');
  });

  it('the signed cookie form <token>.<signature> works too', async () => {
    expect(alice.sessionToken).toMatch(/^[A-Za-z0-9]{32}\.[A-Za-z0-9+/]{43}=$/);
    expect((await withBearer(api, alice.sessionToken).list(alice.userId)).statusCode).toBe(200);
  });

  it('forged: an unknown token, a real token with a forged signature, a token signed with another secret: 401 INVALID_TOKEN', async () => {
    const { sessionSignature } = await import('../../src/auth/session.js');
    for (const token of [
      'A'.repeat(32),
      `${alice.bareToken}.${Buffer.alloc(32, 7).toString('base64')}`,
      `${alice.bareToken}.${sessionSignature(alice.bareToken, 'not-the-secret-not-the-secret-0123456789')}`,
    ]) {
      expectError(await withBearer(api, token).list(alice.userId), 401, 'INVALID_TOKEN', 'The session is invalid, expired or signed out');
    }
  });

  it('signed out: 401 INVALID_TOKEN for both forms', async () => {
    const bob = await ba.signUp('bob@example.com', PASSWORD, 'Bob');
    expect((await withBearer(api, bob.bareToken).list(bob.userId)).statusCode).toBe(200);
    await ba.signOut(bob.sessionToken);
    for (const token of [bob.bareToken, bob.sessionToken]) {
      expectError(await withBearer(api, token).list(bob.userId), 401, 'INVALID_TOKEN', 'The session is invalid, expired or signed out');
    }
  });

  it('an API without BETTER_AUTH_SECRET: the signed form still works (it is the cookie itself), the bare token cannot', async () => {
    const jwksOnly = await startApi({ betterAuthUrl: ba.baseURL, betterAuthSecret: undefined, sessionCacheTtlMs: 0 });
    try {
      expect((await withBearer(jwksOnly, alice.sessionToken).list(alice.userId)).statusCode).toBe(200);
      expectError(await withBearer(jwksOnly, alice.bareToken).list(alice.userId), 401, 'INVALID_TOKEN');
    } finally {
      await jwksOnly.close();
    }
  });
});

describe('session tokens that expire (session.expiresIn 2 s, without bearer())', () => {
  it('valid until Better Auth expires the session, then 401 INVALID_TOKEN', async () => {
    const ba = await startBetterAuth({ bearer: false, sessionExpiresIn: 2 });
    const api = await startApi({ betterAuthUrl: ba.baseURL, betterAuthSecret: ba.secret, sessionCacheTtlMs: 0 });
    try {
      const carol = await ba.signUp('carol@example.com', PASSWORD, 'Carol');
      expect((await withBearer(api, carol.bareToken).list(carol.userId)).statusCode).toBe(200);
      await sleep(2500);
      expectError(await withBearer(api, carol.bareToken).list(carol.userId), 401, 'INVALID_TOKEN', 'The session is invalid, expired or signed out');
    } finally {
      await api.close();
      await ba.close();
    }
  }, 20_000);

  it('a cached session is never trusted past its expiresAt', async () => {
    const ba = await startBetterAuth({ bearer: false, sessionExpiresIn: 2 });
    const api = await startApi({ betterAuthUrl: ba.baseURL, betterAuthSecret: ba.secret, sessionCacheTtlMs: 60_000 });
    try {
      const dave = await ba.signUp('dave@example.com', PASSWORD, 'Dave');
      expect((await withBearer(api, dave.bareToken).list(dave.userId)).statusCode).toBe(200);
      await sleep(2500);
      expectError(await withBearer(api, dave.bareToken).list(dave.userId), 401, 'INVALID_TOKEN');
    } finally {
      await api.close();
      await ba.close();
    }
  }, 20_000);
});
