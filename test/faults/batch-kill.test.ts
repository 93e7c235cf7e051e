/**
 * The server killed (SIGKILL) in the middle of an offline client's flush, then started again: once
 * the client flushes again (the typed client's Outbox, its pending batch kept in storage with its
 * Idempotency-Key), every queued operation is applied exactly once. Killed at several moments (before
 * the batch arrives, while it runs, after it committed), on both databases, the server as a process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskClient, memoryStorage, Outbox } from '../../packages/client/src/index.js';
import { driverArgs } from '../../src/db/embedded.js';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { faultToken, serverEnv, sleep, startServer, type Server } from './support.js';

const OPS = 60;

describe.each(drivers)('SIGKILL during an offline flush (%s)', (driver) => {
  let db: TestDatabase;
  const servers: Server[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    db = await freshDatabase(driver);
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const start = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'task-api-flush-'));
    dirs.push(dir);
    const server = await startServer(dir, serverEnv({ DATABASE_URL: db.url, DATA_DIR: dir }));
    servers.push(server);
    return server;
  };
  const stored = async (user: string) => {
    const sql = postgres(...driverArgs(db.url, { max: 1, onnotice: () => {} }));
    try {
      return await sql<{ uid: string; title: string; priority: string; completed: boolean }[]>`select uid, title, priority::text, completed from tasks where user_id = ${user} order by uid`;
    } finally {
      await sql.end({ timeout: 5 });
    }
  };

  /**
   * A proxy to `server` that passes the request on and, at the first byte of the answer (the server
   * answers only once the batch committed), kills the server and cuts the client off: the answer is lost.
   */
  const killOnAnswer = async (server: Server): Promise<{ url: string; close(): void }> => {
    const port = Number(new URL(server.url).port);
    const proxy: NetServer = createServer((client) => {
      const upstream = connect(port, '127.0.0.1');
      client.pipe(upstream);
      upstream.once('data', () => {
        void server.stop('SIGKILL');
        client.destroy();
        upstream.destroy();
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`, close: () => proxy.close() };
  };

  it('killed after the batch committed, before its answer left: the retry gets the stored answer, nothing runs twice', async () => {
    const user = `flush_lost_${Date.now().toString(36)}`;
    const token = await faultToken(user);
    const storage = memoryStorage();
    const first = await start();
    const proxy = await killOnAnswer(first);
    const outbox = new Outbox(createTaskClient({ baseUrl: proxy.url, userId: user, token: () => token, retry: { retries: 0 } }), { storage });
    const uids: string[] = [];
    for (let i = 0; i < OPS / 2; i++) {
      const { uid } = await outbox.create({ title: `offline ${i}` });
      uids.push(uid);
      await outbox.update(uid, { priority: 'high' });
    }
    const report = await outbox.flush();
    proxy.close();
    expect([report.batches, (await outbox.pending()).length]).toEqual([0, OPS]);
    // It had committed: every task is there once already.
    expect((await stored(user)).map((r) => r.uid)).toEqual([...uids].sort());

    const second = await start();
    const again = new Outbox(createTaskClient({ baseUrl: second.url, userId: user, token: () => token }), { storage });
    const replayed = await again.flush();
    expect([replayed.batches, replayed.applied, replayed.rejected, replayed.conflicts]).toEqual([1, OPS, [], []]);
    expect(await again.pending()).toEqual([]);
    const rows = await stored(user);
    expect(rows.map((r) => r.uid)).toEqual([...uids].sort());
    expect(rows.every((r) => r.priority === 'high' && !r.completed)).toBe(true);
    await second.stop('SIGTERM');
  }, 90_000);

  it.each([0, 25, 120])('killed %i ms into the flush: after a restart and a retry, each operation applied once', async (delay) => {
    const user = `flush_${delay}_${Date.now().toString(36)}`;
    const token = await faultToken(user);
    const storage = memoryStorage();
    const first = await start();
    const outbox = new Outbox(createTaskClient({ baseUrl: first.url, userId: user, token: () => token, retry: { retries: 0 } }), { storage });
    const uids: string[] = [];
    for (let i = 0; i < OPS / 2; i++) {
      const { uid } = await outbox.create({ title: `offline ${i}` });
      uids.push(uid);
      await outbox.update(uid, { priority: 'high' });
    }
    const flushing = outbox.flush();
    await sleep(delay);
    await first.stop('SIGKILL');
    const report = await flushing;
    // Answered or not, nothing is lost: what got no answer is still pending, with its key.
    const left = (await outbox.pending()).length;
    expect(left, JSON.stringify(report)).toBe(report.batches === 0 ? OPS : 0);

    const second = await start();
    const again = new Outbox(createTaskClient({ baseUrl: second.url, userId: user, token: () => token }), { storage });
    await again.flush();
    expect(await again.pending()).toEqual([]);
    expect(await again.conflicts()).toEqual([]);
    const rows = await stored(user);
    expect(rows.map((r) => r.uid)).toEqual([...uids].sort());
    expect(rows.every((r) => r.priority === 'high' && !r.completed)).toBe(true);
    await second.stop('SIGTERM');
  }, 90_000);
});
