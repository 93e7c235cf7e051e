import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, publicApi, routes } from '../helpers/api.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';

describe('response headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded');
  });
  afterAll(async () => t?.close());

  it('JSON answers carry security headers and a request id; a given X-Request-Id is echoed', async () => {
    for (const res of [
      await (await api(t.app, 'alice')).list(),
      await (await api(t.app, 'alice', { token: null })).list(),
      await t.app.inject({ url: '/nope' }), // no route: raw
      await publicApi(t.app).health(),
    ]) {
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
    const echoed = await publicApi(t.app).health({ 'x-request-id': 'trace-123' });
    expect(echoed.headers['x-request-id']).toBe('trace-123');
  });

  it('/docs keeps a page the browser can render (no default-src none)', async () => {
    const res = await t.app.inject(routes.docs);
    expect(res.headers['content-security-policy']).toBeUndefined();
  });
});
