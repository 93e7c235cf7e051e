/**
 * Preflights (OPTIONS, which the OpenAPI document does not describe) stay raw inject, at the path
 * the test client's routes give; actual requests go through the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, routes } from '../helpers/api.js';
import { buildTestApp, expectError, logCapture, type TestApp } from '../helpers/app.js';

describe('CORS', () => {
  let t: TestApp;
  const log = logCapture();
  beforeAll(async () => {
    t = await buildTestApp('embedded', { corsOrigins: ['http://localhost:3000', 'https://app.example.com'], logLevel: 'warn' }, { logStream: log.stream });
  });
  afterAll(async () => t?.close());

  const preflight = (origin: string, method = 'POST') =>
    t.app.inject({
      method: 'OPTIONS',
      url: routes.tasks('alice'),
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
    });

  it('a preflight from an allowed origin gets 204 and the allowed methods and headers', async () => {
    for (const origin of ['http://localhost:3000', 'https://app.example.com']) {
      const res = await preflight(origin, 'PATCH');
      expect(res.statusCode).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toBe('GET, POST, PUT, PATCH, DELETE, OPTIONS');
      expect(res.headers['access-control-allow-headers']).toBe('Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Last-Event-ID');
      expect(res.headers.vary).toContain('Origin');
    }
  });

  it('a preflight from another origin is refused as such (403, not a missing route), with no Access-Control-Allow-Origin', async () => {
    for (const origin of ['http://evil.example', 'http://localhost:3001', 'null']) {
      const res = await preflight(origin);
      expectError(res, 403, 'FORBIDDEN', `The origin ${origin} is not allowed to call this API (the API's CORS_ORIGINS lists the allowed ones)`);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toContain('Origin');
    }
  });

  it('logs one warning per refused origin, naming it, CORS_ORIGINS and the likely slip', async () => {
    const origins = ['http://127.0.0.1:3000', 'http://127.0.0.1:3000', 'http://localhost:5173', 'http://app.example.com', 'http://other.example'];
    const before = log.lines().length;
    for (const origin of origins) expect((await preflight(origin)).statusCode).toBe(403);
    const allowed = 'CORS_ORIGINS (http://localhost:3000, https://app.example.com)';
    const add = 'add it to CORS_ORIGINS (comma-separated, scheme://host:port) if it is your frontend';
    expect(log.lines().slice(before).map((l) => [l.level, l.origin, l.msg])).toEqual([
      [40, 'http://127.0.0.1:3000', `CORS: refused a preflight from origin http://127.0.0.1:3000, which is not in ${allowed}: 127.0.0.1 and localhost are different origins to a browser; ${add}`],
      [40, 'http://localhost:5173', `CORS: refused a preflight from origin http://localhost:5173, which is not in ${allowed}: the port differs from http://localhost:3000; ${add}`],
      [40, 'http://app.example.com', `CORS: refused a preflight from origin http://app.example.com, which is not in ${allowed}: the scheme differs from https://app.example.com (http vs https); ${add}`],
      [40, 'http://other.example', `CORS: refused a preflight from origin http://other.example, which is not in ${allowed}; ${add}`],
    ]);
    // Earlier tests' origins were logged once each too, 'null' with its own hint.
    expect(log.lines().find((l) => l.origin === 'null')?.msg).toMatch(/sends Origin: null; serve the page over http\(s\)$/);
    expect(log.lines().filter((l) => l.origin === 'http://evil.example')).toHaveLength(1);
  });

  it('a bounded number of refused origins is logged one by one, then one summary', async () => {
    const before = log.lines().length;
    for (let i = 0; i < 110; i++) await preflight(`https://o${i}.example`);
    const lines = log.lines().slice(before);
    expect(lines.length).toBeLessThanOrEqual(101);
    expect(lines.at(-1)?.msg).toBe('CORS: refused preflights from more than 100 origins not in CORS_ORIGINS; further ones are not logged');
  });

  it('actual responses, errors included, carry the header for allowed origins only', async () => {
    const ok = await (await api(t.app, 'alice')).list(undefined, { origin: 'http://localhost:3000' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(ok.headers['access-control-expose-headers']).toBe('ETag, Link, Retry-After, X-Request-Id, Idempotent-Replayed, WWW-Authenticate');
    const unauthorized = await (await api(t.app, 'alice', { token: null })).list(undefined, { origin: 'http://localhost:3000' });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const evil = await (await api(t.app, 'alice')).list(undefined, { origin: 'http://evil.example' });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});
