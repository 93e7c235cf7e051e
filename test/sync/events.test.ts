/**
 * API.md, Version 2, "Live updates": GET /tasks/events (Server-Sent Events), read by a real SSE
 * client over HTTP: the start (retry, ready), events within 1 s on one instance and across two,
 * resume with Last-Event-ID and ?since= with nothing missed or reordered, tickets, the query-string
 * token refused, the per-user limit, a stalled reader that slows nobody.
 *
 * Calls go through the test client over each instance's URL; the streams are read by the SSE
 * client (test/helpers/sse.ts) at the client's routes, and a token in the query string (which no
 * client should send) and the stalled reader stay raw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { scratchDir } from '../helpers/process.js';
import { drivers } from '../helpers/databases.js';
import { anotherInstance, authHeader, buildTestApp, expectError, listen, signToken, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse.js';
import { api, routes } from '../helpers/api.js';

describe.each(drivers)('the event stream [%s]', (driver) => {
  let one: TestApp;
  let two: TestApp;
  let url1: string;
  let url2: string;
  const streams: SseStream[] = [];

  beforeAll(async () => {
    one = await buildTestApp(driver);
    two = await anotherInstance(one, { eventsMaxPerUser: 3 });
    url1 = await listen(one.app);
    url2 = await listen(two.app);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await two?.close();
    await one?.close();
  });

  async function as(user = uniqueUser()) {
    const auth = await authHeader(user);
    const [on1, on2] = [await api(url1, user), await api(url2, user)];
    /** The client of this user on the instance at `base`. */
    const on = (base: string) => (base === url1 ? on1 : on2);
    const stream = async (base: string, query = '', headers: Record<string, string> = {}) => {
      const s = await openSse(`${base}${routes.events(user)}${query}`, { ...auth, ...headers });
      streams.push(s);
      return s;
    };
    const create = async (base: string, title: string) => ((await on(base).create({ title })).json() as { data: { id: number } }).data;
    return { user, auth, on, stream, create };
  }

  const isChange = (e: SseEvent) => e.event === 'upsert' || e.event === 'delete';

  it('starts with retry: 3000 and a ready event whose id is the current cursor (with a data line)', async () => {
    const api = await as();
    await api.create(url1, 'before');
    const s = await api.stream(url1);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-cache');
    const ready = await s.next((e) => e.event === 'ready');
    expect(s.retry).toBe(3000);
    const current = ((await api.on(url1).changes()).json() as { data: { cursor: string } }).data.cursor;
    expect(ready.id).toBe(current);
    expect(JSON.parse(ready.data)).toEqual({ cursor: current });
    expect(s.events.filter(isChange)).toEqual([]);
  });

  it('each change is one event within 1 s, data exactly the change entry of /changes, on the same instance and across instances', async () => {
    const api = await as();
    const here = await api.stream(url1);
    const there = await api.stream(url2);
    await here.next((e) => e.event === 'ready');
    await there.next((e) => e.event === 'ready');
    const started = performance.now();
    const res = await api.on(url1).create({ title: 'Live one', priority: 'high' });
    const task = (res.json() as { data: Record<string, unknown> }).data;
    for (const s of [here, there]) {
      const e = await s.next((x) => x.event === 'upsert', 1000);
      expect(e.at - started).toBeLessThan(1000);
      expect(JSON.parse(e.data)).toEqual({ type: 'upsert', task });
    }
    // A write through the other instance reaches both as well.
    const t0 = performance.now();
    await api.on(url2).del(task.id as number);
    for (const s of [here, there]) {
      const e = await s.next((x) => x.event === 'delete', 1000);
      expect(e.at - t0).toBeLessThan(1000);
      expect(JSON.parse(e.data)).toEqual({ type: 'delete', id: task.id });
    }
    // The event ids are the cursors /changes gives.
    const after = ((await api.on(url1).changes(`?since=${here.events.find((e) => e.event === 'ready')?.id}`)).json() as { data: { cursor: string } }).data;
    expect(here.lastEventId).toBe(after.cursor);
  });

  it('a burst of writes of several users on one instance: every change reaches the streams on the other within 1 s', async () => {
    // A third instance whose catch-up poll never fires during the test: only notifications reach it.
    const three = await anotherInstance(one, { eventsPollMs: 600_000 });
    const url3 = await listen(three.app);
    const users = await Promise.all(Array.from({ length: 6 }, () => as()));
    const there = await Promise.all(users.map((u) => u.stream(url3)));
    await Promise.all(there.map((s) => s.next((e) => e.event === 'ready')));
    // 60 creates at once, 10 per user, on instance one: notified in batches after they commit.
    const created = await Promise.all(users.flatMap((u) => Array.from({ length: 10 }, (_, i) => u.create(url1, `burst ${i}`))));
    const last = performance.now();
    for (const [k, s] of there.entries()) {
      const mine = created.slice(k * 10, k * 10 + 10).map((t) => t.id);
      const deadline = last + 1000;
      while (s.events.filter((e) => e.event === 'upsert').length < 10) {
        await s.next((e) => e.event === 'upsert', Math.max(1, deadline - performance.now()), s.events.length);
      }
      const ids = s.events.filter((e) => e.event === 'upsert').map((e) => (JSON.parse(e.data) as { task: { id: number } }).task.id);
      expect(ids.sort((a, b) => a - b)).toEqual([...mine].sort((a, b) => a - b));
    }
    for (const s of there) s.close();
    await three.close();
  });

  it('resumes with Last-Event-ID and with ?since=: every change missed while away, in order, then live', async () => {
    const api = await as();
    for (const resume of ['last-event-id', 'since'] as const) {
      const first = await api.stream(url1);
      const ready = await first.next((e) => e.event === 'ready');
      const a = await api.create(url1, `${resume} a`);
      await first.next((e) => e.event === 'upsert');
      const lastSeen = first.lastEventId as string;
      first.close();
      // Away: three changes, one through the other instance.
      await api.on(url1).put(a.id, { title: `${resume} a2` });
      const b = await api.create(url2, `${resume} b`);
      await api.on(url1).del(a.id);
      const again =
        resume === 'last-event-id' ? await api.stream(url2, '', { 'last-event-id': lastSeen }) : await api.stream(url2, `?since=${lastSeen}`);
      const replayed: SseEvent[] = [];
      for (let i = 0; i < 2; i++) replayed.push(await again.next(isChange, 2000, replayed.length ? again.events.indexOf(replayed.at(-1) as SseEvent) + 1 : 0));
      expect(replayed.map((e) => [e.event, JSON.parse(e.data).task?.title ?? JSON.parse(e.data).id])).toEqual([
        ['upsert', `${resume} b`],
        ['delete', a.id],
      ]);
      const ids = again.events.filter((e) => e.id !== undefined).map((e) => e.id as string);
      expect(ids[0]).toBe(lastSeen); // ready: the cursor the stream starts from
      const seqs = ids.map((id) => Number(Buffer.from(id, 'base64url').toString().slice(2)));
      expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
      // Then live.
      await api.on(url1).put(b.id, { title: `${resume} b2` });
      const live = await again.next((e) => isChange(e) && JSON.parse(e.data).task?.title === `${resume} b2`, 1000);
      expect(live.event).toBe('upsert');
      expect(ready.id).toBeDefined();
      again.close();
    }
  });

  it('tickets: 201 from POST .../events/ticket; valid once, for one user, on any instance; expired ones refused', async () => {
    const api = await as();
    const other = await as();
    const ticket = async () => {
      const res = await api.on(url1).ticket();
      expect(res.statusCode).toBe(201);
      const body = res.json() as { data: { ticket: string; expires_at: string }; message: string };
      expect(body.message).toBe('Ticket created successfully');
      expect(Date.parse(body.data.expires_at) - Date.now()).toBeGreaterThan(50_000);
      expect(Date.parse(body.data.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
      return body.data.ticket;
    };
    const path = routes.events;
    const t1 = await ticket();
    const s = await openSse(`${url2}${path(api.user)}?ticket=${t1}`); // issued by one instance, used on the other
    streams.push(s);
    expect(s.status).toBe(200);
    await s.next((e) => e.event === 'ready');
    const reused = await openSse(`${url1}${path(api.user)}?ticket=${t1}`);
    expect({ status: reused.status, body: JSON.parse(reused.body || (await reused.ended, reused.body)) }).toEqual({
      status: 401,
      body: {
        error: 'The ticket is invalid, expired or already used: get a new one (POST .../tasks/events/ticket)',
        code: 'INVALID_TOKEN',
        detail: 'The ticket is invalid, expired or already used: get a new one (POST .../tasks/events/ticket)',
      },
    });
    const t2 = await ticket();
    const foreign = await openSse(`${url1}${path(other.user)}?ticket=${t2}`);
    await foreign.ended;
    expect(foreign.status).toBe(403);
    const t3 = await ticket();
    await one.database.sql`update event_tickets set expires_at = now() - interval '1 second' where user_id = ${api.user}`;
    const expired = await openSse(`${url1}${path(api.user)}?ticket=${t3}`);
    await expired.ended;
    expect(expired.status).toBe(401);
  });

  it('a token in the query string is still refused', async () => {
    const api = await as();
    const token = await signToken(api.user);
    for (const q of [`?access_token=${token}`, `?token=${token}`, `?ticket=${token}&access_token=${token}`]) {
      const res = await one.app.inject({ method: 'GET', url: `${routes.events(api.user)}${q}` });
      expect(res.statusCode, q).toBe(401);
    }
    expectError(await one.app.inject({ method: 'GET', url: `${routes.events(api.user)}?access_token=${token}` }), 401, 'UNAUTHORIZED');
  });

  it('at most EVENTS_MAX_PER_USER streams per user: 429 RATE_LIMITED with Retry-After beyond', async () => {
    const api = await as();
    for (let i = 0; i < 3; i++) await (await api.stream(url2)).next((e) => e.event === 'ready');
    const refused = await openSse(`${url2}${routes.events(api.user)}`, api.auth);
    await refused.ended;
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(refused.body).code).toBe('RATE_LIMITED');
    // Another user is not affected.
    expect((await (await as()).stream(url2)).status).toBe(200);
  });

  it('a reader that stops reading is disconnected once its buffer is full, and slows nobody', async () => {
    // The stalled reader: a raw socket that sends its request and never reads a byte. Over a
    // Unix socket the kernel buffers little (loopback TCP buffers megabytes), so the server's
    // own buffer fills after a few hundred events.
    const api = await as();
    const viaSocket = await anotherInstance(one);
    const socketPath = join(scratchDir('task-api-sse-'), 'api.sock');
    await viaSocket.app.listen({ path: socketPath });
    const stalled = createConnection(socketPath);
    stalled.pause();
    stalled.write(`GET ${routes.events(api.user)} HTTP/1.1\r\nHost: localhost\r\nAuthorization: ${api.auth.authorization}\r\nAccept: text/event-stream\r\n\r\n`);
    let received = 0;
    stalled.on('data', (d: Buffer) => (received += d.length));
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    const healthy = await api.stream(url1);
    await healthy.next((e) => e.event === 'ready');
    const description = 'x'.repeat(1000);
    const tags = Array.from({ length: 20 }, (_, i) => `${'t'.repeat(45)}${i}`);
    let slowest = 0;
    let writes = 0;
    let lastId = 0;
    const ids: number[] = [];
    for (let i = 0; i < 400; i++) {
      const t0 = performance.now();
      const created = await api.create(url1, `big ${i} ${'y'.repeat(150)}`);
      lastId = created.id;
      ids.push(created.id);
      await api.on(url1).put(created.id, { description, tags });
      writes += 2;
      if (i % 25 === 0) {
        const e = await healthy.next((x) => x.event === 'upsert' && JSON.parse(x.data).task.id === created.id && JSON.parse(x.data).task.version === 2, 1000);
        slowest = Math.max(slowest, e.at - t0);
      }
    }
    // Reading again drains what the kernel held, then the end: the server gave up on it.
    stalled.resume();
    const ended = await Promise.race([closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
    expect(ended, `the stalled reader was disconnected (${writes} changes, ${received} bytes received)`).toBe(true);
    // The healthy stream got every task in its final state (changes of one task that come faster
    // than a stream is woken arrive as one event, as /changes gives them).
    await healthy.next((x) => x.event === 'upsert' && JSON.parse(x.data).task.id === lastId && JSON.parse(x.data).task.version === 2, 2000);
    const finals = new Set(healthy.events.filter((x) => x.event === 'upsert' && JSON.parse(x.data).task.version === 2).map((x) => JSON.parse(x.data).task.id));
    expect(ids.filter((id) => !finals.has(id))).toEqual([]);
    expect(received).toBeLessThan(writes * 2000);
    expect(slowest).toBeLessThan(1000);
    stalled.destroy();
    await viaSocket.close();
  }, 120_000);
});
