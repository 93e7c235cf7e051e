/**
 * Reminders (API.md, version 3, "Reminders"), through HTTP on both databases: the field and its
 * rules; a reminder fires at its time, exactly once across two instances, to the open streams on both
 * (`event: reminder`, no id, not in /changes), to the Web Push subscriptions (a push service started
 * here) and to the webhooks subscribed to task.reminder (a receiver started here); completing,
 * deleting or moving the due date re-plans; a recurring task's reminder is planned again for the next
 * occurrence; after downtime a late one fires at the next start and one more than 24 h late is dropped.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverArgs } from '../../src/db/embedded.js';
import { api, loose, routes } from '../helpers/api.js';
import { anotherInstance, authHeader, buildTestApp, expectError, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { drivers } from '../helpers/databases.js';
import { sleep, waitFor } from '../helpers/process.js';
import { startPushService, type PushService } from '../helpers/push-service.js';
import { openSse, type SseStream } from '../helpers/sse.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const FAST = { pushAllowPrivate: true, webhooksAllowPrivate: true, jobsPollIntervalMs: 200, jobsConcurrency: 2 } as const;

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
/** Waits (bounded) until `done` holds, then a little longer: what would come twice has had the time to. */
async function settle(done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done() && Date.now() < end) await sleep(100);
  await sleep(1500);
}
const reminderEvents = (s: SseStream) => s.events.filter((e) => e.event === 'reminder');

describe.each(drivers)('reminders [%s]', (driver) => {
  let t: TestApp;
  let t2: TestApp;
  let url1: string;
  let url2: string;
  let push: PushService;
  let hooks: WebhookReceiver;
  beforeAll(async () => {
    push = await startPushService();
    hooks = await startWebhookReceiver();
    t = await buildTestApp(driver, FAST);
    t2 = await anotherInstance(t, FAST);
    url1 = await listen(t.app);
    url2 = await listen(t2.app);
  }, 60_000);
  afterAll(async () => {
    await t2?.close();
    await t?.close();
    await push?.close();
    await hooks?.close();
  });

  it('the field: default [], up to 5, each {minutes_before: 0-40320} (needs a due_at) or {at} (answered in UTC); a refused write changes nothing', async () => {
    const me = await api(t.app, uniqueUser());
    const plain = await me.create({ title: 'no reminders' });
    expect(plain.statusCode).toBe(201);
    expect(plain.json().data.reminders).toEqual([]);

    const made = await me.create({ title: 'two', due_at: '2030-01-02T10:00:00+01:00', reminders: [{ minutes_before: 30 }, { at: '2030-01-02T08:00:00+01:00' }] });
    expect(made.statusCode).toBe(201);
    expect(made.json().data.reminders).toEqual([{ minutes_before: 30 }, { at: '2030-01-02T07:00:00.000Z' }]);
    const id = made.json().data.id as number;
    expect((await me.get(id)).json().data.reminders).toEqual([{ minutes_before: 30 }, { at: '2030-01-02T07:00:00.000Z' }]);

    const six = Array.from({ length: 6 }, (_, i) => ({ minutes_before: i }));
    expectError(await me.create({ title: 'x', due_at: '2030-01-01T00:00:00Z', reminders: six }), 400, 'VALIDATION_ERROR', 'reminders must have at most 5 items');
    expectError(await me.create(loose({ title: 'x', reminders: [{}] })), 400, 'VALIDATION_ERROR', 'reminders[0] must be {"minutes_before": 0-40320} or {"at": "<RFC 3339>"}');
    expectError(
      await me.create(loose({ title: 'x', due_at: '2030-01-01T00:00:00Z', reminders: [{ minutes_before: 5, at: '2030-01-01T00:00:00Z' }] })),
      400,
      'VALIDATION_ERROR',
      'reminders[0] must be {"minutes_before": 0-40320} or {"at": "<RFC 3339>"}',
    );
    expectError(await me.create({ title: 'x', due_at: '2030-01-01T00:00:00Z', reminders: [{ minutes_before: 40_321 }] }), 400, 'VALIDATION_ERROR', 'reminders[0].minutes_before must be <= 40320');
    expectError(await me.create({ title: 'x', reminders: [{ at: '2030-02-30T00:00:00Z' }] }), 400, 'VALIDATION_ERROR', /^reminders\[0\]\.at /);
    expectError(await me.create({ title: 'x', reminders: [{ minutes_before: 10 }] }), 400, 'VALIDATION_ERROR', 'reminders[0] minutes_before needs a due_at (set due_at too, or use {"at": ...})');
    // A relative reminder on a task without due_at, and due_at cleared under one: 400, the task unchanged.
    expectError(await me.put(plain.json().data.id as number, { reminders: [{ minutes_before: 10 }] }), 400, 'VALIDATION_ERROR', /^reminders\[0\] minutes_before needs a due_at/);
    expectError(await me.put(id, { due_at: null }), 400, 'VALIDATION_ERROR', /^reminders\[0\] minutes_before needs a due_at/);
    const after = (await me.get(id)).json().data;
    expect([after.version, after.due_at]).toEqual([1, '2030-01-02T09:00:00.000Z']);
    expect((await me.list()).json().data.length).toBe(2);
  });

  it('fires at its time, exactly once across two instances: to the streams on both, to Web Push, to webhooks of task.reminder; not a feed entry', async () => {
    const alice = uniqueUser();
    const me = await api(t.app, alice);
    expect((await me.lists()).statusCode).toBe(200);
    const browser = push.subscribe();
    expect((await me.subscribePush(browser.json)).statusCode).toBe(201);
    const hook = await me.webhooks.create({ url: hooks.url(), events: ['task.reminder'] });
    expect(hook.statusCode).toBe(201);
    const s1 = await openSse(`${url1}${routes.events(alice)}`, await authHeader(alice));
    const s2 = await openSse(`${url2}${routes.events(alice)}`, await authHeader(alice));
    try {
      const fireAt = inMs(2500);
      const made = await me.create({ title: 'Call the bakery', reminders: [{ at: fireAt }] });
      expect(made.statusCode).toBe(201);
      const task = made.json().data as { id: number };
      const [e1, e2] = await Promise.all([s1.next((e) => e.event === 'reminder', 20_000), s2.next((e) => e.event === 'reminder', 20_000)]);
      const arrived = Date.now();
      expect(arrived).toBeGreaterThanOrEqual(Date.parse(fireAt));
      expect(arrived - Date.parse(fireAt)).toBeLessThan(60_000);
      const current = (await me.get(task.id)).json().data;
      const expected = { type: 'reminder', task: current, fire_at: fireAt };
      // No id of its own: the last event id stays the create's.
      const createId = (s: SseStream) => s.events.find((e) => e.event === 'upsert')?.id;
      for (const [e, s] of [[e1, s1], [e2, s2]] as const) {
        expect(e.id).toBe(createId(s));
        expect(JSON.parse(e.data)).toEqual(expected);
      }
      const [pushed] = await push.waitFor(1);
      expect(JSON.parse(pushed?.text ?? 'null')).toEqual(expected);
      expect(pushed?.headers).toMatchObject({ urgency: 'high' });
      await waitFor('the webhook delivery', () => hooks.got.length > 0, 10_000);
      expect(hooks.got.map((g) => JSON.parse(g.body) as { type: string; data: unknown })).toEqual([{ type: 'task.reminder', timestamp: expect.any(String), data: { task: current, fire_at: fireAt } }]);
      // Once: nothing more on either instance, nor pushed again.
      await sleep(2500);
      expect([reminderEvents(s1).length, reminderEvents(s2).length, push.received.length, hooks.got.length]).toEqual([1, 1, 1, 1]);
      // Not a feed entry: /changes has the create only.
      const changes = (await me.changes()).json().data as { changes: { type: string }[] };
      expect(changes.changes.map((c) => c.type)).toEqual(['upsert']);
    } finally {
      s1.close();
      s2.close();
    }
  }, 60_000);

  it('a push message above 3,000 bytes carries the small task (id, uid, list_id, title, due_at); the stream gets it whole', async () => {
    const alice = uniqueUser();
    const me = await api(t.app, alice);
    expect((await me.lists()).statusCode).toBe(200);
    const browser = push.subscribe();
    expect((await me.subscribePush(browser.json)).statusCode).toBe(201);
    const s = await openSse(`${url2}${routes.events(alice)}`, await authHeader(alice));
    try {
      push.received.length = 0;
      const fireAt = inMs(1500);
      const task = (await me.create({ title: 'Big', description: '\u{1F600}'.repeat(1000), reminders: [{ at: fireAt }] })).json().data;
      const e = await s.next((x) => x.event === 'reminder', 20_000);
      expect(JSON.parse(e.data)).toEqual({ type: 'reminder', task, fire_at: fireAt });
      const [pushed] = await push.waitFor(1);
      expect(JSON.parse(pushed?.text ?? 'null')).toEqual({
        type: 'reminder',
        task: { id: task.id, uid: task.uid, list_id: task.list_id, title: 'Big', due_at: null },
        fire_at: fireAt,
      });
    } finally {
      s.close();
    }
  }, 30_000);

  it('to the assignee, or to every member of the list when it has none', async () => {
    const owner = uniqueUser();
    const member = uniqueUser();
    const o = await api(t.app, owner);
    const m = await api(t.app, member);
    expect((await m.lists()).statusCode).toBe(200);
    const list = (await o.createList({ name: 'Shared' })).json().data as { id: number };
    const invite = (await o.sharing.invite(list.id, { role: 'editor' })).json().data as { token: string };
    expect((await m.sharing.accept(invite.token)).statusCode).toBe(200);
    const so = await openSse(`${url1}${routes.events(owner)}`, await authHeader(owner));
    const sm = await openSse(`${url2}${routes.events(member)}`, await authHeader(member));
    try {
      await o.create({ title: 'everyone', list_id: list.id, reminders: [{ at: inMs(1500) }] });
      await o.create({ title: 'only the member', list_id: list.id, assignee_id: member, reminders: [{ at: inMs(1500) }] });
      await settle(() => reminderEvents(so).length >= 1 && reminderEvents(sm).length >= 2);
      const titles = (s: SseStream) => reminderEvents(s).map((e) => (JSON.parse(e.data) as { task: { title: string } }).task.title).sort();
      expect(titles(so)).toEqual(['everyone']);
      expect(titles(sm)).toEqual(['everyone', 'only the member']);
    } finally {
      so.close();
      sm.close();
    }
  }, 30_000);

  it('a restore from the trash plans it again; a member who left, or whose list the task left, gets nothing', async () => {
    const owner = uniqueUser();
    const member = uniqueUser();
    const o = await api(t.app, owner);
    const m = await api(t.app, member);
    expect((await m.lists()).statusCode).toBe(200);
    const shared = (await o.createList({ name: 'Shared' })).json().data as { id: number };
    const mine = (await o.createList({ name: 'Mine' })).json().data as { id: number };
    const invite = (await o.sharing.invite(shared.id, { role: 'editor' })).json().data as { token: string };
    expect((await m.sharing.accept(invite.token)).statusCode).toBe(200);
    const so = await openSse(`${url1}${routes.events(owner)}`, await authHeader(owner));
    const sm = await openSse(`${url2}${routes.events(member)}`, await authHeader(member));
    try {
      const restored = (await o.create({ title: 'restored', list_id: shared.id, reminders: [{ at: inMs(2500) }] })).json().data as { id: number };
      const moved = (await o.create({ title: 'moved away', list_id: shared.id, reminders: [{ at: inMs(2500) }] })).json().data as { id: number };
      expect((await o.del(restored.id)).statusCode).toBe(200);
      expect((await o.trash.restore(restored.id)).statusCode).toBe(200);
      expect((await o.move(moved.id, { list_id: mine.id })).statusCode).toBe(200);
      await settle(() => reminderEvents(so).length >= 2 && reminderEvents(sm).length >= 1);
      const titles = (s: SseStream) => reminderEvents(s).map((e) => (JSON.parse(e.data) as { task: { title: string } }).task.title).sort();
      expect(titles(so)).toEqual(['moved away', 'restored']);
      expect(titles(sm)).toEqual(['restored']);

      // The member leaves before the next one: only the owner is reminded.
      await o.create({ title: 'after leaving', list_id: shared.id, reminders: [{ at: inMs(2000) }] });
      expect((await m.sharing.remove(shared.id, member)).statusCode).toBe(200);
      await settle(() => reminderEvents(so).length >= 3);
      expect(titles(so)).toEqual(['after leaving', 'moved away', 'restored']);
      expect(titles(sm)).toEqual(['restored']);
    } finally {
      so.close();
      sm.close();
    }
  }, 40_000);

  it('completing, deleting and moving the due date re-plan it; a recurring task plans the next occurrence', async () => {
    const alice = uniqueUser();
    const me = await api(t.app, alice);
    expect((await me.lists()).statusCode).toBe(200);
    const s = await openSse(`${url1}${routes.events(alice)}`, await authHeader(alice));
    try {
      const done = (await me.create({ title: 'completed first', reminders: [{ at: inMs(1500) }] })).json().data as { id: number };
      const gone = (await me.create({ title: 'deleted first', reminders: [{ at: inMs(1500) }] })).json().data as { id: number };
      const due = inMs(1500);
      const later = inMs(4000);
      const moved = (await me.create({ title: 'moved', due_at: due, reminders: [{ minutes_before: 0 }] })).json().data as { id: number };
      expect((await me.complete(done.id, { completed: true })).statusCode).toBe(200);
      expect((await me.del(gone.id)).statusCode).toBe(200);
      expect((await me.put(moved.id, { due_at: later })).statusCode).toBe(200);
      const e = await s.next((x) => x.event === 'reminder', 20_000);
      expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(later));
      expect(JSON.parse(e.data)).toMatchObject({ task: { id: moved.id }, fire_at: later });
      await sleep(1000);
      expect(reminderEvents(s).map((x) => (JSON.parse(x.data) as { task: { title: string } }).task.title)).toEqual(['moved']);

      // Recurring: each occurrence's relative reminder fires; completing moves on to the next one.
      const first = inMs(1500);
      const daily = (await me.create({ title: 'daily', due_at: first, recurrence: 'FREQ=DAILY', reminders: [{ minutes_before: 0 }] })).json().data as { id: number };
      const fired = await s.next((x) => x.event === 'reminder' && (JSON.parse(x.data) as { task: { id: number } }).task.id === daily.id, 20_000);
      expect(JSON.parse(fired.data)).toMatchObject({ fire_at: first });
      const advanced = (await me.complete(daily.id, { completed: true, occurrence: first })).json().data as { due_at: string; completed: boolean };
      expect(advanced.completed).toBe(false);
      expect(Date.parse(advanced.due_at) - Date.parse(first)).toBe(86_400_000);
      // The next occurrence's reminder waits in the queue for its time (a day).
      const jobs = await t.database.rows<{ run_at: string }>("select run_at from graphile_worker.jobs where key = $1", [`reminder:${daily.id}`]);
      expect(jobs.map((j) => new Date(j.run_at).toISOString())).toEqual([advanced.due_at]);
    } finally {
      s.close();
    }
  }, 60_000);

  it('after downtime: a reminder at most 24 h late fires at the next start; one more than 24 h late is dropped', async () => {
    const alice = uniqueUser();
    const me = await api(t.app, alice);
    expect((await me.lists()).statusCode).toBe(200);
    const late = (await me.create({ title: 'late', reminders: [{ at: inMs(3_600_000) }] })).json().data as { id: number };
    const stale = (await me.create({ title: 'stale', reminders: [{ at: inMs(3_600_000) }] })).json().data as { id: number };
    // As if the service had been down: each planned (and due) hours ago, 2 h and 25 h; the triggers
    // off, so that nothing re-plans them.
    const admin = postgres(...driverArgs(t.databaseUrl, { max: 1, onnotice: () => {} }));
    const s = await openSse(`${url1}${routes.events(alice)}`, await authHeader(alice));
    try {
      await admin.begin(async (tx) => {
        await tx`set local session_replication_role = replica`;
        for (const [id, hours] of [[late.id, 2], [stale.id, 25]] as const) {
          const ago = (h: number) => tx`to_char((now() - make_interval(hours => ${h})) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
          await tx`update tasks set reminders = jsonb_build_array(jsonb_build_object('at', ${ago(hours)})) where id = ${id}`;
          await tx`update graphile_worker._private_jobs set run_at = now() - make_interval(hours => ${hours}),
                     payload = json_build_object('task_id', ${id}::int, 'after', ${ago(hours + 1)}) where key = ${`reminder:${id}`}`;
        }
      });
      const e = await s.next((x) => x.event === 'reminder', 20_000);
      expect((JSON.parse(e.data) as { task: { id: number } }).task.id).toBe(late.id);
      await sleep(2000);
      expect(reminderEvents(s).length).toBe(1);
      // Both jobs are done: nothing waits for the stale one.
      expect(await t.database.rows('select key from graphile_worker.jobs where key = any($1::text[])', [[`reminder:${late.id}`, `reminder:${stale.id}`]])).toEqual([]);
    } finally {
      s.close();
      await admin.end({ timeout: 5 });
    }
  }, 60_000);
});
