/**
 * Webhook deliveries (API.md, Version 3, "Webhooks"), to a receiver started here: every change is an
 * event recorded in its own transaction (none for a write that rolled back), signed as Standard
 * Webhooks says, retried on failure with the same webhook-id, a 410 turns the endpoint off, and a
 * redelivery is one more counted attempt.
 */
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, type Api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import { sleep, waitFor } from '../helpers/process.js';
import { signToken } from '../helpers/tokens.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

describe.each(drivers)('webhook deliveries [%s]', (driver) => {
  let t: TestApp;
  let r: WebhookReceiver;
  beforeAll(async () => {
    r = await startWebhookReceiver();
    t = await buildTestApp(driver, { webhooksAllowPrivate: true, jobsPollIntervalMs: 200 });
  });
  afterAll(async () => {
    await t?.close();
    await r?.close();
  });

  const user = async (): Promise<Api> => {
    const me = await api(t.app, uniqueUser());
    expect((await me.lists()).statusCode).toBe(200);
    return me;
  };
  const at = (path: string) => () => r.got.filter((g) => g.path === path);
  /** The events received at `path`, verified with the webhook's secret. */
  const events = (path: string, secret: string) =>
    at(path)().map((g) => ({ id: g.headers['webhook-id'], event: new Verifier(secret).verify(g.body, g.headers) as { type: string; timestamp: string; data: { task?: unknown } } }));

  it('each change of a task is a signed event with the task as the API shows it; nothing for a write that failed', async () => {
    const me = await user();
    const hook = (await me.webhooks.create({ url: r.url('/a'), events: ['*'] })).json().data;
    const created = (await me.create({ title: 'Pay rent', tags: ['home'], due_at: '2027-01-01T09:00:00.000Z', uid: 'rent-1' })).json().data;
    expect((await me.create({ title: 'again', uid: 'rent-1' })).statusCode).toBe(409);
    const completed = (await me.complete(created.id)).json().data;
    const renamed = (await me.put(created.id, { title: 'Pay the rent' })).json().data;
    const deleted = (await me.del(created.id)).json().data;
    await waitFor('4 at /a', () => at('/a')().length >= 4, 15_000);
    await sleep(300); // nothing more comes
    const got = events('/a', hook.secret);
    expect(got.map((g) => g.event.type)).toEqual(['task.created', 'task.completed', 'task.updated', 'task.deleted']);
    expect(got.map((g) => g.event.data.task)).toEqual([created, completed, renamed, deleted]);
    for (const g of got) {
      expect(g.id).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(Date.parse(g.event.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    }
    const list = (await me.webhooks.deliveries(hook.id)).json().data;
    expect(list).toHaveLength(4);
    for (const d of list) expect(d).toEqual({ id: expect.stringMatching(/^msg_/), type: expect.any(String), attempts: 1, last_status: 200, next_attempt_at: null });
  });

  it('completing a recurring task (it advances, stays pending) is task.completed, with the task as it now is', async () => {
    const me = await user();
    const hook = (await me.webhooks.create({ url: r.url('/rec'), events: ['task.completed', 'task.updated'] })).json().data;
    const task = (await me.create({ title: 'Water plants', due_at: '2027-01-04T09:00:00.000Z', recurrence: 'FREQ=WEEKLY', time_zone: 'Europe/Berlin' })).json().data;
    const advanced = (await me.complete(task.id, { completed: true })).json().data;
    expect({ completed: advanced.completed, later: Date.parse(advanced.due_at) > Date.parse(task.due_at) }).toEqual({ completed: false, later: true });
    const renamed = (await me.put(task.id, { title: 'Water the plants' })).json().data;
    await waitFor('2 at /rec', () => at('/rec')().length >= 2, 15_000);
    await sleep(300);
    expect(events('/rec', hook.secret).map((g) => [g.event.type, g.event.data.task])).toEqual([
      ['task.completed', advanced],
      ['task.updated', renamed],
    ]);
  });

  it('only the events subscribed to; a member of a shared list gets the events of that list', async () => {
    const [owner, sam] = [await user(), await user()];
    const hook = (await sam.webhooks.create({ url: r.url('/b'), events: ['task.completed', 'member.added'] })).json().data;
    const list = (await owner.createList({ name: 'Shared' })).json().data;
    const token = (await owner.sharing.invite(list.id, { role: 'editor' })).json().data.token;
    expect((await sam.sharing.accept(token)).statusCode).toBe(200);
    const task = (await owner.create({ title: 'Shared task', list_id: list.id })).json().data;
    const done = (await owner.complete(task.id)).json().data;
    await waitFor('2 at /b', () => at('/b')().length >= 2, 15_000);
    await sleep(300);
    const got = events('/b', hook.secret).map((g) => g.event);
    expect(got.map((e) => e.type)).toEqual(['member.added', 'task.completed']);
    expect(got[0]?.data).toEqual({ list_id: list.id, user_id: sam.user, role: 'editor' });
    expect(got[1]?.data).toEqual({ task: done });
  });

  it('a failed delivery is retried with the same webhook-id (the first retry within 30 s); the deliveries say how it went', async () => {
    const me = await user();
    const hook = (await me.webhooks.create({ url: r.url('/flaky/c'), events: ['task.created'] })).json().data;
    await me.create({ title: 'Retry me' });
    await waitFor('2 at /flaky/c', () => at('/flaky/c')().length >= 2, 30_000);
    const [first, second] = at('/flaky/c')();
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    const deliveries = async () => (await me.webhooks.deliveries(hook.id)).json().data;
    let d = (await deliveries())[0];
    for (let i = 0; i < 40 && d.attempts < 2; i++) {
      await sleep(100);
      d = (await deliveries())[0];
    }
    expect(d).toEqual({ id: first?.headers['webhook-id'], type: 'task.created', attempts: 2, last_status: 200, next_attempt_at: null });
  }, 40_000);

  it('410 turns the endpoint off; a redelivery is one more counted attempt of the same event', async () => {
    const me = await user();
    const gone = (await me.webhooks.create({ url: r.url('/s/410'), events: ['task.created'] })).json().data;
    await me.create({ title: 'Nobody home' });
    await waitFor('1 at /s/410', () => at('/s/410')().length >= 1, 15_000);
    await sleep(300);
    expect((await me.webhooks.get(gone.id)).json().data.enabled).toBe(false);
    await me.create({ title: 'Not sent' });
    await sleep(800);
    expect(at('/s/410')()).toHaveLength(1);
    // A redelivery asked while the webhook is off: accepted, not sent, and no attempt left due.
    const [goneDelivery] = (await me.webhooks.deliveries(gone.id)).json().data;
    expect(goneDelivery).toEqual({ id: at('/s/410')()[0]?.headers['webhook-id'], type: 'task.created', attempts: 1, last_status: 410, next_attempt_at: null });
    const again = await t.app.inject({ method: 'POST', url: `/api/${me.user}/webhooks/${gone.id}/deliveries/${goneDelivery.id}/redeliver`, headers: { authorization: `Bearer ${await signToken(me.user)}` } });
    expect(again.statusCode).toBe(202);
    let settled = (await me.webhooks.deliveries(gone.id)).json().data[0];
    for (let i = 0; i < 50 && settled.next_attempt_at !== null; i++) {
      await sleep(100);
      settled = (await me.webhooks.deliveries(gone.id)).json().data[0];
    }
    expect(settled).toEqual(goneDelivery);
    expect(at('/s/410')()).toHaveLength(1);

    const ok = (await me.webhooks.create({ url: r.url('/d'), events: ['task.created'] })).json().data;
    await me.create({ title: 'Send twice' });
    await waitFor('1 at /d', () => at('/d')().length >= 1, 15_000);
    const [delivery] = (await me.webhooks.deliveries(ok.id)).json().data;
    const res = await t.app.inject({ method: 'POST', url: `/api/${me.user}/webhooks/${ok.id}/deliveries/${delivery.id}/redeliver`, headers: { authorization: `Bearer ${await signToken(me.user)}` } });
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 202, body: { data: null, message: 'Redelivery scheduled successfully' } });
    await waitFor('2 at /d', () => at('/d')().length >= 2, 15_000);
    expect(at('/d')().map((g) => g.headers['webhook-id'])).toEqual([delivery.id, delivery.id]);
    const other = await user();
    const refused = await t.app.inject({ method: 'POST', url: `/api/${other.user}/webhooks/${ok.id}/deliveries/${delivery.id}/redeliver`, headers: { authorization: `Bearer ${await signToken(other.user)}` } });
    expect(refused.statusCode).toBe(404);
  });
});
