import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from '../helpers/api.js';
import { buildTestApp, expectError, type TestApp } from '../helpers/app.js';

type Alg = 'EdDSA' | 'ES256' | 'RS256' | 'PS256';

/** A short refetch cooldown keeps this file fast; production's default is 2 s. */
const COOLDOWN = 300;
const pastCooldown = () => new Promise((r) => setTimeout(r, COOLDOWN + 50));

/** A JWKS endpoint on loopback that serves whatever keys the test puts in it, and counts fetches. */
class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  up = true;
  private server: Server = createServer((req, res) => {
    if (!this.up) {
      req.socket.destroy();
      return;
    }
    this.fetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: this.keys }));
  });
  url = '';
  async start() {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  close() {
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface SigningKey {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let kidCounter = 0;
async function newKey(alg: Alg): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `kid-${alg}-${++kidCounter}`;
  // Like Better Auth's JWKS: alg and kid, no "use".
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

describe('Better Auth JWT-plugin tokens via JWKS', () => {
  const jwks = new JwksServer();
  let t: TestApp;
  let issuer: string;

  beforeAll(async () => {
    await jwks.start();
    issuer = jwks.url;
    t = await buildTestApp('embedded', { betterAuthUrl: issuer, jwksUrl: `${issuer}/api/auth/jwks`, jwtIssuer: issuer, jwtAudience: issuer, jwksCooldownMs: COOLDOWN });
  });
  afterAll(async () => {
    await t?.close();
    await jwks.close();
  });

  async function sign(key: SigningKey, sub: string | undefined, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
    const jwt = new SignJWT({ id: sub, email: `${sub}@example.com`, ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
      .setIssuedAt()
      .setIssuer((claims.iss as string) ?? issuer)
      .setAudience((claims.aud as string) ?? issuer)
      .setExpirationTime('15m');
    if (sub !== undefined) jwt.setSubject(sub);
    return jwt.sign(key.privateKey);
  }
  const list = async (user: string, token: string) => (await api(t.app, user, { token })).list();

  it.each(['EdDSA', 'ES256', 'RS256', 'PS256'] as const)('%s tokens are accepted', async (alg) => {
    const key = await newKey(alg);
    jwks.keys.push(key.publicJwk);
    await pastCooldown();
    const res = await list('alice', await sign(key, 'alice'));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: [], message: 'Tasks retrieved successfully' });
  });

  it('a freshly rotated key is accepted without restart; the old one keeps working', async () => {
    const old = await newKey('EdDSA');
    jwks.keys = [old.publicJwk];
    await pastCooldown(); // past the refetch cooldown of earlier tests
    expect((await list('alice', await sign(old, 'alice'))).statusCode).toBe(200);
    const rotated = await newKey('EdDSA');
    jwks.keys = [rotated.publicJwk, old.publicJwk];
    await pastCooldown();
    expect((await list('alice', await sign(rotated, 'alice'))).statusCode).toBe(200);
    expect((await list('alice', await sign(old, 'alice', { jti: 'again' }))).statusCode).toBe(200);
  });

  it('a flood of unknown kids costs at most one refetch per cooldown', async () => {
    const stranger = await newKey('EdDSA'); // never published
    await pastCooldown();
    const before = jwks.fetches;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => sign(stranger, 'alice', { n: i }).then((tok) => list('alice', tok))));
    for (const a of answers) expectError(a, 401, 'INVALID_TOKEN');
    expect(jwks.fetches - before).toBe(1);
  });

  it.each([
    ['wrong issuer', { iss: 'http://evil.example' }],
    ['wrong audience', { aud: 'http://other.example' }],
    ['expired beyond 30 s', { exp: Math.floor(Date.now() / 1000) - 60 }],
    ['not yet valid', { nbf: Math.floor(Date.now() / 1000) + 120 }],
  ])('%s: 401 INVALID_TOKEN', async (_name, claims) => {
    const key = await newKey('EdDSA');
    jwks.keys.push(key.publicJwk);
    await pastCooldown();
    const token = await new SignJWT({ sub: 'alice', iss: issuer, aud: issuer, exp: Math.floor(Date.now() / 1000) + 600, ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .sign(key.privateKey);
    expectError(await list('alice', token), 401, 'INVALID_TOKEN');
  });

  it('a token without sub is refused', async () => {
    const key = await newKey('ES256');
    jwks.keys.push(key.publicJwk);
    await pastCooldown();
    expectError(await list('alice', await sign(key, undefined)), 401, 'INVALID_TOKEN', 'The token has no subject (sub)');
  });

  it('algorithm confusion: an HS256 token whose secret is a published public key is refused', async () => {
    const key = await newKey('RS256');
    jwks.keys.push(key.publicJwk);
    const secret = new TextEncoder().encode(JSON.stringify(key.publicJwk));
    const forged = await new SignJWT({ sub: 'alice', iss: issuer, aud: issuer })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setExpirationTime('5m')
      .sign(secret);
    expectError(await list('alice', forged), 401, 'INVALID_TOKEN');
    const nKey = new TextEncoder().encode(key.publicJwk.n as string);
    const forged2 = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'HS256', kid: key.kid }).setExpirationTime('5m').sign(nKey);
    expectError(await list('alice', forged2), 401, 'INVALID_TOKEN');
    // And the reverse: an RS256 header on an HMAC signature made with the shared secret.
    const { signToken } = await import('../helpers/app.js');
    const [, payload, sig] = (await signToken('alice')).split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: key.kid })).toString('base64url');
    expectError(await list('alice', `${header}.${payload}.${sig}`), 401, 'INVALID_TOKEN');
  });

  it('with the auth server down, cached keys keep working and unknown ones fail fast with 401', async () => {
    const key = await newKey('EdDSA');
    jwks.keys.push(key.publicJwk);
    await pastCooldown();
    expect((await list('alice', await sign(key, 'alice'))).statusCode).toBe(200);
    jwks.up = false;
    try {
      expect((await list('alice', await sign(key, 'alice', { jti: 'while-down' }))).statusCode).toBe(200);
      const unknown = await newKey('EdDSA');
      await pastCooldown();
      const started = Date.now();
      expectError(await list('alice', await sign(unknown, 'alice')), 401, 'INVALID_TOKEN');
      expect(Date.now() - started).toBeLessThan(3500); // the fetch is bounded (3 s), never a hang
    } finally {
      jwks.up = true;
    }
  });
});

describe('JWKS never reachable', () => {
  it('answers 503 SERVICE_UNAVAILABLE (nothing can be verified), fast, and HS256 still works', async () => {
    const t = await buildTestApp('embedded', { betterAuthUrl: 'http://127.0.0.1:9', jwksUrl: 'http://127.0.0.1:9/api/auth/jwks' });
    try {
      const { privateKey } = await generateKeyPair('EdDSA');
      const token = await new SignJWT({ sub: 'alice' }).setProtectedHeader({ alg: 'EdDSA', kid: 'k' }).setExpirationTime('5m').sign(privateKey);
      const res = await (await api(t.app, 'alice', { token })).list();
      expectError(res, 503, 'SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('5');
      const { signToken } = await import('../helpers/app.js');
      const hs = await (await api(t.app, 'alice', { token: await signToken('alice') })).list();
      expect(hs.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
