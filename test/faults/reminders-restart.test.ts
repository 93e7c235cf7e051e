/**
 * A reminder due while every instance was down (the only server killed with SIGKILL before its time)
 * fires at the next start, once: a webhook receiver started here gets exactly one `task.reminder`,
 * after the reminder's time. On both databases, with the server as a process (`node dist/src/server.js`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { routes } from '../helpers/api.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { faultToken, jsonOf, send, serverEnv, sleep, startServer, waitFor, type Server } from './support.js';

describe.each(drivers)('a reminder due while the service was down (%s)', (driver) => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  /** The deliveries received, each with when it arrived. */
  const got = () => receiver.got.map((g) => ({ ...(JSON.parse(g.body) as { type: string; data: { task: { id: number }; fire_at: string } }), at: g.at }));
  const servers: Server[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase(driver);
    receiver = await startWebhookReceiver();
  }, 60_000);
  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await receiver?.close();
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const start = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'task-api-remind-'));
    dirs.push(dir);
    const env = serverEnv({ DATABASE_URL: db.url, DATA_DIR: dir, WEBHOOKS_ALLOW_PRIVATE: 'true', JOBS_POLL_INTERVAL_MS: '200' });
    const server = await startServer(dir, env);
    servers.push(server);
    return server;
  };

  it('fires at the next start, once, after its time', async () => {
    const user = `remind_${Date.now().toString(36)}`;
    const auth = { authorization: `Bearer ${await faultToken(user)}`, 'content-type': 'application/json' };
    const first = await start();
    const hook = await send(first.url, 'POST', `/api/${encodeURIComponent(user)}/webhooks`, { headers: auth, body: JSON.stringify({ url: receiver.url(), events: ['task.reminder'] }) });
    expect(hook.status, hook.body).toBe(201);
    const fireAt = new Date(Date.now() + 2500).toISOString();
    const made = await send(first.url, 'POST', routes.tasks(user), { headers: auth, body: JSON.stringify({ title: 'while down', reminders: [{ at: fireAt }] }) });
    expect(made.status, made.body).toBe(201);
    const id = (jsonOf(made) as { data: { id: number } }).data.id;
    await first.stop('SIGKILL');

    await sleep(Math.max(0, Date.parse(fireAt) - Date.now()) + 1500);
    expect(got()).toEqual([]);
    await start();
    await waitFor('the reminder at the next start', () => receiver.got.length > 0, 20_000);
    await sleep(2000);
    expect(got().map((g) => [g.type, g.data.task.id, g.data.fire_at])).toEqual([['task.reminder', id, fireAt]]);
    expect(got()[0]?.at).toBeGreaterThan(Date.parse(fireAt));
  }, 90_000);
});
