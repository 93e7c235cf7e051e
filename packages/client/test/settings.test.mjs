// webhooks.* and calendarFeeds.* of the built client (dist/) against the real API (dist/src/server.js
// of the repository, embedded PostgreSQL) with WEBHOOKS_ALLOW_PRIVATE=true, so that a receiver on
// loopback, started here on a free port, can be a webhook's target. Deliveries are verified with the
// `standardwebhooks` package (the API's own dependency, at the repository's root) and the secret.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { Webhook as Verifier } from 'standardwebhooks';

import { ApiError, WEBHOOK_EVENTS, createTaskClient, webcalUrl } from '../dist/index.js';
import { sleep, startApi } from './support.mjs';

let api;
let receiver;

/** Records every POST; answers 200. */
async function startReceiver() {
  const got = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, got, url: (path) => `http://127.0.0.1:${server.address().port}${path}` };
}

before(async () => {
  receiver = await startReceiver();
  api = await startApi({ WEBHOOKS_ALLOW_PRIVATE: 'true', JOBS_POLL_INTERVAL_MS: '200' });
});
after(async () => {
  await api?.stop();
  await new Promise((r) => (receiver ? receiver.server.close(r) : r()));
});

let userSeq = 0;
function client() {
  const user = `settings-test-${process.pid}-${++userSeq}`;
  return { user, c: createTaskClient({ baseUrl: api.url, userId: user, token: () => api.token(user) }) };
}

/** Polls `read` (every 50 ms) until it returns something other than undefined; fails after `ms`. */
async function until(read, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The call fails with an ApiError of this status, code and (when given) detail. */
async function rejects(promise, status, code, detail) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ApiError, `an ApiError, got ${err}`);
    assert.deepEqual([err.status, err.code], [status, code]);
    if (detail !== undefined) assert.equal(err.detail, detail);
    return true;
  });
}

describe('@task-api/client: webhooks and calendar feeds against the real API', () => {
  it('WEBHOOK_EVENTS lists every event the document has, and webcalUrl swaps only the scheme', () => {
    assert.deepEqual([...WEBHOOK_EVENTS], [
      'task.created', 'task.updated', 'task.completed', 'task.deleted', 'task.restored', 'task.reminder',
      'list.created', 'list.updated', 'list.deleted', 'member.added', 'member.updated', 'member.removed',
    ]);
    assert.equal(webcalUrl('https://api.example.com/ical/abc.ics'), 'webcal://api.example.com/ical/abc.ics');
    assert.equal(webcalUrl('http://127.0.0.1:8000/ical/abc.ics'), 'webcal://127.0.0.1:8000/ical/abc.ics');
    assert.equal(webcalUrl('HTTPS://x.test/a.ics'), 'webcal://x.test/a.ics');
    assert.equal(webcalUrl('/ical/abc.ics'), '/ical/abc.ics');
  });

  it('webhooks: create (the secret once), list, get, update, deliveries signed, redeliver with the same webhook-id, delete stops them', async () => {
    const { c } = client();
    const path = `/hooks/${process.pid}-a`;
    const made = await c.webhooks.create({ url: receiver.url(path), events: ['task.created', 'task.completed'] });
    assert.deepEqual(Object.keys(made).sort(), ['events', 'id', 'secret', 'url']);
    assert.equal(made.url, receiver.url(path));
    assert.deepEqual(made.events, ['task.created', 'task.completed']);
    assert.match(made.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);

    const listed = await c.webhooks.list();
    assert.equal(listed.length, 1);
    assert.deepEqual(Object.keys(listed[0]).sort(), ['created_at', 'enabled', 'events', 'id', 'url']); // never the secret
    assert.deepEqual({ ...listed[0], created_at: undefined }, { id: made.id, url: made.url, events: made.events, enabled: true, created_at: undefined });
    assert.deepEqual(await c.webhooks.get(made.id), listed[0]);
    assert.deepEqual(await c.webhooks.deliveries(made.id), []);

    // A task created: one delivery of task.created, signed with the secret.
    const task = await c.tasks.create({ title: 'Water the plants' });
    const first = await until(() => receiver.got.find((g) => g.path === path), 'the task.created delivery');
    const verified = new Verifier(made.secret).verify(first.body, first.headers);
    assert.equal(verified.type, 'task.created');
    assert.equal(verified.data.task.id, task.id);
    assert.equal(verified.data.task.title, 'Water the plants');
    const webhookId = first.headers['webhook-id'];
    assert.match(webhookId, /^msg_[0-9a-f]{32}$/);
    // A wrong secret does not verify it.
    assert.throws(() => new Verifier(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(first.body, first.headers));

    const delivered = await until(async () => {
      const d = await c.webhooks.deliveries(made.id);
      return d.length === 1 && d[0].last_status === 200 ? d : undefined;
    }, 'the delivery recorded');
    assert.deepEqual(delivered, [{ id: webhookId, type: 'task.created', attempts: 1, last_status: 200, next_attempt_at: null }]);

    // task.updated is not subscribed: nothing; completing it is task.completed.
    await c.tasks.update(task.id, { title: 'Water the plants twice' });
    await c.tasks.setCompleted(task.id, true);
    const completed = await until(() => receiver.got.find((g) => g.path === path && g.headers['webhook-id'] !== webhookId), 'the task.completed delivery');
    assert.equal(new Verifier(made.secret).verify(completed.body, completed.headers).type, 'task.completed');
    assert.deepEqual((await until(async () => {
      const d = await c.webhooks.deliveries(made.id);
      return d.length === 2 && d.every((x) => x.last_status === 200) ? d : undefined;
    }, 'both deliveries')).map((d) => d.type), ['task.completed', 'task.created']);

    // Redeliver the first: the same webhook-id (and body) once more, counted.
    const before = receiver.got.filter((g) => g.path === path).length;
    assert.equal(await c.webhooks.redeliver(made.id, webhookId), undefined);
    const again = await until(() => receiver.got.filter((g) => g.path === path)[before], 'the redelivery');
    assert.equal(again.headers['webhook-id'], webhookId);
    assert.equal(new Verifier(made.secret).verify(again.body, again.headers).data.task.id, task.id);
    await until(async () => ((await c.webhooks.deliveries(made.id)).find((d) => d.id === webhookId)?.attempts === 2 ? true : undefined), 'attempts 2');

    // Update: the events, then off and on again.
    const changed = await c.webhooks.update(made.id, { events: ['*'] });
    assert.deepEqual(changed.events, ['*']);
    assert.equal((await c.webhooks.update(made.id, { enabled: false })).enabled, false);
    assert.equal((await c.webhooks.update(made.id, { enabled: true })).enabled, true);

    // Delete: answered as it was; then nothing more arrives.
    const gone = await c.webhooks.delete(made.id);
    assert.equal(gone.id, made.id);
    assert.deepEqual(await c.webhooks.list(), []);
    const count = receiver.got.filter((g) => g.path === path).length;
    await c.tasks.create({ title: 'After the delete' });
    await sleep(1500);
    assert.equal(receiver.got.filter((g) => g.path === path).length, count);
    await rejects(c.webhooks.get(made.id), 404, 'NOT_FOUND', 'Webhook not found');
    await rejects(c.webhooks.deliveries(made.id), 404, 'NOT_FOUND', 'Webhook not found');
  });

  it('webhooks: errors are ApiErrors (a bad event, a bad url, another user\'s webhook, an unknown delivery)', async () => {
    const { c } = client();
    const { c: other } = client();
    await rejects(c.webhooks.create({ url: receiver.url('/x'), events: ['task.exploded'] }), 400, 'VALIDATION_ERROR');
    await assert.rejects(c.webhooks.create({ url: receiver.url('/x'), events: [] }), (e) => e instanceof ApiError && e.status === 400 && /events/.test(e.detail));
    await assert.rejects(c.webhooks.create({ url: 'not a url', events: ['*'] }), (e) => e instanceof ApiError && e.status === 400 && /^url /.test(e.detail));
    const mine = await c.webhooks.create({ url: receiver.url('/x'), events: ['*'] });
    await rejects(other.webhooks.get(mine.id), 404, 'NOT_FOUND', 'Webhook not found');
    await rejects(other.webhooks.update(mine.id, { enabled: false }), 404, 'NOT_FOUND', 'Webhook not found');
    await rejects(other.webhooks.delete(mine.id), 404, 'NOT_FOUND', 'Webhook not found');
    await rejects(c.webhooks.redeliver(mine.id, 'msg_00000000000000000000000000000000'), 404, 'NOT_FOUND', 'Delivery not found');
    assert.equal((await c.webhooks.get(mine.id)).enabled, true);
  });

  it('calendar feeds: create, list, the absolute URL serves text/calendar with the task, its webcal:// form, revoke makes it 404', async () => {
    const { c } = client();
    const due = '2027-03-04T09:30:00.000Z';
    await c.tasks.create({ title: 'Dentist', due_at: due });
    await c.tasks.create({ title: 'No date' });

    const feed = await c.calendarFeeds.create();
    assert.deepEqual(Object.keys(feed).sort(), ['format', 'id', 'list_id', 'url']);
    assert.equal(feed.format, 'events');
    assert.equal(feed.list_id, null);
    assert.match(feed.url, /^\/ical\/[A-Za-z0-9_-]+\.ics$/);
    const url = c.calendarFeeds.url(feed);
    assert.equal(url, `${api.url}${feed.url}`);
    assert.equal(c.calendarFeeds.webcalUrl(feed), url.replace(/^http:/, 'webcal:'));
    assert.equal(c.calendarFeeds.url({ url: 'https://cal.example.com/ical/x.ics' }), 'https://cal.example.com/ical/x.ics');

    const todos = await c.calendarFeeds.create({ format: 'todos' });
    assert.equal(todos.format, 'todos');
    assert.deepEqual(await c.calendarFeeds.list(), [feed, todos]);

    const res = await fetch(url); // no token: the secret in the address is the key
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/calendar; charset=utf-8');
    const ics = await res.text();
    assert.match(ics, /^BEGIN:VCALENDAR\r\n/);
    assert.match(ics, /\r\nSUMMARY:Dentist\r\n/);
    assert.match(ics, /\r\nDTSTART:20270304T093000Z\r\n/);
    assert.doesNotMatch(ics, /No date/); // events: only tasks with a due date
    assert.match(await (await fetch(c.calendarFeeds.url(todos))).text(), /SUMMARY:No date/);

    assert.deepEqual(await c.calendarFeeds.revoke(feed.id), feed);
    assert.equal((await fetch(url)).status, 404);
    assert.deepEqual(await c.calendarFeeds.list(), [todos]);
    await rejects(c.calendarFeeds.revoke(feed.id), 404, 'NOT_FOUND', 'Calendar feed not found');
    await rejects(c.calendarFeeds.create({ list_id: 2_000_000_000 }), 404, 'NOT_FOUND', 'List not found');
  });
});
