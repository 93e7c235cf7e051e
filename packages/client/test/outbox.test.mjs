// The Outbox (dist/) against the real API (dist/src/server.js of the repository, embedded
// PostgreSQL): writes queued while "offline" (a fetch that throws), flushed as one POST /tasks/batch
// with one Idempotency-Key, a flush whose answer is lost sent again with the same key and body (the
// API applies it once), conflicts on 412 resolved 'theirs' and 'mine', and the state in storage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Outbox, backoffDelay, createTaskClient, memoryStorage, optimistic } from '../dist/index.js';
import { startApi, until } from './support.mjs';

let api;

before(async () => {
  api = await startApi({ DATABASE_TIMEOUT_MS: '2000' });
});
after(async () => {
  await api?.stop();
});

let userSeq = 0;
/**
 * A user, a client for them whose network can be cut (`net.online = false`: every request throws as
 * fetch does without a network), and every request it sent (`net.sent`: method, path, Idempotency-Key,
 * and the answer's status and Idempotent-Replayed; `answer: 'lost'` when it was dropped after the
 * API answered).
 */
function client(extra = {}) {
  const user = `outbox-test-${process.pid}-${++userSeq}`;
  const net = { online: true, loseNextBatchAnswer: false, sent: [] };
  const fetchVia = async (request) => {
    if (!net.online) throw new TypeError('fetch failed');
    const entry = { method: request.method, path: new URL(request.url).pathname, key: request.headers.get('idempotency-key'), body: null };
    if (request.method === 'POST') entry.body = await request.clone().text();
    net.sent.push(entry);
    const response = await fetch(request);
    entry.status = response.status;
    entry.replayed = response.headers.get('idempotent-replayed');
    if (net.loseNextBatchAnswer && entry.path.endsWith('/tasks/batch')) {
      // The API has answered (and applied the batch); the connection drops before the client reads it.
      net.loseNextBatchAnswer = false;
      entry.answer = 'lost';
      await response.body?.cancel();
      throw new TypeError('fetch failed: other side closed');
    }
    return response;
  };
  const c = createTaskClient({ baseUrl: api.url, userId: user, token: () => api.token(user), fetch: fetchVia, retry: { retries: 0 }, ...extra });
  return { user, c, net, batches: () => net.sent.filter((s) => s.path.endsWith('/tasks/batch')) };
}

/** Every task of the user on the server (a fresh /changes snapshot), by title. */
async function serverTasks(c) {
  const page = await c.changes({ limit: 1000 });
  return page.changes.filter((e) => e.type === 'upsert').map((e) => e.task);
}

/** Every change of the feed after `since`. */
async function changesSince(c, since) {
  const page = await c.changes({ since, limit: 1000 });
  assert.equal(page.has_more, false);
  return page.changes;
}

describe('Outbox against the real API', () => {
  it('queues creates, updates, completes, moves and deletes offline; one flush applies each exactly once', async () => {
    const { c, net, batches } = client();
    const list = await c.lists.create({ name: 'Errands' });
    const edited = await c.tasks.create({ title: 'edit me' });
    const doomed = await c.tasks.create({ title: 'delete me' });
    const tomorrow = new Date(Date.now() + 86_400_000);
    tomorrow.setUTCHours(9, 0, 0, 0);
    const daily = await c.tasks.create({ title: 'water plants', due_at: tomorrow.toISOString(), recurrence: 'FREQ=DAILY' });
    const { cursor } = await c.changes();

    const outbox = new Outbox(c);
    const queued = [];
    outbox.on('queued', (op) => queued.push(op.op));
    net.online = false;
    const milk = await outbox.create({ title: 'Buy milk' });
    assert.match(milk.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await outbox.update(milk.uid, { priority: 'high' }); // by uid, before the server knows the task
    await outbox.complete(milk.uid, { completed: true });
    await outbox.update(edited.id, { title: 'edited offline' }, edited.version);
    await outbox.move(edited.id, { list_id: list.id });
    // The same occurrence completed twice (a double tap): one completion.
    await outbox.complete(daily.id, { completed: true, occurrence: daily.due_at });
    await outbox.complete(daily.id, { completed: true, occurrence: daily.due_at });
    await outbox.delete(doomed.id, doomed.version);
    assert.deepEqual(queued, ['create', 'update', 'complete', 'update', 'move', 'complete', 'complete', 'delete']);

    // Offline: nothing is lost, the flush is kept with its key.
    const offline = await outbox.flush();
    assert.equal(offline.error?.code, 'NETWORK_ERROR');
    assert.deepEqual([offline.batches, offline.sent, offline.remaining], [0, 0, 8]);
    assert.equal((await outbox.ready()).pending.operations.length, 8);
    assert.equal(batches().length, 0);

    net.online = true;
    const report = await outbox.flush();
    assert.equal(report.error, null);
    assert.deepEqual([report.batches, report.sent, report.applied, report.conflicts.length, report.rejected.length, report.remaining], [1, 8, 8, 0, 0, 0]);
    assert.equal(batches().length, 1, 'one POST /tasks/batch');
    assert.equal(batches()[0].key, offline.error.idempotencyKey, 'the key stored before the offline attempt');
    assert.deepEqual(JSON.parse(batches()[0].body).operations.map((o) => o.op), ['create', 'update', 'complete', 'update', 'move', 'complete', 'complete', 'delete']);
    assert.deepEqual(JSON.parse(batches()[0].body).operations[3].if_match, `"${edited.version}"`);
    assert.equal((await outbox.ready()).pending, null);

    const tasks = await serverTasks(c);
    assert.deepEqual(tasks.map((t) => t.title).sort(), ['Buy milk', 'edited offline', 'water plants']);
    const got = Object.fromEntries(tasks.map((t) => [t.title, t]));
    assert.deepEqual([got['Buy milk'].uid, got['Buy milk'].priority, got['Buy milk'].completed], [milk.uid, 'high', true]);
    assert.deepEqual([got['edited offline'].list_id, got['edited offline'].version], [list.id, edited.version + 2]);
    assert.equal(got['water plants'].due_at, new Date(tomorrow.getTime() + 86_400_000).toISOString(), 'one occurrence completed');
    assert.equal(got['water plants'].version, daily.version + 1);
    // The feed: each task changed once per applied write, the deleted one deleted.
    const changes = await changesSince(c, cursor);
    assert.deepEqual(
      changes.map((ch) => (ch.type === 'delete' ? `delete ${ch.id}` : `upsert ${ch.task.title}`)).sort(),
      [`delete ${doomed.id}`, 'upsert Buy milk', 'upsert edited offline', 'upsert water plants'],
    );
  });

  it('a flush whose answer is lost is sent again with the same key and body: applied once (a new Outbox on the same storage resumes it)', async () => {
    const { c, net, batches } = client();
    const storage = memoryStorage();
    const first = new Outbox(c, { storage });
    const { cursor } = await c.changes();
    const a = await first.create({ title: 'once A' });
    const b = await first.create({ title: 'once B' });
    await first.update(a.uid, { description: 'from the queue' });
    net.loseNextBatchAnswer = true;
    const lost = await first.flush();
    assert.equal(lost.error?.code, 'NETWORK_ERROR');
    assert.equal(batches()[0].answer, 'lost');
    assert.equal(batches()[0].status, 200, 'the API answered (and applied it)');
    const saved = await storage.get();
    assert.equal(saved.pending.key, batches()[0].key, 'the key is kept with the pending flush');
    assert.equal(saved.queue.length, 3);

    // "The tab is closed": a new Outbox on the same storage, with a replica to reconcile.
    const replica = c.replica();
    const outbox = new Outbox(c, { storage, replica });
    assert.deepEqual((await outbox.pending()).map((o) => o.op), ['create', 'create', 'update']);
    const report = await outbox.flush();
    assert.equal(report.error, null);
    assert.deepEqual([report.applied, report.remaining], [3, 0]);
    const retried = batches()[1];
    assert.equal(retried.key, batches()[0].key, 'the same Idempotency-Key');
    assert.equal(retried.body, batches()[0].body, 'the same body');
    assert.equal(retried.replayed, 'true', 'the API replayed its stored answer');
    assert.equal((await storage.get()).pending, null);

    const tasks = await serverTasks(c);
    assert.deepEqual(tasks.map((t) => t.title).sort(), ['once A', 'once B']);
    assert.equal(tasks.find((t) => t.uid === a.uid).description, 'from the queue');
    assert.equal(tasks.find((t) => t.uid === b.uid).version, 1);
    const changes = await changesSince(c, cursor);
    assert.equal(changes.length, 2, 'one feed entry per task: nothing ran twice');
    assert.equal(tasks.find((t) => t.uid === a.uid).version, 2, 'created once, updated once');
    // Reconciled: the replica holds the server's tasks.
    assert.deepEqual([...replica.tasks.values()].map((t) => t.title).sort(), ['once A', 'once B']);
  });

  it("a queued update of a task changed on the server meanwhile is a conflict: 'theirs' drops it, 'mine' applies it on the current version", async () => {
    const { c, net } = client();
    const { c: other } = createOther(c);
    const task = await c.tasks.create({ title: 'v1' });
    const outbox = new Outbox(c);
    const seen = [];
    outbox.on('conflict', (conflict) => seen.push(conflict));

    net.online = false;
    await outbox.update(task.id, { title: 'mine, take 1' }, task.version);
    const theirs = await other.tasks.update(task.id, { title: 'theirs' }); // another device, online
    net.online = true;
    const report = await outbox.flush();
    assert.deepEqual([report.applied, report.conflicts.length, report.remaining], [0, 1, 0]);
    assert.equal(seen.length, 1);
    const [conflict] = seen;
    assert.deepEqual([conflict.error.status, conflict.error.code], [412, 'PRECONDITION_FAILED']);
    assert.equal(conflict.op.task.title, 'mine, take 1');
    assert.equal(conflict.currentVersion, theirs.version);
    assert.equal(conflict.theirs.title, 'theirs');
    assert.deepEqual((await outbox.conflicts()).map((x) => x.id), [conflict.id], 'kept out of the queue, in storage');
    assert.equal((await c.tasks.get(task.id)).title, 'theirs', 'never a silent overwrite');

    assert.equal(await outbox.resolve(conflict, 'theirs'), null);
    assert.deepEqual(await outbox.conflicts(), []);
    assert.equal((await outbox.flush()).sent, 0);
    assert.equal((await c.tasks.get(task.id)).title, 'theirs');

    // Again, and this time the user keeps their own change.
    net.online = false;
    await outbox.update(task.id, { title: 'mine, take 2', priority: 'low' }, theirs.version);
    const theirs2 = await other.tasks.update(task.id, { title: 'theirs again' });
    net.online = true;
    const second = await outbox.flush();
    assert.equal(second.conflicts.length, 1);
    const requeued = await outbox.resolve(second.conflicts[0], 'mine');
    assert.equal(requeued.baseVersion, theirs2.version);
    const done = await outbox.flush();
    assert.deepEqual([done.applied, done.conflicts.length], [1, 0]);
    const final = await c.tasks.get(task.id);
    assert.deepEqual([final.title, final.priority, final.version], ['mine, take 2', 'low', theirs2.version + 1]);

    // A conflicting delete, kept by 'mine', deletes.
    await outbox.delete(task.id, task.version);
    const del = await outbox.flush();
    assert.equal(del.conflicts.length, 1);
    await outbox.resolve(del.conflicts[0].id, 'mine');
    assert.equal((await outbox.flush()).applied, 1);
    await assert.rejects(c.tasks.get(task.id), (err) => err.status === 404);
  });

  it('a create then updates by uid in one queue; two edits on the same version are ours, not a conflict; a refused one is rejected', async () => {
    const { c, batches } = client();
    const known = await c.tasks.create({ title: 'known' });
    const outbox = new Outbox(c);
    const rejected = [];
    outbox.on('rejected', (r) => rejected.push(r));
    const trip = await outbox.create({ title: 'Trip', uid: `trip-${known.id}` });
    assert.equal(trip.uid, `trip-${known.id}`);
    await outbox.update(trip.uid, { description: 'pack' });
    await outbox.update(trip.uid, { tags: ['travel'] });
    // Two edits made offline on the version the app had: the second is based on the first, ours.
    await outbox.update(known.id, { title: 'known, edited' }, known.version);
    await outbox.update(known.id, { priority: 'high' }, known.version);
    await outbox.update(987654321, { title: 'no such task' });
    await outbox.create({ title: '' }); // a 400
    const report = await outbox.flush();
    assert.equal(report.error, null);
    assert.deepEqual([report.batches, report.applied, report.conflicts.length, report.rejected.length, report.remaining], [2, 5, 0, 2, 0]);
    // The second edit of `known` waited for the first's answer and went on its version.
    const [firstBatch, secondBatch] = batches().map((b) => JSON.parse(b.body).operations);
    assert.equal(firstBatch.length, 4);
    assert.deepEqual(secondBatch.slice(0, 1), [{ op: 'update', id: known.id, if_match: `"${known.version + 1}"`, task: { priority: 'high' } }]);
    assert.deepEqual(rejected.map((r) => [r.op.op, r.error.status, r.error.code]), [['update', 404, 'NOT_FOUND'], ['create', 400, 'VALIDATION_ERROR']]);

    const tasks = await serverTasks(c);
    const got = Object.fromEntries(tasks.map((t) => [t.title, t]));
    assert.deepEqual(Object.keys(got).sort(), ['Trip', 'known, edited']);
    assert.deepEqual([got.Trip.uid, got.Trip.description, got.Trip.tags, got.Trip.version], [trip.uid, 'pack', ['travel'], 3]);
    assert.deepEqual([got['known, edited'].priority, got['known, edited'].version], ['high', known.version + 2]);
  });

  it('the storage keeps the queue, the pending key and the conflicts: a new Outbox on it resumes them', async () => {
    const { c, net, batches } = client();
    const storage = memoryStorage();
    const task = await c.tasks.create({ title: 'shared' });
    const first = new Outbox(c, { storage });
    net.online = false;
    await first.create({ title: 'queued in the first' });
    await first.update(task.id, { title: 'stale edit' }, task.version);
    assert.equal((await first.flush()).error.code, 'NETWORK_ERROR');
    const { key } = (await storage.get()).pending;
    await first.complete(task.id, { completed: true }); // queued after the pending flush
    net.online = true;
    await c.tasks.update(task.id, { description: 'changed elsewhere' });

    const second = new Outbox(c, { storage });
    assert.deepEqual((await second.pending()).map((o) => o.op), ['create', 'update', 'complete']);
    assert.equal((await second.ready()).pending.key, key);
    const report = await second.flush();
    assert.deepEqual([report.batches, report.applied, report.conflicts.length], [2, 2, 1]);
    assert.equal(batches()[0].key, key, 'the pending flush went first, with its key');
    assert.deepEqual(JSON.parse(batches()[0].body).operations.map((o) => o.op), ['create', 'update']);
    assert.deepEqual(JSON.parse(batches()[1].body).operations.map((o) => o.op), ['complete']);
    assert.notEqual(batches()[1].key, key, 'a new key for the next flush');

    const third = new Outbox(c, { storage });
    const [conflict] = await third.conflicts();
    assert.equal(conflict.op.task.title, 'stale edit');
    await third.resolve(conflict, 'theirs');
    assert.deepEqual(await new Outbox(c, { storage }).conflicts(), []);
  });

  it('optimistic(): the replica with the queued writes on top, then, after the flush, the replica reconciled', async () => {
    const { c, net } = client();
    const list = await c.lists.create({ name: 'Later' });
    const a = await c.tasks.create({ title: 'a' });
    const b = await c.tasks.create({ title: 'b' });
    const d = await c.tasks.create({ title: 'd' });
    const replica = c.replica();
    await replica.sync();
    const outbox = new Outbox(c, { replica });
    net.online = false;
    const n = await outbox.create({ title: 'new', priority: 'high' });
    await outbox.update(n.uid, { description: 'offline' });
    await outbox.update(a.id, { title: 'a2' }, a.version);
    await outbox.complete(b.uid, { completed: true });
    await outbox.move(b.id, { list_id: list.id });
    await outbox.delete(d.id, d.version);
    await outbox.update(987654321, { title: 'unknown here' });
    const shown = (tasks) => tasks.map((t) => [t.title, t.id === null ? null : 'id', t.saving, t.completed, t.list_id ?? null]).sort();
    assert.deepEqual(shown(optimistic(replica.tasks.values(), await outbox.pending())), [
      ['a2', 'id', true, false, a.list_id],
      ['b', 'id', true, true, list.id],
      ['new', null, true, false, null],
    ]);
    assert.equal(optimistic([], await outbox.pending()).find((t) => t.uid === n.uid).description, 'offline');

    net.online = true;
    const report = await outbox.flush();
    assert.deepEqual([report.applied, report.rejected.length, report.syncError], [6, 1, null]);
    const after = optimistic(replica.tasks.values(), await outbox.pending());
    assert.deepEqual(shown(after), [
      ['a2', 'id', false, false, a.list_id],
      ['b', 'id', false, true, list.id],
      ['new', 'id', false, false, a.list_id],
    ]);
    assert.equal(after.find((t) => t.uid === n.uid).description, 'offline');
  });

  it('start(): flushes when something is queued and again with backoff after a failure', async () => {
    const { c, net } = client();
    const outbox = new Outbox(c);
    const reports = [];
    net.online = false;
    const stop = outbox.start({ baseMs: 20, maxMs: 50, onReport: (r) => reports.push(r) });
    try {
      await outbox.create({ title: 'auto' });
      await until(() => reports.some((r) => r.error !== null && r.remaining === 1), 'a failed flush');
      net.online = true;
      await until(() => reports.at(-1)?.error === null && reports.at(-1)?.remaining === 0, 'the retry that sends it', 5000);
    } finally {
      stop();
    }
    assert.deepEqual((await serverTasks(c)).map((t) => t.title), ['auto']);
    for (let n = 1; n < 10; n++) assert.ok(backoffDelay(n, { baseMs: 100, maxMs: 1000 }) <= Math.min(1000, 100 * 2 ** (n - 1)));
  });

  it('start() does not flush while the browser says it is offline (isOnline); discard() drops a queued operation not yet sent', async () => {
    const { c, batches } = client();
    const outbox = new Outbox(c);
    let online = false;
    const reports = [];
    const stop = outbox.start({ baseMs: 20, maxMs: 50, offlinePollMs: 20, isOnline: () => online, onReport: (r) => reports.push(r) });
    try {
      await outbox.create({ title: 'kept' });
      const dropped = await outbox.create({ title: 'undone' });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(reports.length, 0, 'no flush tried offline');
      assert.equal((await outbox.ready()).pending, null, 'no pending flush formed offline');
      assert.equal(await outbox.discard(dropped.opId), true);
      assert.equal(await outbox.discard(dropped.opId), false, 'already gone');
      assert.deepEqual((await outbox.pending()).map((o) => o.task.title), ['kept']);
      online = true;
      await until(() => reports.at(-1)?.error === null && reports.at(-1)?.remaining === 0, 'the flush once online', 5000);
    } finally {
      stop();
    }
    assert.equal(batches().length, 1, 'one POST /tasks/batch');
    assert.deepEqual((await serverTasks(c)).map((t) => t.title), ['kept']);

    // An operation in the pending flush is sent as it is: not discarded.
    const { c: c2, net: net2 } = client();
    const second = new Outbox(c2);
    net2.online = false;
    const op = await second.create({ title: 'in flight' });
    assert.equal((await second.flush()).error.code, 'NETWORK_ERROR');
    assert.equal(await second.discard(op.opId), false);
    assert.equal((await second.pending()).length, 1);
  });
});

/** Another device of the same user: its own client, always online. */
function createOther(c) {
  return { c: createTaskClient({ baseUrl: c.baseUrl, userId: () => c.userId(), token: async () => api.token(await c.userId()) }) };
}
