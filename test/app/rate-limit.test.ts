import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { api } from '../helpers/api.js';
import { buildTestApp, expectError, type TestApp } from '../helpers/app.js';

/** GET x's tasks with a token that is no token, from `ip` (as the socket says), with `headers`. */
const badTokenList = async (app: FastifyInstance, ip: string, headers: Record<string, string> = {}) =>
  (await api(app, 'x', { token: 'nope.nope.nope', remoteAddress: ip, headers })).list();

describe('rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded', { rateLimitPerMinute: 3 });
  });
  afterAll(async () => t?.close());

  it('per user: the 4th request in a minute is 429 RATE_LIMITED with Retry-After; other users are unaffected', async () => {
    const alice = await api(t.app, 'rl-alice');
    for (let i = 0; i < 3; i++) expect((await alice.list()).statusCode).toBe(200);
    const limited = await alice.list();
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await (await api(t.app, 'rl-bob')).list()).statusCode).toBe(200);
  });

  it('anonymous and bad-token callers are limited per IP', async () => {
    for (let i = 0; i < 3; i++) expectError(await badTokenList(t.app, '10.9.9.9'), 401, 'INVALID_TOKEN');
    expectError(await badTokenList(t.app, '10.9.9.9'), 429, 'RATE_LIMITED');
    expectError(await badTokenList(t.app, '10.9.9.8'), 401, 'INVALID_TOKEN');
  });
});

describe('rate limit: failed invitation accepts (issue 23: tokens cannot be probed)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded', { rateLimitPerMinute: 25 });
  });
  afterAll(async () => t?.close());

  it('a failed accept counts ten requests: after two guesses, five more requests, then 429; a user who guesses nothing keeps all 25', async () => {
    const guesser = await api(t.app, 'rl-guesser');
    // A token of the right shape (32 random bytes, base64url) that no invitation has, and one of the wrong shape.
    for (const token of ['A'.repeat(43), 'not-a-token']) {
      expectError(await guesser.sharing.accept(token), 404, 'NOT_FOUND', 'Invitation not found');
    }
    for (let i = 0; i < 5; i++) expect((await guesser.list()).statusCode).toBe(200);
    expectError(await guesser.list(), 429, 'RATE_LIMITED');

    const honest = await api(t.app, 'rl-honest');
    for (let i = 0; i < 25; i++) expect((await honest.list()).statusCode).toBe(200);
    expectError(await honest.list(), 429, 'RATE_LIMITED');
  });
});

describe('rate limit per IP behind a proxy (TRUST_PROXY)', () => {
  /** A client at `client` behind our load balancer at 10.0.0.2, which appends the client to X-Forwarded-For. */
  const viaProxy = (app: FastifyInstance, spoofed: string, client: string) => badTokenList(app, '10.0.0.2', { 'x-forwarded-for': `${spoofed}, ${client}` });

  it.each([
    ['one hop (TRUST_PROXY=true or 1)', 1],
    ['the proxy\'s CIDR', ['10.0.0.0/24']],
  ] as const)('%s: a spoofed left part of X-Forwarded-For is not a new IP; the limit triggers', async (_name, trustProxy) => {
    const t = await buildTestApp('embedded', { rateLimitPerMinute: 3, trustProxy: trustProxy as never });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await viaProxy(t.app, `10.9.9.${i}`, '203.0.113.7')).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // Another client behind the same proxy has its own window.
      expectError(await viaProxy(t.app, '10.9.9.1', '203.0.113.8'), 401, 'INVALID_TOKEN');
    } finally {
      await t.close();
    }
  });

  it('with a CIDR list, a client that reaches the service directly cannot choose its IP by X-Forwarded-For', async () => {
    const t = await buildTestApp('embedded', { rateLimitPerMinute: 3, trustProxy: ['10.0.0.0/24'] });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await badTokenList(t.app, '198.51.100.9', { 'x-forwarded-for': `203.0.113.${i}` })).statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
  });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: the socket address counts', async () => {
    const t = await buildTestApp('embedded', { rateLimitPerMinute: 3 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await viaProxy(t.app, '10.9.9.1', `203.0.113.${i}`)).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await t.close();
    }
  });
});

const REDIS_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

describe('rate limit shared through Redis (REDIS_URL)', () => {
  it('two instances enforce one limit per user, and Retry-After comes from the shared window', async () => {
    const { Redis } = await import('ioredis');
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const reachable = await probe.connect().then(() => true, () => false);
    probe.disconnect();
    if (!reachable && process.env.CI) throw new Error(`Redis is not reachable at ${REDIS_URL}`);
    if (!reachable) return; // a developer machine without Redis: nothing to test against

    const one = await buildTestApp('embedded', { rateLimitPerMinute: 4, redisUrl: REDIS_URL });
    const two = await buildTestApp('embedded', { rateLimitPerMinute: 4, redisUrl: REDIS_URL });
    try {
      const user = `redis-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const [onOne, onTwo] = [await api(one.app, user), await api(two.app, user)];
      const statuses: number[] = [];
      for (const as of [onOne, onTwo, onOne, onTwo, onOne, onTwo]) {
        statuses.push((await as.list()).statusCode);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      const limited = await onTwo.list();
      expectError(limited, 429, 'RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('Redis being unreachable does not take the API down: requests are allowed', async () => {
    const t = await buildTestApp('embedded', { rateLimitPerMinute: 1, redisUrl: 'redis://127.0.0.1:9' });
    try {
      const as = await api(t.app, 'redis-down');
      for (let i = 0; i < 3; i++) expect((await as.list()).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
