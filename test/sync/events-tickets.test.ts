/**
 * API.md, Version 2, "Live updates", `?ticket=`: an anonymous caller guessing tickets. Its
 * address is counted against the rate limit before anything else, a ticket that is not of the
 * shape POST .../events/ticket mints costs no database query, and guesses beyond the limit are
 * 429 without one. The app runs on a Database that counts every query it is asked for; the
 * guesses come from real sockets (each phase from its own 127.x address).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { api, routes } from '../helpers/api.js';
import { listen, signToken, uniqueUser } from '../helpers/app.js';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openSse } from '../helpers/sse.js';

/** `database`, with every query it runs (SQL text, a transaction, the driver called directly) recorded in `seen`. */
function counting(database: Database, seen: string[]): Database {
  const sql = new Proxy(database.sql, {
    apply(target, self, args: unknown[]) {
      seen.push(String((args[0] as { raw?: string[] }).raw?.join('$') ?? args[0]));
      return Reflect.apply(target, self, args) as unknown;
    },
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === 'unsafe' || prop === 'begin') && typeof value === 'function') {
        return (...args: unknown[]) => {
          seen.push(`${prop}: ${String(args[0])}`);
          return Reflect.apply(value, target, args) as unknown;
        };
      }
      return value;
    },
  });
  return new Proxy(database, {
    get(target, prop, receiver) {
      if (prop === 'sql') return sql;
      if (prop === 'rows') {
        return (text: string, params: readonly unknown[], options?: object) => {
          seen.push(text);
          return target.rows(text, params, options);
        };
      }
      if (prop === 'transaction') {
        return (fn: Parameters<Database['transaction']>[0]) => {
          seen.push('transaction');
          return target.transaction(fn);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

const LIMIT = 20;
const INVALID = 'The ticket is invalid, expired or already used: get a new one (POST .../tasks/events/ticket)';

describe.each(drivers)('event-stream ticket guesses [%s]', (driver) => {
  let fresh: TestDatabase;
  let database: Database;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let url: string;
  let port: number;
  const seen: string[] = [];

  beforeAll(async () => {
    fresh = await freshDatabase(driver);
    database = await fresh.open();
    app = await buildApp(testConfig({ rateLimitPerMinute: LIMIT, databaseUrl: fresh.url }), { database: counting(database, seen) });
    url = await listen(app);
    port = Number(new URL(url).port);
  });
  afterAll(async () => {
    await app?.close();
    await database?.close();
    await fresh?.drop();
  });

  /** GET .../events?ticket=`ticket` from `address`, without Authorization: the answer. */
  const guess = (user: string, ticket: string, address: string) =>
    rawRequest(
      port,
      `GET ${routes.events(user)}?ticket=${encodeURIComponent(ticket)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n`,
      { localAddress: address },
    );

  async function mint(user: string): Promise<string> {
    const res = await (await api(url, user)).ticket();
    expect(res.statusCode).toBe(201);
    return (res.json() as { data: { ticket: string } }).data.ticket;
  }

  const unknownTicket = () => randomBytes(24).toString('base64url');

  it('a ticket of the wrong shape is 401 INVALID_TOKEN without a database query', async () => {
    const user = uniqueUser('guess');
    const minted = await mint(user);
    expect(minted).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const wrong = [
      'x',
      minted.slice(0, 31),
      `${minted}A`,
      `${minted.slice(0, 31)}=`,
      `${minted.slice(0, 31)}+`,
      `${minted.slice(0, 31)}/`,
      `${minted.slice(0, 31)}.`,
      `${minted.slice(0, 30)}é`,
      ' '.repeat(32),
      'a'.repeat(100),
      await signToken(user),
    ];
    seen.length = 0;
    for (const ticket of wrong) {
      const answer = await guess(user, ticket, '127.0.0.2');
      expect({ ticket, status: answer.status, body: answer.body }).toEqual({ ticket, status: 401, body: { error: INVALID, code: 'INVALID_TOKEN', detail: INVALID } });
      expect(answer.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
    expect(seen).toEqual([]);
  });

  it(`guesses beyond the per-IP limit (${LIMIT} a minute) are 429 with Retry-After, without a query; the user's ticket is not spent by them`, async () => {
    const user = uniqueUser('guess');
    const minted = await mint(user);
    seen.length = 0;
    for (let i = 0; i < LIMIT; i++) expect((await guess(user, unknownTicket(), '127.0.0.3')).status).toBe(401);
    // Only what a guess must cost: one look-up of the ticket each.
    expect(seen.length).toBe(LIMIT);
    expect(seen.every((q) => q.includes('event_tickets'))).toBe(true);
    seen.length = 0;
    const refused = async (ticket: string) => {
      const answer = await guess(user, ticket, '127.0.0.3');
      const retryAfter = answer.headers['retry-after'] ?? '';
      expect(retryAfter).toMatch(/^[1-9]\d*$/);
      const message = `Too many requests; retry in ${retryAfter} s`;
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 429, body: { error: message, code: 'RATE_LIMITED', detail: message } });
    };
    for (const ticket of [...Array.from({ length: 30 }, unknownTicket), 'x']) await refused(ticket);
    expect(seen).toEqual([]);
    await refused(minted);
    expect(seen).toEqual([]);
    // The real ticket, refused above before it was looked at, still opens the stream elsewhere.
    const stream = await openSse(`${url}${routes.events(user)}?ticket=${minted}`);
    expect(stream.status).toBe(200);
    await stream.next((e) => e.event === 'ready');
    stream.close();
  });
});
