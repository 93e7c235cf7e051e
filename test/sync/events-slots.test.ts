/**
 * API.md, Version 2, "Live updates", the limits: a stream holds one of its user's
 * EVENTS_MAX_PER_USER slots (and one of the instance's EVENTS_MAX_STREAMS) only while its
 * connection is open. Clients that go away at any point of the set-up (before the request is
 * whole, during auth, a ticket's redemption, the cursor checks, the replay of `since` or
 * Last-Event-ID) leave nothing behind; opens over a limit are refused before any 200, also when
 * they all arrive at once. Real sockets to a listening server.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { api, routes } from '../helpers/api.js';
import { anotherInstance, buildTestApp, listen, signToken, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers, openTestDatabase } from '../helpers/databases.js';
import { openSocket } from '../helpers/raw-http.js';
import { seededRandom } from '../helpers/random.js';
import { openSse, type SseStream } from '../helpers/sse.js';


const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe.each(drivers)('event stream slots [%s]', (driver) => {
  let t: TestApp;
  let url: string;
  const open: SseStream[] = [];

  beforeAll(async () => {
    t = await buildTestApp(driver);
    url = await listen(t.app);
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await t?.close();
  });

  const path = routes.events;

  async function user() {
    const id = uniqueUser('slots');
    const token = await signToken(id);
    const auth = { authorization: `Bearer ${token}` };
    /** This user's client on the server at `base`. */
    const on = (base: string) => api(base, id, { token });
    const ticket = async (base: string) => ((await (await on(base)).ticket()).json() as { data: { ticket: string } }).data.ticket;
    return { id, auth, on, ticket };
  }
  type User = Awaited<ReturnType<typeof user>>;

  /** How long this server takes from a request to the first bytes of its stream (the median of 5). */
  async function setUpMs(base: string, u: User): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const socket = await openSocket(Number(new URL(base).port));
      const t0 = performance.now();
      socket.write(`GET ${path(u.id)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${u.auth.authorization}\r\n\r\n`);
      await new Promise((r) => socket.once('data', r));
      times.push(performance.now() - t0);
      socket.destroy();
    }
    await sleep(50);
    return times.sort((a, b) => a - b)[2] as number;
  }

  /**
   * One client that goes away during the set-up of its stream, at a point `rnd` picks: with part
   * of a request sent; or with the whole request (header, ticket, `since`, Last-Event-ID) sent,
   * within the time a set-up takes (`windowMs`); or once the first bytes of the answer arrived
   * (the replay follows `ready`).
   */
  async function abortOne(base: string, u: User, rnd: () => number, cursor: string, windowMs: number): Promise<string> {
    const port = Number(new URL(base).port);
    const kind = (['partial', 'header', 'ticket', 'since', 'last-event-id', 'answered'] as const)[Math.floor(rnd() * 6)] as string;
    const query = kind === 'ticket' ? `?ticket=${await u.ticket(base)}` : kind === 'since' ? `?since=${cursor}` : '';
    const headers = [
      `GET ${path(u.id)}${query} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Accept: text/event-stream',
      ...(kind === 'ticket' ? [] : [`Authorization: ${u.auth.authorization}`]),
      ...(kind === 'last-event-id' || kind === 'answered' ? [`Last-Event-ID: ${cursor}`] : []),
    ];
    const request = `${headers.join('\r\n')}\r\n\r\n`;
    const socket = await openSocket(port);
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    if (kind === 'partial') {
      socket.write(request.slice(0, Math.floor(request.length * (0.2 + rnd() * 0.6))));
      await sleep(rnd() * 3);
    } else if (kind === 'answered') {
      socket.write(request);
      await new Promise<void>((r) => {
        socket.once('data', () => r());
        setTimeout(r, 2000);
      });
    } else {
      socket.write(request);
      const ms = rnd() * windowMs * 1.5;
      if (ms >= 1) await sleep(ms);
      else await new Promise((r) => setImmediate(r));
    }
    socket.destroy();
    await closed;
    return kind;
  }

  /** Opens `n` streams of `u` at once; the statuses, in order; the 200s stay in `open`. */
  async function openMany(base: string, users: User[]): Promise<SseStream[]> {
    const streams = await Promise.all(users.map((u) => openSse(`${base}${path(u.id)}`, u.auth)));
    open.push(...streams);
    return streams;
  }

  /**
   * `users.length` streams open at once with 200 and `ready`; retried while the aborted clients'
   * last requests finish (their queries may still be running), within 5 s.
   */
  async function allOpen(base: string, users: User[]): Promise<SseStream[]> {
    const deadline = Date.now() + 5000;
    let statuses: number[] = [];
    while (Date.now() < deadline) {
      const streams = await openMany(base, users);
      statuses = streams.map((s) => s.status);
      if (statuses.every((s) => s === 200)) {
        await Promise.all(streams.map((s) => s.next((e) => e.event === 'ready')));
        return streams;
      }
      for (const s of streams) s.close();
      await sleep(100);
    }
    throw new Error(`streams still refused after 5 s: ${statuses.join(', ')}`);
  }

  async function refusal(s: SseStream) {
    await s.ended;
    return { status: s.status, retryAfter: s.headers['retry-after'], body: JSON.parse(s.body) as unknown };
  }

  const RATE_LIMITED = { error: 'Too many requests; retry in 5 s', code: 'RATE_LIMITED', detail: 'Too many requests; retry in 5 s' };
  const INSTANCE_FULL = {
    error: 'Too many event streams on this instance; try again shortly',
    code: 'SERVICE_UNAVAILABLE',
    detail: 'Too many event streams on this instance; try again shortly',
  };

  it('100 clients that go away at random points of the set-up free their slots: then 10 streams open, the 11th is 429', async () => {
    const seed = Number(process.env.EVENTS_ABORT_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rnd = seededRandom(seed); // EVENTS_ABORT_SEED replays a run
    const u = await user();
    // Something to replay for `since` and Last-Event-ID.
    const cursor = ((await (await u.on(url)).changes()).json() as { data: { cursor: string } }).data.cursor;
    for (let i = 0; i < 30; i++) await (await u.on(url)).create({ title: `replayed ${i}` });
    const windowMs = await setUpMs(url, u);
    const kinds: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const kind = await abortOne(url, u, rnd, cursor, windowMs);
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    const context = `seed ${seed}, set-up ${windowMs.toFixed(1)} ms, aborts ${JSON.stringify(kinds)}`;
    const streams = await allOpen(url, Array.from({ length: 10 }, () => u)).catch((err: Error) => {
      throw new Error(`${err.message} (${context})`);
    });
    expect(streams.map((s) => s.status), context).toEqual(Array(10).fill(200));
    expect(await refusal((await openMany(url, [u]))[0] as SseStream), context).toEqual({ status: 429, retryAfter: '5', body: RATE_LIMITED });
    // Closing one frees exactly one slot.
    streams[0]?.close();
    await sleep(100);
    const [again] = await openMany(url, [u]);
    expect(again?.status).toBe(200);
    expect(await refusal((await openMany(url, [u]))[0] as SseStream)).toEqual({ status: 429, retryAfter: '5', body: RATE_LIMITED });
    for (const s of [...streams, again]) s?.close();
  }, 60_000);

  it('40 opens of one user at once: exactly 10 streams (ready, and they stay open) and 30 429 RATE_LIMITED with Retry-After', async () => {
    const u = await user();
    const streams = await openMany(url, Array.from({ length: 40 }, () => u));
    const ok = streams.filter((s) => s.status === 200);
    expect(streams.map((s) => s.status).sort()).toEqual([...Array(10).fill(200), ...Array(30).fill(429)]);
    await Promise.all(ok.map((s) => s.next((e) => e.event === 'ready')));
    for (const s of streams.filter((x) => x.status === 429)) expect(await refusal(s)).toEqual({ status: 429, retryAfter: '5', body: RATE_LIMITED });
    // The 10 are live: a change reaches every one of them.
    await (await u.on(url)).create({ title: 'to all ten' });
    await Promise.all(ok.map((s) => s.next((e) => e.event === 'upsert', 2000)));
    for (const s of ok) s.close();
  });

  it('a set-up that fails (the database refuses its cursor query) gives its slot back: 15 failures, then 10 streams and a 429', async () => {
    // Another instance whose database fails the stream's cursor reads while `failing` is set:
    // the statement becomes one PostgreSQL refuses (division by zero).
    let failing = true;
    const database = await openTestDatabase(t.databaseUrl);
    const faulty = new Proxy(database, {
      get(target, prop, receiver) {
        if (prop === 'rows') {
          return (text: string, params: readonly unknown[], options?: object) =>
            failing && text.includes('from user_changes where user_id = $1') ? target.rows('select 1/0', [], options) : target.rows(text, params, options);
        }
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as Database;
    const app = await buildApp(testConfig({ rateLimitPerMinute: 0, databaseUrl: t.databaseUrl }), { database: faulty });
    try {
      const base = await listen(app);
      const u = await user();
      const failed: SseStream[] = [];
      for (let i = 0; i < 15; i++) {
        const [s] = await openMany(base, [u]);
        await s?.ended;
        failed.push(s as SseStream);
      }
      expect(failed.map((s) => [s.status, JSON.parse(s.body)])).toEqual(
        Array(15).fill([500, { error: 'Internal server error', code: 'INTERNAL_ERROR', detail: 'Internal server error' }]),
      );
      failing = false;
      const streams = await allOpen(base, Array.from({ length: 10 }, () => u));
      expect(await refusal((await openMany(base, [u]))[0] as SseStream)).toEqual({ status: 429, retryAfter: '5', body: RATE_LIMITED });
      for (const s of streams) s.close();
    } finally {
      await app.close();
      await database.close();
    }
  });

  it('the per-instance limit (EVENTS_MAX_STREAMS 10): aborted set-ups free it too; 40 opens at once give 10 streams and 30 503s', async () => {
    const small = await anotherInstance(t, { eventsMaxStreams: 10 });
    try {
      const base = await listen(small.app);
      const seed = Number(process.env.EVENTS_ABORT_SEED ?? Math.floor(Math.random() * 2 ** 31));
      const rnd = seededRandom(seed); // EVENTS_ABORT_SEED replays a run
      const users = await Promise.all(Array.from({ length: 10 }, () => user()));
      const cursors = await Promise.all(
        users.map(async (u) => ((await (await u.on(base)).changes()).json() as { data: { cursor: string } }).data.cursor),
      );
      for (const u of users) await (await u.on(base)).create({ title: 'replayed' });
      const windowMs = await setUpMs(base, users[0] as User);
      for (let i = 0; i < 100; i++) await abortOne(base, users[i % 10] as User, rnd, cursors[i % 10] as string, windowMs);
      const streams = await allOpen(base, users).catch((err: Error) => {
        throw new Error(`${err.message} (seed ${seed}, set-up ${windowMs.toFixed(1)} ms)`);
      });
      expect(await refusal((await openMany(base, [await user()]))[0] as SseStream)).toEqual({ status: 503, retryAfter: '5', body: INSTANCE_FULL });
      for (const s of streams) s.close();
      await sleep(100);

      const many = await openMany(base, await Promise.all(Array.from({ length: 40 }, () => user())));
      expect(many.map((s) => s.status).sort()).toEqual([...Array(10).fill(200), ...Array(30).fill(503)]);
      await Promise.all(many.filter((s) => s.status === 200).map((s) => s.next((e) => e.event === 'ready')));
      for (const s of many.filter((x) => x.status === 503)) expect(await refusal(s)).toEqual({ status: 503, retryAfter: '5', body: INSTANCE_FULL });
      for (const s of many) s.close();
    } finally {
      await small.close();
    }
  }, 60_000);
});
