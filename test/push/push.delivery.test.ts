/**
 * Web Push delivery for real: the app's job runner sends to a push service started here (an HTTP
 * server on 127.0.0.1 that checks VAPID and decrypts the aes128gcm body with the browser's private
 * key: test/helpers/push-service.ts). PUSH_ALLOW_PRIVATE=true lets the endpoints be on loopback.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { notifyUsers, PushPayloadTooLarge } from '../../src/push/push.jobs.js';
import { api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, expectError, logCapture, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';
import { sleep } from '../helpers/process.js';
import { startPushService, type PushService } from '../helpers/push-service.js';

const FAST = { pushAllowPrivate: true, jobsPollIntervalMs: 200, jobsConcurrency: 2 } as const;

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > end) return v;
    await sleep(100);
  }
}

describe.each(drivers)('Web Push delivery [%s]', (driver) => {
  let t: TestApp;
  let push: PushService;
  const log = logCapture();
  beforeAll(async () => {
    t = await buildTestApp(driver, { ...FAST, logLevel: 'debug' }, { logStream: log.stream });
  });
  afterAll(async () => t?.close());
  beforeAll(async () => {
    push = await startPushService();
  });
  afterAll(async () => push?.close());
  afterEach(() => {
    push.received.length = 0;
  });

  const subscribe = async (user: string) => {
    const browser = push.subscribe();
    const res = await (await api(t.app, user)).subscribePush(browser.json);
    expect(res.statusCode).toBe(201);
    return { browser, id: (res.json().data as { id: number }).id, path: new URL(browser.json.endpoint).pathname };
  };
  const publicKey = async () => (await t.app.inject('/push/public-key')).json().data.public_key as string;

  it('delivers the payload to the subscription: VAPID for this push service, aes128gcm that the browser decrypts, TTL and Urgency as asked', async () => {
    const alice = uniqueUser();
    const { path } = await subscribe(alice);
    const payload = { type: 'reminder', task: { id: 42, title: 'Buy milk — «now»' }, fire_at: '2026-12-24T17:00:00.000Z' };
    await notifyUsers(t.database, [alice], payload, { urgency: 'high', ttlSeconds: 600, topic: 'task-42' });
    const [got] = await push.waitFor(1);
    expect(got).toBeDefined();
    expect(got?.path).toBe(path);
    expect(got?.status).toBe(201);
    expect(JSON.parse(got?.text ?? 'null')).toEqual(payload);
    expect(got?.vapidKey).toBe(await publicKey());
    expect(got?.claims).toMatchObject({ aud: push.url, sub: 'mailto:task-api@localhost' });
    const exp = Number(got?.claims?.exp);
    expect(exp * 1000).toBeGreaterThan(Date.now());
    expect(exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600_000);
    expect(got?.headers).toMatchObject({ 'content-encoding': 'aes128gcm', ttl: '600', urgency: 'high', topic: 'task-42' });
  });

  it("each of a user's subscriptions gets it, and nobody else's", async () => {
    const alice = uniqueUser();
    const bob = uniqueUser();
    const a1 = await subscribe(alice);
    const a2 = await subscribe(alice);
    await subscribe(bob);
    await notifyUsers(t.database, [alice], { hello: 'alice' });
    await push.waitFor(2);
    await sleep(800);
    expect(push.received.map((r) => r.path).sort()).toEqual([a1.path, a2.path].sort());
    expect(push.received.every((r) => r.text === '{"hello":"alice"}')).toBe(true);
  });

  it('a subscription the push service answers 410 (or 404) is removed', async () => {
    const alice = uniqueUser();
    const gone = await subscribe(alice);
    const missing = await subscribe(alice);
    push.answer(gone.path, 410);
    push.answer(missing.path, 404);
    await notifyUsers(t.database, [alice], { n: 1 });
    await push.waitFor(2);
    const left = await until(
      () => t.database.rows<{ id: number }>('select id from push_subscriptions where user_id = $1', [alice]),
      (rows) => rows.length === 0,
    );
    expect(left).toEqual([]);
    expectError(await (await api(t.app, alice)).unsubscribePush(gone.id), 404, 'NOT_FOUND');
  });

  it('another failure (500) is retried with backoff, and then delivered once', async () => {
    const alice = uniqueUser();
    const { path } = await subscribe(alice);
    push.answer(path, 500);
    await notifyUsers(t.database, [alice], { n: 'retried' });
    const got = await push.waitFor(2, 20_000);
    expect(got.map((r) => r.status)).toEqual([500, 201]);
    expect(got.map((r) => r.text)).toEqual(['{"n":"retried"}', '{"n":"retried"}']);
    await sleep(500);
    expect(push.received).toHaveLength(2);
    expect((await t.database.rows('select id from push_subscriptions where user_id = $1', [alice])).length).toBe(1);
  });

  it('enqueued in a transaction that rolls back: nothing is sent; a payload above 3,000 bytes is refused', async () => {
    const alice = uniqueUser();
    await subscribe(alice);
    await t.database
      .transaction(async (tx) => {
        await notifyUsers(tx, [alice], { n: 'never' });
        throw new Error('roll back');
      })
      .catch(() => {});
    await sleep(1000);
    expect(push.received).toEqual([]);
    await expect(notifyUsers(t.database, [alice], { big: 'x'.repeat(3000) })).rejects.toBeInstanceOf(PushPayloadTooLarge);
  });

  it('no endpoint token, key or payload reaches the log lines', async () => {
    const alice = uniqueUser();
    const { path } = await subscribe(alice);
    push.answer(path, 500, 410);
    await notifyUsers(t.database, [alice], { secret: 'payload-words' });
    await push.waitFor(2, 20_000);
    await sleep(300);
    const text = JSON.stringify(log.lines());
    expect(text).toContain('push');
    expect(text).not.toContain(path);
    expect(text).not.toContain('payload-words');
  });
});

describe.each(drivers)('Web Push: the address is checked again at delivery [%s]', (driver) => {
  it('an endpoint that is (now) on a private address is not connected to without PUSH_ALLOW_PRIVATE', async () => {
    const push = await startPushService();
    // Subscribed through an instance that allows private endpoints; delivered by one that does not.
    const t = await buildTestApp(driver, { ...FAST, jobsConcurrency: 0 });
    const strict = await anotherInstance(t, { pushAllowPrivate: false, jobsPollIntervalMs: 200 });
    try {
      const alice = uniqueUser();
      const literal = push.subscribe();
      // A name, checked in the connection's own resolution (so a name that changes its answer cannot slip through).
      const named = push.subscribe();
      const alice$ = await api(t.app, alice);
      expect((await alice$.subscribePush(literal.json)).statusCode).toBe(201);
      expect((await alice$.subscribePush({ ...named.json, endpoint: named.json.endpoint.replace('127.0.0.1', 'localhost') })).statusCode).toBe(201);
      await notifyUsers(t.database, [alice], { n: 1 });
      await until(() => t.database.rows('select id from graphile_worker.jobs', []), (rows) => rows.length === 0, 10_000);
      expect(push.received).toEqual([]);
      // Refused, not retried; the subscriptions stay (their owner may be on a network that changes).
      expect((await t.database.rows('select id from push_subscriptions where user_id = $1', [alice])).length).toBe(2);
    } finally {
      await strict.close();
      await t.close();
      await push.close();
    }
  });
});

describe.each(drivers)('Web Push: exactly once across two instances [%s]', (driver) => {
  it('40 messages to one subscription, two instances running jobs: each arrives once', async () => {
    const push = await startPushService();
    const t = await buildTestApp(driver, FAST);
    const other = await anotherInstance(t, FAST);
    try {
      const alice = uniqueUser();
      const browser = push.subscribe();
      expect((await (await api(t.app, alice)).subscribePush(browser.json)).statusCode).toBe(201);
      for (let i = 0; i < 40; i++) await notifyUsers(i % 2 === 0 ? t.database : other.database, [alice], { i });
      await push.waitFor(40);
      await sleep(1000);
      const seen = push.received.map((r) => JSON.parse(r.text ?? 'null').i as number).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    } finally {
      await other.close();
      await t.close();
      await push.close();
    }
  });
});
