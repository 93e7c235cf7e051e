/**
 * Session-token lookups (get-session calls to Better Auth) are bounded, against the real
 * better-auth server with its own rate limit on (here 10 requests per 2 s per IP and path; the
 * library's default is 100 per 10 s): an anonymous client's flood of unknown tokens costs at most
 * its per-IP allowance and per-IP in-flight cap of calls, so it cannot burn Better Auth's limit
 * for everyone; lookups in flight are capped per instance; while Better Auth answers 429 the API
 * makes no call until its Retry-After has passed, and cached tokens keep working.
 *
 * The phases share one Better Auth (its rate-limit store is per process) and wait out its window
 * between them.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api as apiOf } from '../helpers/api.js';
import { expectError, startApi, type RunningApi } from '../helpers/app.js';
import { sleep } from '../helpers/process.js';
import { startBetterAuth, type BetterAuthServer, type BetterAuthSession } from '../support/better-auth-server.js';

const PASSWORD = 'a long enough password';
const WINDOW_S = 2;
const BA_MAX = 10;
const unknownToken = () => randomBytes(24).toString('base64url').replace(/[-_]/g, 'x').slice(0, 32);

describe('session-token lookups are bounded (real Better Auth, rate limit on)', () => {
  let ba: BetterAuthServer;
  let api: RunningApi;
  const users: BetterAuthSession[] = [];
  const getSessionCalls = () => ba.requests.filter((r) => r.path.startsWith('/api/auth/get-session')).length;
  const list = async (token: string, user: string, ip: string) => (await apiOf(api.app, user, { token, remoteAddress: ip })).list();
  /** Lets Better Auth's window pass (it slides from the last allowed request). */
  const quiet = () => sleep(WINDOW_S * 1000 + 200);

  beforeAll(async () => {
    ba = await startBetterAuth({ rateLimit: { window: WINDOW_S, max: BA_MAX } });
    api = await startApi({
      betterAuthUrl: ba.baseURL,
      rateLimitPerMinute: 20,
      sessionCacheTtlMs: 60_000,
      sessionLookupsMax: 6,
      sessionLookupsPerIp: 3,
    });
    // Sign-ups have their own limit in Better Auth (3 per 10 s): three users, once.
    for (const name of ['ann', 'ben', 'cat']) users.push(await ba.signUp(`${name}@example.com`, PASSWORD, name));
    await quiet();
  }, 30_000);
  afterAll(async () => {
    await api?.close();
    await ba?.close();
  });

  it('200 concurrent unknown tokens from one client: at most 3 calls (its in-flight cap), the rest 429; a real user is still served', async () => {
    const before = getSessionCalls();
    ba.resetGetSessionPeak();
    const answers = await Promise.all(Array.from({ length: 200 }, () => list(unknownToken(), 'x', '203.0.113.66')));
    const statuses = answers.map((a) => a.statusCode);
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(3);
    for (const a of answers.filter((x) => x.statusCode === 429)) expectError(a, 429, 'RATE_LIMITED');
    expect(getSessionCalls() - before).toBeLessThanOrEqual(3);
    expect(ba.getSessionPeak()).toBeLessThanOrEqual(3);
    // The same client again, one at a time: its per-IP rate limit (20 a minute) bounds the rest.
    for (let i = 0; i < 30; i++) await list(unknownToken(), 'x', '203.0.113.66');
    expect(getSessionCalls() - before, 'get-session calls from one anonymous client in a minute').toBeLessThanOrEqual(20);
    await quiet();
    const [ann] = users as [BetterAuthSession];
    expect((await list(ann.sessionToken, ann.userId, '198.51.100.1')).statusCode).toBe(200);
  }, 30_000);

  it('unknown tokens from 40 clients at once: at most 6 lookups in flight; the others 503 with Retry-After, none sent', async () => {
    await quiet();
    const before = getSessionCalls();
    ba.resetGetSessionPeak();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => list(unknownToken(), 'x', `198.51.100.${100 + i}`)));
    expect(ba.getSessionPeak()).toBeLessThanOrEqual(6);
    const busy = answers.filter((a) => a.statusCode === 503);
    expect(busy.length).toBeGreaterThanOrEqual(34);
    for (const a of busy) {
      expectError(a, 503, 'SERVICE_UNAVAILABLE', 'Tokens cannot be verified right now: too many session lookups in flight');
      expect(a.headers['retry-after']).toBe('1');
    }
    expect(getSessionCalls() - before).toBe(40 - busy.length);
  });

  it('while Better Auth answers 429: 503 with its Retry-After, no call until it has passed, cached tokens still work', async () => {
    await quiet();
    const [, ben, cat] = users as [BetterAuthSession, BetterAuthSession, BetterAuthSession];
    expect((await list(ben.sessionToken, ben.userId, '192.0.2.1')).statusCode).toBe(200); // cached from now on
    // Use up Better Auth's window with unknown tokens from distinct clients, one at a time.
    let answer = await list(unknownToken(), 'x', '192.0.2.10');
    for (let i = 11; answer.statusCode === 401 && i < 40; i++) answer = await list(unknownToken(), 'x', `192.0.2.${i}`);
    expectError(answer, 503, 'SERVICE_UNAVAILABLE', 'Tokens cannot be verified right now: the auth server asks us to slow down');
    const retryAfter = Number(answer.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);

    const calls = getSessionCalls();
    for (let i = 0; i < 10; i++) {
      const res = await list(unknownToken(), 'x', `192.0.2.${100 + i}`);
      expectError(res, 503, 'SERVICE_UNAVAILABLE');
      expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(retryAfter);
    }
    expectError(await list(cat.sessionToken, cat.userId, '192.0.2.200'), 503, 'SERVICE_UNAVAILABLE');
    expect(getSessionCalls(), 'calls while backing off').toBe(calls);
    expect((await list(ben.sessionToken, ben.userId, '192.0.2.1')).statusCode, 'a cached token').toBe(200);

    await sleep(retryAfter * 1000 + 200);
    await quiet();
    expect((await list(cat.sessionToken, cat.userId, '192.0.2.200')).statusCode).toBe(200);
  }, 30_000);
});
