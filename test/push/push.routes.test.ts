/**
 * API.md, Version 3, "Reminders" / Web Push: GET /push/public-key, POST and DELETE
 * /api/{user_id}/push-subscriptions. Status codes and exact bodies, on both databases.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { api, loose, publicApi, routes } from '../helpers/api.js';
import { buildTestApp, expectError, logCapture, signToken, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';

/** A browser's PushSubscription.toJSON() for an endpoint of a (public) push service. */
function browserSubscription(endpoint = `https://93.184.215.14/push/${randomBytes(12).toString('base64url')}`) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, expirationTime: null, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

describe.each(drivers)('Web Push subscriptions [%s]', (driver) => {
  let t: TestApp;
  const log = logCapture();
  beforeAll(async () => {
    t = await buildTestApp(driver, { jobsConcurrency: 0, logLevel: 'debug' }, { logStream: log.stream });
  });
  afterAll(async () => t?.close());
  const as = async (user = uniqueUser()) => api(t.app, user);

  it('GET /push/public-key, without a token: the VAPID public key (65 bytes, uncompressed P-256)', async () => {
    const res = await publicApi(t.app).pushPublicKey();
    expect(res.statusCode).toBe(200);
    const key = testConfig().vapid?.publicKey;
    expect(res.json()).toEqual({ data: { public_key: key }, message: 'Public key retrieved successfully' });
    const raw = Buffer.from(key as string, 'base64url');
    expect(raw.length).toBe(65);
    expect(raw[0]).toBe(4);
  });

  it('POST: 201 {data: {id}}; the same endpoint again keeps its id (new keys); DELETE: 200, then 404', async () => {
    const alice = await as();
    const sub = browserSubscription();
    const created = await alice.subscribePush(sub);
    expect(created.statusCode).toBe(201);
    const { id } = created.json().data as { id: number };
    expect(created.json()).toEqual({ data: { id }, message: 'Push subscription created successfully' });
    expect(Number.isInteger(id) && id > 0).toBe(true);

    const again = await alice.subscribePush({ ...browserSubscription(sub.endpoint), expirationTime: Date.UTC(2027, 0, 1) });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual({ data: { id }, message: 'Push subscription created successfully' });
    const [row] = await t.database.rows<{ n: number; expiration_time: string }>(
      'select count(*)::int as n, max(expiration_time) as expiration_time from push_subscriptions where user_id = $1',
      [alice.user],
    );
    expect(row).toEqual({ n: 1, expiration_time: '2027-01-01T00:00:00.000Z' });

    const deleted = await alice.unsubscribePush(id);
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json()).toEqual({ data: { id }, message: 'Push subscription deleted successfully' });
    expectError(await alice.unsubscribePush(id), 404, 'NOT_FOUND', 'Push subscription not found');
  });

  it("another user's subscription, or an unknown id, is a 404 and stays", async () => {
    const alice = await as();
    const bob = await as();
    const { id } = (await alice.subscribePush(browserSubscription())).json().data as { id: number };
    expectError(await bob.unsubscribePush(id), 404, 'NOT_FOUND', 'Push subscription not found');
    expectError(await bob.unsubscribePush(2_000_000_000), 404, 'NOT_FOUND');
    expect((await alice.unsubscribePush(id)).statusCode).toBe(200);
  });

  it('two users may subscribe the same browser endpoint: each has their own subscription', async () => {
    const sub = browserSubscription();
    const a = (await (await as()).subscribePush(sub)).json().data.id;
    const b = (await (await as()).subscribePush(sub)).json().data.id;
    expect(a).not.toBe(b);
  });

  it('validation: 400 VALIDATION_ERROR naming the field, and nothing is stored', async () => {
    const alice = await as();
    const good = browserSubscription();
    const cases: [unknown, RegExp][] = [
      [{ ...good, endpoint: undefined }, /endpoint/],
      [{ ...good, endpoint: 'not a url' }, /^endpoint must be an https URL/],
      [{ ...good, endpoint: 'http://93.184.215.14/push/x' }, /^endpoint must be an https URL/],
      [{ ...good, endpoint: 'https://user:pw@93.184.215.14/push/x' }, /^endpoint must not carry a user name or password/],
      [{ ...good, endpoint: 'https://127.0.0.1/push/x' }, /^endpoint must be on a public address/],
      [{ ...good, endpoint: 'https://localhost/push/x' }, /^endpoint must be on a public address/],
      [{ ...good, endpoint: 'https://[::1]/push/x' }, /^endpoint must be on a public address/],
      [{ ...good, endpoint: 'https://169.254.169.254/latest' }, /^endpoint must be on a public address/],
      [{ ...good, endpoint: 'https://10.1.2.3/push/x' }, /^endpoint must be on a public address/],
      [{ ...good, endpoint: 'https://[::ffff:192.168.1.1]/push/x' }, /^endpoint must be on a public address/],
      [{ ...good, endpoint: `https://93.184.215.14/${'x'.repeat(2100)}` }, /endpoint/],
      [{ ...good, keys: undefined }, /keys/],
      [{ ...good, keys: { p256dh: good.keys.p256dh } }, /auth/],
      [{ ...good, keys: { ...good.keys, p256dh: 'not-base64url!' } }, /^keys.p256dh must be a P-256 public key/],
      [{ ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } }, /^keys.p256dh must be a P-256 public key/],
      [{ ...good, keys: { ...good.keys, auth: randomBytes(20).toString('base64url') } }, /^keys.auth must be a 16-byte secret/],
      [{ ...good, expirationTime: 'tomorrow' }, /expirationTime must be a time in milliseconds since 1970, or null/],
      [{ ...good, expirationTime: -1 }, /expirationTime/],
    ];
    for (const [body, message] of cases) {
      const res = await alice.subscribePush(loose(body));
      expect(res.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expectError(res, 400, 'VALIDATION_ERROR', message);
    }
    const [row] = await t.database.rows<{ n: number }>('select count(*)::int as n from push_subscriptions where user_id = $1', [alice.user]);
    expect(row?.n).toBe(0);
  });

  it('a bad id in the path is a 400; no token is a 401; another user in the path is a 403', async () => {
    const alice = await as();
    expectError(await alice.unsubscribePush('042'), 400, 'VALIDATION_ERROR', /id/);
    const anonymous = await api(t.app, alice.user, { token: null });
    expectError(await anonymous.subscribePush(browserSubscription()), 401, 'UNAUTHORIZED');
    // The typed client always sends its own user's path: a raw request sends another's.
    const res = await t.app.inject({
      method: 'POST',
      url: routes.pushSubscriptions('someone-else'),
      headers: { authorization: `Bearer ${await signToken(alice.user)}` },
      payload: browserSubscription(),
    });
    expectError(res, 403, 'FORBIDDEN');
  });

  it('Idempotency-Key: a retried subscribe answers the same, replayed', async () => {
    const alice = await as();
    const sub = browserSubscription();
    const first = await alice.subscribePush(sub, { 'idempotency-key': 'sub-1' });
    const second = await alice.subscribePush(sub, { 'idempotency-key': 'sub-1' });
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    expect(second.headers['idempotent-replayed']).toBe('true');
  });

  it('no endpoint, key or auth secret reaches the log lines', () => {
    const text = JSON.stringify(log.lines());
    expect(log.lines().length).toBeGreaterThan(0);
    expect(text).not.toMatch(/93\.184\.215\.14\/push/);
    expect(text).not.toMatch(/p256dh|"auth"/);
  });
});

describe.each(drivers)('Web Push subscriptions, capped per user [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { jobsConcurrency: 0, pushMaxSubscriptionsPerUser: 3 });
  });
  afterAll(async () => t?.close());

  it('beyond PUSH_MAX_SUBSCRIPTIONS_PER_USER, a new subscription replaces the oldest', async () => {
    const alice = await api(t.app, uniqueUser());
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await alice.subscribePush(browserSubscription())).json().data.id);
    const rows = await t.database.rows<{ id: number }>('select id from push_subscriptions where user_id = $1 order by id', [alice.user]);
    expect(rows.map((r) => r.id)).toEqual(ids.slice(2));
    expectError(await alice.unsubscribePush(ids[0] as number), 404, 'NOT_FOUND');
  });
});

describe('Web Push off (production without VAPID keys)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp('embedded', { jobsConcurrency: 0, vapid: undefined, vapidSource: 'none' });
  });
  afterAll(async () => t?.close());

  it('GET /push/public-key and POST /push-subscriptions answer 503 SERVICE_UNAVAILABLE saying why', async () => {
    const why = 'Web Push is not configured on this server (no VAPID keys)';
    expectError(await publicApi(t.app).pushPublicKey(), 503, 'SERVICE_UNAVAILABLE', why);
    expectError(await (await api(t.app, uniqueUser())).subscribePush(browserSubscription()), 503, 'SERVICE_UNAVAILABLE', why);
  });
});
