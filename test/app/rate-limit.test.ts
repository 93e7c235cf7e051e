import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeader, buildTestApp, expectError, type TestApp } from '../helpers/app.js';

describe('rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('pglite', { rateLimitPerMinute: 3 });
  });
  afterAll(async () => t?.close());

  it('per user: the 4th request in a minute is 429 RATE_LIMITED with Retry-After; other users are unaffected', async () => {
    const alice = await authHeader('rl-alice');
    for (let i = 0; i < 3; i++) expect((await t.app.inject({ url: '/api/rl-alice/tasks', headers: alice })).statusCode).toBe(200);
    const limited = await t.app.inject({ url: '/api/rl-alice/tasks', headers: alice });
    expectError(limited, 429, 'RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await t.app.inject({ url: '/api/rl-bob/tasks', headers: await authHeader('rl-bob') })).statusCode).toBe(200);
  });

  it('anonymous and bad-token callers are limited per IP', async () => {
    const from = (ip: string) => ({ url: '/api/x/tasks', remoteAddress: ip, headers: { authorization: 'Bearer nope.nope.nope' } });
    for (let i = 0; i < 3; i++) expectError(await t.app.inject(from('10.9.9.9')), 401, 'INVALID_TOKEN');
    expectError(await t.app.inject(from('10.9.9.9')), 429, 'RATE_LIMITED');
    expectError(await t.app.inject(from('10.9.9.8')), 401, 'INVALID_TOKEN');
  });
});
