import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authHeader, buildTestApp, type TestApp } from '../helpers/app.js';

describe('CORS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded', { corsOrigins: ['http://localhost:3000', 'https://app.example.com'] });
  });
  afterAll(async () => t?.close());

  const preflight = (origin: string, method = 'POST') =>
    t.app.inject({
      method: 'OPTIONS',
      url: '/api/alice/tasks',
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

  it('a preflight from another origin gets no Access-Control-Allow-Origin', async () => {
    for (const origin of ['http://evil.example', 'http://localhost:3001', 'null']) {
      const res = await preflight(origin);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('actual responses, errors included, carry the header for allowed origins only', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/api/alice/tasks', headers: { origin: 'http://localhost:3000', ...(await authHeader('alice')) } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(ok.headers['access-control-expose-headers']).toBe('ETag, Link, Retry-After, X-Request-Id, Idempotent-Replayed, WWW-Authenticate');
    const unauthorized = await t.app.inject({ method: 'GET', url: '/api/alice/tasks', headers: { origin: 'http://localhost:3000' } });
    expect(unauthorized.statusCode).toBe(401);
    expect(unauthorized.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const evil = await t.app.inject({ method: 'GET', url: '/api/alice/tasks', headers: { origin: 'http://evil.example', ...(await authHeader('alice')) } });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });
});
