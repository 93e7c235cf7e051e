/**
 * Server-side request forgery: the only places the API ever calls are the ones its configuration
 * names (Better Auth's JWKS and get-session). Whatever a token says about where its keys live
 * (jku, x5u, a URL as kid, iss) or whatever URL sits in a body or a header, nothing else is fetched.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, loose } from '../helpers/api.js';
import { buildTestApp, signToken, type TestApp } from '../helpers/app.js';
import { startStubAuthServer } from '../faults/support.js';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('no request forgery through tokens, bodies or headers', () => {
  let t: TestApp;
  let auth: Awaited<ReturnType<typeof startStubAuthServer>>;
  let trap: Server;
  let trapUrl = '';
  const trapHits: string[] = [];

  beforeAll(async () => {
    trap = createServer((req, res) => {
      trapHits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}`;
    auth = await startStubAuthServer();
    t = await buildTestApp('embedded', { betterAuthUrl: auth.url, jwksUrl: `${auth.url}/api/auth/jwks`, jwtIssuer: auth.url, jwtAudience: auth.url });
  });
  afterAll(async () => {
    await t?.close();
    await auth?.close();
    trap.closeAllConnections();
    await new Promise<void>((r) => trap.close(() => r()));
  });

  it('keys are never fetched from where a token points (jku, x5u, URL kid, iss), only from the configured JWKS', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'mallory', iat: now, exp: now + 600, iss: trapUrl, aud: trapUrl };
    const headers = [
      { alg: 'RS256', typ: 'JWT', jku: `${trapUrl}/jwks.json`, kid: 'k1' },
      { alg: 'ES256', typ: 'JWT', x5u: `${trapUrl}/cert.pem` },
      { alg: 'EdDSA', typ: 'JWT', kid: `${trapUrl}/key` },
      { alg: 'RS256', typ: 'JWT', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' }, kid: 'embedded' },
      { alg: 'PS256', typ: 'JWT', kid: '../../../../etc/passwd' },
    ];
    for (const h of headers) {
      const token = `${b64url(h)}.${b64url(claims)}.${Buffer.from('sig').toString('base64url')}`;
      const res = await (await api(t.app, 'mallory', { token })).list();
      expect({ header: h, status: res.statusCode, code: res.json().code }).toEqual({ header: h, status: 401, code: 'INVALID_TOKEN' });
    }
    // An HS256 token claiming a foreign issuer is still only checked against the shared secret.
    const hs = await signToken('mallory', { claims: { iss: trapUrl, jku: `${trapUrl}/jwks.json` } });
    expect((await (await api(t.app, 'mallory', { token: hs })).list()).statusCode).toBe(200);
    expect(trapHits).toEqual([]);
    expect(auth.hits()).toBeGreaterThan(0); // the configured JWKS was asked instead
  });

  it('URLs in bodies and headers are data, never fetched', async () => {
    const headers = {
      'x-forwarded-host': trapUrl.replace('http://', ''),
      'x-forwarded-proto': 'http',
      forwarded: `host=${trapUrl.replace('http://', '')}`,
      referer: `${trapUrl}/from`,
      origin: trapUrl,
    };
    const mallory = await api(t.app, 'mallory', { headers });
    const created = await mallory.create(loose({ title: `${trapUrl}/title`, description: `${trapUrl}/description`, callback: `${trapUrl}/cb`, webhook: trapUrl }));
    expect(created.statusCode).toBe(201);
    const id = created.json().data.id as number;
    for (const payload of [{ title: `${trapUrl}/put` }, { description: `${trapUrl}/d` }]) {
      expect((await mallory.put(id, payload)).statusCode).toBe(200);
    }
    expect((await mallory.list(`?status=all&url=${encodeURIComponent(trapUrl)}`)).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(trapHits).toEqual([]);
  });
});
