/**
 * A job is added only when there is one to add (migration 0020, issue 29 "background work does not
 * hurt the foreground"). Adding jobs notifies `jobs:insert`, which wakes the job runner of every
 * instance into a fetch; an empty add used to do it too. So: a write of a user without webhooks,
 * while another user has one, and a reminder of a user with neither a webhook nor a Web Push
 * subscription, wake no runner and add no job; a write that does deliver (the webhook's owner's)
 * still does, which shows the listener hears what it should.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverArgs } from '../../src/db/embedded.js';
import { api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';
import { sleep, waitFor } from '../helpers/process.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const FAST = { webhooksAllowPrivate: true, pushAllowPrivate: true, jobsPollIntervalMs: 200, jobsConcurrency: 2 } as const;

describe.each(drivers)('jobs are added only when there is one [%s]', (driver) => {
  let t: TestApp;
  let admin: postgres.Sql;
  let receiver: WebhookReceiver;
  const wakeups: string[] = [];
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    t = await buildTestApp(driver, FAST);
    admin = postgres(...driverArgs(t.databaseUrl, { max: 1, onnotice: () => {} }));
    await admin.listen('jobs:insert', (payload) => wakeups.push(payload));
  }, 60_000);
  afterAll(async () => {
    await admin?.end({ timeout: 5 });
    await t?.close();
    await receiver?.close();
  });

  /** The wake-ups that `act` caused, once the notifications it sent have had the time to arrive. */
  async function wakeupsOf(act: () => Promise<void>): Promise<number> {
    await sleep(300);
    const before = wakeups.length;
    await act();
    await sleep(500);
    return wakeups.length - before;
  }

  it("a write while another user has a webhook wakes no runner; the webhook owner's write does, and is delivered", async () => {
    const owner = await api(t.app, uniqueUser('hook'));
    const other = await api(t.app, uniqueUser('plain'));
    expect((await owner.webhooks.create({ url: receiver.url(), events: ['task.created'] })).statusCode).toBe(201);

    expect(
      await wakeupsOf(async () => {
        const made = await other.create({ title: 'nobody listens' });
        expect(made.statusCode).toBe(201);
        expect((await other.complete(made.json().data.id as number)).statusCode).toBe(200);
      }),
    ).toBe(0);
    const [{ n: queued } = { n: -1 }] = await admin<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
    expect(queued).toBe(0);

    expect(await wakeupsOf(async () => void expect((await owner.create({ title: 'delivered' })).statusCode).toBe(201))).toBe(1);
    await waitFor('the delivery', () => receiver.bodies().some((b) => b.includes('"delivered"')), 15_000);
    expect(receiver.bodies().filter((b) => b.includes('"delivered"')).length).toBe(1);
    expect(receiver.bodies().some((b) => b.includes('nobody listens'))).toBe(false);
  });

  it("the webhook events' function keeps jit = off (migration 0016) through its replacement (0020)", async () => {
    // Planned for rows it never has, it passes jit_above_cost: with LLVM, every write of every user
    // compiled it (about 35 ms) once anyone had a webhook, on a connection with JIT on (behind a pooler).
    const [fn] = await admin<{ config: string[] | null }[]>`select proconfig as config from pg_proc where proname = 'webhook_record'`;
    expect(fn?.config).toEqual(['jit=off']);
  });

  it('a reminder of a user with no webhook and no push subscription fires without waking any runner', async () => {
    const me = await api(t.app, uniqueUser('remind'));
    let id = 0;
    // The create plans the reminder's job: that one wake-up is the create's.
    expect(
      await wakeupsOf(async () => {
        const made = await me.create({ title: 'soon', reminders: [{ at: new Date(Date.now() + 1500).toISOString() }] });
        expect(made.statusCode).toBe(201);
        id = made.json().data.id as number;
      }),
    ).toBe(1);
    expect(
      await wakeupsOf(async () => {
        await waitFor('the reminder to fire', async () => (await admin<{ n: number }[]>`select count(*)::int as n from reminder_firings where task_id = ${id}`)[0]?.n === 1, 15_000);
      }),
    ).toBe(0);
    const fired = await admin<{ n: number }[]>`select count(*)::int as n from reminder_firings where task_id = ${id}`;
    expect(fired[0]?.n).toBe(1);
    const [{ n: queued } = { n: -1 }] = await admin<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs`;
    expect(queued).toBe(0);
  });
});
