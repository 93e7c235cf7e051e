// The built client (dist/) against the real API (dist/src/server.js of the repository, embedded
// PostgreSQL), over loopback: every helper, every version-2 feature, the event stream through a
// minimal EventSource (Node 20 has none), and last a crash of the database (503, retried).
import assert from 'node:assert/strict';
import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';

import { ApiError, buildTree, cachedToken, createTaskClient, isApiError, newIdempotencyKey, parseRetryAfter, versionFromEtag } from '../dist/index.js';
import { TestEventSource, sleep, startApi, until } from './support.mjs';

const ORIGIN = 'http://localhost:3000'; // the API's default CORS_ORIGINS
let api;

before(async () => {
  // PUSH_ALLOW_PRIVATE: the push test's push service is on loopback, over http.
  api = await startApi({ DATABASE_TIMEOUT_MS: '2000', CORS_ORIGINS: ORIGIN, PUSH_ALLOW_PRIVATE: 'true' });
});
after(async () => {
  await api?.stop();
});

/**
 * A Web Push message as the browser decrypts it (RFC 8291, aes128gcm of RFC 8188, one record):
 * `browser` is the subscription's P-256 key pair (createECDH), `authSecret` its 16 bytes.
 */
function decryptPush(body, browser, authSecret) {
  const salt = body.subarray(0, 16);
  const idlen = body[20];
  const serverKey = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browser.getPublicKey(), serverKey]);
  const ikm = Buffer.from(hkdfSync('sha256', browser.computeSecret(serverKey), authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(record.subarray(-16));
  const plain = Buffer.concat([decipher.update(record.subarray(0, -16)), decipher.final()]);
  return plain.subarray(0, plain.lastIndexOf(2)).toString('utf8'); // the last record's delimiter (2), then zero padding
}

let userSeq = 0;
function client(extra = {}) {
  const user = `client-test-${process.pid}-${++userSeq}`;
  return { user, c: createTaskClient({ baseUrl: api.url, userId: user, token: () => api.token(user), EventSource: TestEventSource, ...extra }) };
}

describe('@task-api/client against the real API', () => {
  it('creates, lists, gets, updates, toggles, sets and deletes', async () => {
    const { c, user } = client();
    const created = await c.tasks.create({ title: '  Buy milk ', description: '2 litres' });
    assert.equal(created.title, 'Buy milk');
    assert.equal(created.description, '2 litres');
    assert.equal(created.completed, false);
    assert.equal(created.user_id, user);
    const second = await c.tasks.create({ title: 'Walk the dog' });

    const page = await c.tasks.list();
    assert.deepEqual(page.tasks.map((t) => t.title), ['Walk the dog', 'Buy milk']);
    assert.equal(page.message, 'Tasks retrieved successfully');
    assert.equal(page.nextCursor, null);

    assert.deepEqual(await c.tasks.get(created.id), created);
    const updated = await c.tasks.update(created.id, { title: 'Buy oat milk', description: null });
    assert.equal(updated.title, 'Buy oat milk');
    assert.equal(updated.description, null);
    assert.ok(updated.updated_at > created.updated_at);

    assert.equal((await c.tasks.toggle(created.id)).completed, true);
    assert.equal((await c.tasks.toggle(created.id)).completed, false);
    assert.equal((await c.tasks.setCompleted(created.id, true)).completed, true);
    assert.equal((await c.tasks.setCompleted(created.id, true)).completed, true);

    assert.deepEqual((await c.tasks.list({ status: 'completed' })).tasks.map((t) => t.id), [created.id]);
    assert.deepEqual((await c.tasks.list({ status: 'pending' })).tasks.map((t) => t.id), [second.id]);

    const deleted = await c.tasks.delete(second.id);
    assert.equal(deleted.id, second.id);
    assert.deepEqual((await c.tasks.list()).tasks.map((t) => t.id), [created.id]);
  });

  it('version 3: a uid by default, lists, moves, the tree, sharing with an invitation, leaving', async () => {
    const { c, user } = client();
    const { c: sam, user: samId } = client();
    // Every create carries a uid chosen here; a given one is kept.
    const a = await c.tasks.create({ title: 'A' });
    assert.match(a.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal((await c.tasks.create({ title: 'B', uid: 'my-own-uid' })).uid, 'my-own-uid');
    // Lists: create, rename, order.
    const home = await c.lists.create({ name: 'Home' });
    const work = await c.lists.create({ name: 'Work' });
    assert.equal((await c.lists.update(home.id, { name: 'House' })).name, 'House');
    await c.lists.move(work.id, {});
    assert.deepEqual((await c.lists.list()).map((l) => l.name).slice(0, 1), ['Work']);
    // Tasks in a list, a subtask, a move, the tree.
    const parent = await c.tasks.create({ title: 'Parent', list_id: home.id });
    const child2 = await c.tasks.create({ title: 'Second', list_id: home.id, parent_id: parent.id });
    const child1 = await c.tasks.create({ title: 'First', list_id: home.id, parent_id: parent.id });
    await c.tasks.move(child1.id, { before_id: child2.id });
    const page = await c.tasks.list({ list_id: home.id });
    const tree = buildTree(page.tasks);
    assert.deepEqual(tree.map((n) => [n.task.title, n.children.map((k) => k.task.title)]), [['Parent', ['First', 'Second']]]);
    // Sharing: an invitation, accepted; members; the viewer reads; leaving.
    const inv = await c.lists.invite(home.id, 'viewer');
    assert.match(inv.token, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual((await c.lists.invitations(home.id)).map((i) => i.id), [inv.id]);
    const joined = await sam.lists.accept(inv.token);
    assert.deepEqual([joined.id, joined.role, joined.member_count], [home.id, 'viewer', 2]);
    assert.deepEqual((await c.lists.members(home.id)).map((m) => [m.user_id, m.role]), [[user, 'owner'], [samId, 'viewer']]);
    assert.equal((await sam.tasks.get(parent.id)).title, 'Parent');
    await assert.rejects(sam.tasks.create({ title: 'nope', list_id: home.id }), (err) => err.status === 403 && err.code === 'FORBIDDEN');
    assert.equal((await c.lists.setRole(home.id, samId, 'editor')).role, 'editor');
    await sam.lists.leave(home.id);
    await assert.rejects(sam.lists.get(home.id), (err) => err.status === 404);
    const inv2 = await c.lists.invite(home.id, 'editor', { expiresInHours: 1 });
    assert.equal((await c.lists.revoke(home.id, inv2.id)).id, inv2.id);
    await assert.rejects(sam.lists.accept(inv2.token), (err) => err.status === 404);
    assert.equal((await c.lists.delete(work.id)).id, work.id);
  });

  it('tasks.batch: operations answered as their routes, by uid too; atomic all or nothing; a retry with the same key replays', async () => {
    const { c } = client();
    const kept = await c.tasks.create({ title: 'kept' });
    const results = await c.tasks.batch([
      { op: 'create', task: { title: 'Pack', uid: `pack-${kept.id}` } },
      { op: 'create', task: { title: 'Passport' } },
      { op: 'update', uid: `pack-${kept.id}`, task: { priority: 'high' } },
      { op: 'complete', id: kept.id, completed: true },
      { op: 'delete', id: 987654321 },
    ]);
    assert.deepEqual(results.map((r) => r.status), [201, 201, 200, 200, 404]);
    assert.equal(results[0].message, 'Task created successfully');
    assert.match(results[1].data.uid, /^[0-9a-f-]{36}$/); // a uid chosen by the client
    assert.deepEqual([results[2].data.title, results[2].data.priority], ['Pack', 'high']);
    assert.deepEqual(results[4], { status: 404, error: 'Task not found', code: 'NOT_FOUND', detail: 'Task not found' });
    // Atomic: a refused operation throws, with its index; nothing was applied.
    await assert.rejects(
      c.tasks.batch([{ op: 'create', task: { title: 'not kept' } }, { op: 'update', id: kept.id, if_match: '"1"', task: { title: 'stale' } }], { atomic: true }),
      (err) => isApiError(err, 'PRECONDITION_FAILED') && err.status === 412 && err.body.index === 1,
    );
    assert.deepEqual((await c.tasks.list()).tasks.map((t) => t.title).sort(), ['Pack', 'Passport', 'kept']);
    // The caller's own key: the repeat replays the first answer and creates nothing more.
    const ops = [{ op: 'create', task: { title: 'once', uid: `once-${kept.id}` } }];
    const first = await c.tasks.batch(ops, { idempotencyKey: `batch-${kept.id}` });
    assert.deepEqual(await c.tasks.batch(ops, { idempotencyKey: `batch-${kept.id}` }), first);
    assert.equal((await c.tasks.list()).tasks.filter((t) => t.title === 'once').length, 1);
  });

  it('throws ApiError with status, code and detail', async () => {
    const { c } = client();
    await assert.rejects(c.tasks.get(987654321), (err) => {
      assert.ok(isApiError(err, 'NOT_FOUND'));
      assert.equal(err.status, 404);
      assert.equal(typeof err.detail, 'string');
      assert.ok(err.detail.length > 0);
      assert.equal(err.detail, err.body.detail ?? err.body.error);
      assert.equal(err.method, 'GET');
      return true;
    });
    await assert.rejects(c.tasks.create({ title: '   ' }), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'VALIDATION_ERROR');
      assert.match(err.detail, /title/);
      return true;
    });
    // {user_id} of the path is not the token's user
    const other = createTaskClient({ baseUrl: api.url, userId: 'someone-else', token: () => api.token('me') });
    await assert.rejects(other.tasks.list(), (err) => err.status === 403 && err.code === 'FORBIDDEN');
  });

  it('asks the token provider again after a 401, then reports a final 401 to onUnauthorized', async () => {
    const user = `client-test-${process.pid}-refresh`;
    const asked = [];
    const c = createTaskClient({
      baseUrl: api.url,
      userId: user,
      token: ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? api.token(user) : 'not-a-token';
      },
    });
    // A POST with a body: the request is sent again, body and all, with the fresh token.
    const created = await c.tasks.create({ title: 'sent twice, stored once' });
    assert.equal(created.title, 'sent twice, stored once');
    assert.deepEqual(asked, [false, true]);
    assert.deepEqual((await c.tasks.list()).tasks.map((t) => t.id), [created.id]);

    const unauthorized = [];
    const bad = createTaskClient({ baseUrl: api.url, userId: user, token: () => null, onUnauthorized: (e) => unauthorized.push(e) });
    await assert.rejects(bad.tasks.list(), (err) => err.status === 401 && err.code === 'UNAUTHORIZED');
    assert.equal(unauthorized.length, 1);
    assert.equal(unauthorized[0].code, 'UNAUTHORIZED');
  });

  it('cachedToken asks once per JWT lifetime and again on forceRefresh', async () => {
    let fetched = 0;
    const provider = cachedToken(async () => {
      fetched++;
      return api.token('cache-user');
    });
    const [a, b] = await Promise.all([provider({ forceRefresh: false }), provider({ forceRefresh: false })]);
    assert.equal(a, b);
    await provider({ forceRefresh: false });
    assert.equal(fetched, 1);
    await provider({ forceRefresh: true });
    assert.equal(fetched, 2);
    provider.clear();
    await provider({ forceRefresh: false });
    assert.equal(fetched, 3);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('5'), 5);
    assert.equal(parseRetryAfter(new Date(Date.now() + 3000).toUTCString(), Date.now()) <= 3, true);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter('soon'), null);
  });

  it('the API\'s CORS lets a browser send every header the client sends, and read every header it reads', async () => {
    const sent = ['authorization', 'content-type', 'if-match', 'if-none-match', 'idempotency-key', 'last-event-id'];
    const res = await fetch(`${api.url}/api/someone/tasks/1`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': sent.join(',') },
    });
    assert.equal(res.status, 204);
    const allowed = res.headers.get('access-control-allow-headers').toLowerCase().split(/\s*,\s*/);
    for (const h of sent) assert.ok(allowed.includes(h), `${h} allowed (${allowed})`);
    const { c, user } = client();
    const task = await c.tasks.create({ title: 'cors' });
    const get = await fetch(`${api.url}/api/${user}/tasks/${task.id}`, { headers: { origin: ORIGIN, authorization: `Bearer ${api.token(user)}` } });
    const exposed = get.headers.get('access-control-expose-headers').toLowerCase().split(/\s*,\s*/);
    for (const h of ['etag', 'link', 'retry-after', 'x-request-id', 'idempotent-replayed']) assert.ok(exposed.includes(h), `${h} exposed (${exposed})`);
  });

  it('walks cursor pages as an async iterator', async () => {
    const { c } = client();
    for (const title of ['a1', 'a2', 'a3', 'a4', 'a5']) await c.tasks.create({ title });
    const pages = [];
    for await (const page of c.tasks.pages({ limit: 2 })) pages.push(page.tasks.map((t) => t.title));
    assert.deepEqual(pages, [['a5', 'a4'], ['a3', 'a2'], ['a1']]);
    const all = [];
    for await (const task of c.tasks.all({ limit: 2, sort: 'title' })) all.push(task.title);
    assert.deepEqual(all, ['a1', 'a2', 'a3', 'a4', 'a5']);
    const first = await c.tasks.list({ limit: 2, sort: '-title' });
    assert.deepEqual(first.tasks.map((t) => t.title), ['a5', 'a4']);
    const second = await c.tasks.list({ limit: 2, sort: '-title', cursor: first.nextCursor });
    assert.deepEqual(second.tasks.map((t) => t.title), ['a3', 'a2']);
    // A cursor is bound to its query.
    await assert.rejects(c.tasks.list({ limit: 2, sort: 'title', cursor: first.nextCursor }), (err) => err.status === 400 && /cursor/.test(err.detail));
  });

  it('creates and filters with priority, tags, due_at, q and sort', async () => {
    const { c } = client();
    const milk = await c.tasks.create({ title: 'Buy milk', priority: 'high', tags: ['errands', 'home'], due_at: '2026-12-24T18:00:00+01:00' });
    assert.equal(milk.priority, 'high');
    assert.deepEqual(milk.tags, ['errands', 'home']);
    assert.equal(milk.due_at, '2026-12-24T17:00:00.000Z');
    assert.equal(milk.version, 1);
    await c.tasks.create({ title: 'Walk the dog', priority: 'low', tags: ['home'] });
    await c.tasks.create({ title: 'File taxes', priority: 'medium', due_at: '2026-04-30T12:00:00Z' });
    const titles = async (q) => (await c.tasks.list(q)).tasks.map((t) => t.title);
    assert.deepEqual(await titles({ q: 'MILK' }), ['Buy milk']);
    assert.deepEqual(await titles({ priority: ['high', 'medium'] }), ['File taxes', 'Buy milk']);
    assert.deepEqual(await titles({ tag: ['home'], sort: 'title' }), ['Buy milk', 'Walk the dog']);
    assert.deepEqual(await titles({ sort: 'due_at' }), ['File taxes', 'Buy milk', 'Walk the dog']);
    assert.deepEqual(await titles({ sort: '-priority' }), ['Buy milk', 'File taxes', 'Walk the dog']);
  });

  it('lists tags with counts', async () => {
    const { c } = client();
    await c.tasks.create({ title: 'one', tags: ['home', 'errands'] });
    await c.tasks.create({ title: 'two', tags: ['home'] });
    assert.deepEqual(await c.tags.list(), [
      { name: 'home', count: 2 },
      { name: 'errands', count: 1 },
    ]);
  });

  it('a stale update gets the newer task instead of overwriting it', async () => {
    const { c } = client();
    const base = await c.tasks.create({ title: 'v1' });
    const newer = await c.tasks.update(base.id, { title: 'changed elsewhere' }, { ifMatch: base });
    assert.equal(newer.version, base.version + 1);
    const result = await c.tasks.updateIfUnchanged(base, { title: 'stale edit' });
    assert.equal(result.ok, false);
    assert.equal(result.error.status, 412);
    assert.equal(result.error.code, 'PRECONDITION_FAILED');
    assert.deepEqual(result.current, newer);
    assert.equal((await c.tasks.get(base.id)).title, 'changed elsewhere');
    const ok = await c.tasks.updateIfUnchanged(newer, { title: 'fresh edit' });
    assert.equal(ok.ok, true);
    assert.equal(ok.task.title, 'fresh edit');
  });

  it('a create repeated with the same key makes one task', async () => {
    const { c } = client();
    const a = await c.tasks.create({ title: 'once' }, { idempotencyKey: 'same-key-1' });
    const b = await c.tasks.create({ title: 'once' }, { idempotencyKey: 'same-key-1' });
    assert.equal(a.id, b.id);
    assert.equal((await c.tasks.list()).tasks.length, 1);
    await assert.rejects(c.tasks.create({ title: 'other body' }, { idempotencyKey: 'same-key-1' }), (err) => err.code === 'IDEMPOTENCY_KEY_REUSED' && err.status === 422);
  });

  it('keeps a replica with upserts and deletes', async () => {
    const { c } = client();
    const a = await c.tasks.create({ title: 'a' });
    const b = await c.tasks.create({ title: 'b' });
    const replica = c.replica({ limit: 1 });
    await replica.sync();
    assert.deepEqual([...replica.tasks.keys()].sort(), [a.id, b.id].sort());
    await c.tasks.update(a.id, { title: 'a2' });
    await c.tasks.delete(b.id);
    const third = await c.tasks.create({ title: 'c' });
    const { applied, reset } = await replica.sync();
    assert.equal(reset, false);
    assert.equal(applied, 3);
    assert.deepEqual(replica.list().map((t) => t.title), ['c', 'a2']);
    assert.equal(replica.tasks.get(third.id).title, 'c');
    assert.equal(replica.tasks.has(b.id), false);
  });

  it('issues an event ticket', async () => {
    const { c } = client();
    const ticket = await c.events.ticket();
    assert.equal(typeof ticket.ticket, 'string');
    assert.ok(Date.parse(ticket.expires_at) > Date.now());
    const url = new URL(await c.events.url(ticket.ticket, 'abc'));
    assert.equal(url.searchParams.get('ticket'), ticket.ticket);
    assert.equal(url.searchParams.get('since'), 'abc');
  });

  it('a stale delete and a stale toggle are refused too (412), with the current ETag', async () => {
    const { c } = client();
    const base = await c.tasks.create({ title: 'guarded' });
    const newer = await c.tasks.setCompleted(base.id, true, { ifMatch: base });
    assert.equal(newer.version, 2);
    await assert.rejects(c.tasks.toggle(base.id, { ifMatch: base }), (err) => {
      assert.equal(err.code, 'PRECONDITION_FAILED');
      assert.equal(versionFromEtag(err.headers.get('etag')), 2);
      return true;
    });
    await assert.rejects(c.tasks.delete(base.id, { ifMatch: 1 }), (err) => err.status === 412);
    assert.equal((await c.tasks.delete(base.id, { ifMatch: '*' })).id, base.id);
  });

  it('a retried toggle with the same Idempotency-Key toggles once', async () => {
    const { c } = client();
    const task = await c.tasks.create({ title: 'toggle once' });
    assert.equal((await c.tasks.toggle(task.id, { idempotencyKey: 'toggle-key' })).completed, true);
    assert.equal((await c.tasks.toggle(task.id, { idempotencyKey: 'toggle-key' })).completed, true);
    assert.equal((await c.tasks.get(task.id)).completed, true);
    assert.equal((await c.tasks.toggle(task.id)).completed, false); // a fresh key: toggles
  });

  it('polls a list cheaply: ifNoneMatch answers null while nothing changed', async () => {
    const { c } = client();
    await c.tasks.create({ title: 'one' });
    const page = await c.tasks.list({ status: 'pending' });
    assert.ok(page.etag);
    assert.equal(await c.tasks.list({ status: 'pending' }, { ifNoneMatch: page.etag }), null);
    await c.tasks.create({ title: 'two' });
    const changed = await c.tasks.list({ status: 'pending' }, { ifNoneMatch: page.etag });
    assert.deepEqual(changed.tasks.map((t) => t.title), ['two', 'one']);
    assert.notEqual(changed.etag, page.etag);
  });

  it('polls the lists cheaply: lists.poll answers null while nothing changed', async () => {
    const { c } = client();
    const first = await c.lists.poll();
    assert.ok(first.etag);
    assert.deepEqual(first.lists.map((l) => l.name), ['Inbox']);
    assert.equal(await c.lists.poll({ ifNoneMatch: first.etag }), null);
    await c.lists.create({ name: 'Errands' });
    const changed = await c.lists.poll({ ifNoneMatch: first.etag });
    assert.deepEqual(changed.lists.map((l) => l.name), ['Inbox', 'Errands']);
    assert.notEqual(changed.etag, first.etag);
  });

  it('subscribes to the event stream: ready, then each change; resumes after a cursor; ends cleanly', async () => {
    const { c } = client();
    const seen = [];
    const states = [];
    let ready = null;
    const stop = c.events.subscribe({
      onReady: (cursor) => (ready = cursor),
      onChange: (change, cursor) => seen.push({ change, cursor }),
      onStateChange: (s) => states.push(s),
    });
    try {
      await until(() => ready !== null, 'ready');
      const task = await c.tasks.create({ title: 'live', tags: ['x'] });
      const at = Date.now();
      await until(() => seen.length === 1, 'the upsert');
      assert.ok(Date.now() - at < 1000, `within 1 s (${Date.now() - at} ms)`);
      assert.equal(seen[0].change.type, 'upsert');
      assert.deepEqual(seen[0].change.task, task);
      await c.tasks.delete(task.id);
      await until(() => seen.length === 2, 'the delete');
      assert.deepEqual(seen[1].change, { type: 'delete', id: task.id });
      assert.notEqual(seen[1].cursor, seen[0].cursor);
    } finally {
      stop();
    }
    assert.deepEqual(states, ['connecting', 'open', 'closed']);
    assert.ok(TestEventSource.opened.every((es) => es.readyState === 2), 'every EventSource closed');

    // Resuming after the first event's cursor replays what came after it: the delete.
    const replayed = [];
    let resumedFrom = null;
    const again = c.events.subscribe(
      { onReady: (cursor) => (resumedFrom = cursor), onChange: (change) => replayed.push(change) },
      { since: seen[0].cursor },
    );
    try {
      await until(() => replayed.length === 1, 'the replay');
      assert.equal(resumedFrom, seen[0].cursor);
      assert.deepEqual(replayed[0], seen[1].change);
    } finally {
      again();
    }
  });

  it('with include: [\'lists\'], the stream gives list entries to onListChange, in the order of the task entries', async () => {
    const { c } = client();
    const seen = [];
    let ready = false;
    const stop = c.events.subscribe(
      {
        onReady: () => (ready = true),
        onChange: (change) => seen.push(change.type),
        onListChange: (change) => seen.push(change.type === 'list_upsert' ? `list_upsert ${change.list.name}` : `list_delete ${change.id}`),
      },
      { include: ['lists'] },
    );
    try {
      await until(() => ready, 'ready');
      const list = await c.lists.create({ name: 'Groceries' });
      await c.tasks.create({ title: 'milk', list_id: list.id });
      await c.lists.delete(list.id);
      await until(() => seen.length === 4, 'four entries');
      assert.deepEqual(seen, ['list_upsert Groceries', 'upsert', 'delete', `list_delete ${list.id}`]);
    } finally {
      stop();
    }
    assert.equal(new URL(TestEventSource.opened.at(-1).url).searchParams.get('include'), 'lists', 'include=lists asked for');
  });

  it('a ticket is good once: a second stream on it is refused (the subscription always takes a fresh one)', async () => {
    const { c } = client();
    const { ticket } = await c.events.ticket();
    const first = await fetch(await c.events.url(ticket));
    assert.equal(first.status, 200);
    await first.body.cancel();
    const second = await fetch(await c.events.url(ticket));
    assert.equal(second.status, 401);
    await second.body.cancel();
  });

  it('recurrence: completeOccurrence advances once (a repeat is a no-op), skip, completions in pages, the errors', async () => {
    const { c, user } = client();
    // 09:00 in Berlin the day before summer time starts (2030-03-31): the next one is 09:00 CEST.
    const task = await c.tasks.create({
      title: 'Water the plants',
      due_at: '2030-03-30T08:00:00.000Z',
      recurrence: 'FREQ=DAILY',
      time_zone: 'Europe/Berlin',
    });
    assert.deepEqual([task.recurrence, task.repeat_from, task.time_zone], ['FREQ=DAILY', 'due', 'Europe/Berlin']);
    const done = await c.tasks.completeOccurrence(task.id, task.due_at);
    assert.deepEqual([done.completed, done.due_at, done.version], [false, '2030-03-31T07:00:00.000Z', task.version + 1]);
    // The same occurrence again (a double click, a retry): the task as it is, nothing skipped.
    const again = await c.tasks.completeOccurrence(task.id, task.due_at);
    assert.deepEqual([again.completed, again.due_at, again.version], [false, '2030-03-31T07:00:00.000Z', done.version]);
    // Skip: the next occurrence, no completion; one key, one skip.
    const key = newIdempotencyKey();
    const skipped = await c.tasks.skip(task.id, { idempotencyKey: key });
    assert.deepEqual([skipped.due_at, skipped.version], ['2030-04-01T07:00:00.000Z', done.version + 1]);
    assert.deepEqual((await c.tasks.skip(task.id, { idempotencyKey: key })).due_at, '2030-04-01T07:00:00.000Z');
    const third = await c.tasks.completeOccurrence(task.id, skipped.due_at, { ifMatch: skipped });
    assert.equal(third.due_at, '2030-04-02T07:00:00.000Z');
    // The completions, newest first: one page, then pages of one.
    const all = await c.tasks.completions(task.id);
    assert.equal(all.message, 'Completions retrieved successfully');
    assert.equal(all.nextCursor, null);
    assert.deepEqual(
      all.completions.map((x) => [x.occurrence_due_at, x.completed_by]),
      [
        ['2030-04-01T07:00:00.000Z', user],
        ['2030-03-30T08:00:00.000Z', user],
      ],
    );
    assert.ok(all.completions[0].completed_at >= all.completions[1].completed_at);
    const first = await c.tasks.completions(task.id, { limit: 1 });
    assert.deepEqual(first.completions, all.completions.slice(0, 1));
    assert.equal(typeof first.nextCursor, 'string');
    const second = await c.tasks.completions(task.id, { limit: 1, cursor: first.nextCursor });
    assert.deepEqual([second.completions, second.nextCursor], [all.completions.slice(1), null]);
    const iterated = [];
    for await (const x of c.tasks.allCompletions(task.id, { limit: 1 })) iterated.push(x);
    assert.deepEqual(iterated, all.completions);
    // A rule removed: the task no longer recurs, its history stays.
    const stopped = await c.tasks.update(task.id, { recurrence: null });
    assert.deepEqual([stopped.recurrence, stopped.due_at], [null, '2030-04-02T07:00:00.000Z']);
    assert.deepEqual((await c.tasks.completions(task.id)).completions, all.completions);
    // A task that does not recur cannot skip; a series that has ended neither.
    const plain = await c.tasks.create({ title: 'Once', due_at: '2030-03-30T08:00:00.000Z' });
    await assert.rejects(c.tasks.skip(plain.id), (err) => isApiError(err, 'VALIDATION_ERROR') && err.status === 400);
    assert.deepEqual((await c.tasks.completions(plain.id)).completions, []);
    const twice = await c.tasks.create({ title: 'Twice', due_at: '2030-03-30T08:00:00.000Z', recurrence: 'FREQ=WEEKLY;COUNT=2' });
    assert.equal((await c.tasks.skip(twice.id)).due_at, '2030-04-06T08:00:00.000Z');
    await assert.rejects(c.tasks.skip(twice.id), (err) => isApiError(err, 'CONFLICT') && err.status === 409);
    // The last occurrence completed: the task completes as any other.
    const last = await c.tasks.completeOccurrence(twice.id, '2030-04-06T08:00:00.000Z');
    assert.deepEqual([last.completed, last.due_at], [true, '2030-04-06T08:00:00.000Z']);
    await assert.rejects(c.tasks.completions(987654321), (err) => err.status === 404);
  });

  it('replica.live(): a snapshot, then every change through the stream', async () => {
    const { c } = client();
    const a = await c.tasks.create({ title: 'a' });
    const replica = c.replica();
    let open = false;
    const stop = replica.live({ onStateChange: (s) => (open = s === 'open') });
    try {
      await until(() => open && replica.tasks.size === 1, 'the snapshot and the stream');
      const b = await c.tasks.create({ title: 'b' });
      await c.tasks.update(a.id, { title: 'a2', priority: 'high' });
      await until(() => replica.tasks.get(a.id)?.title === 'a2' && replica.tasks.has(b.id), 'the live changes');
      assert.equal(replica.tasks.get(a.id).priority, 'high');
      assert.deepEqual(replica.list().map((t) => t.title), ['b', 'a2']);
    } finally {
      stop();
    }
  });

  it('a changes cursor that is not ours is a 400 naming since', async () => {
    const { c } = client();
    await assert.rejects(c.changes({ since: 'not-a-cursor' }), (err) => err.status === 400 && /since/.test(err.detail));
  });

  it('push and reminders: the VAPID key; subscribe (the same endpoint again: the same id); a reminder on the stream (onReminder) and pushed, encrypted, to the subscription; unsubscribe', async () => {
    const { c, user } = client();
    const publicKey = await c.push.publicKey();
    assert.equal(Buffer.from(publicKey, 'base64url').length, 65, 'an uncompressed P-256 key');
    await assert.rejects(c.push.subscribe({ endpoint: 'https://push.example/x' }), TypeError);

    // A push service of our own on loopback, and the browser's side of the subscription (RFC 8291).
    const browser = createECDH('prime256v1');
    browser.generateKeys();
    const authSecret = randomBytes(16);
    const pushed = [];
    const service = createServer((req, res) => {
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        pushed.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
        res.statusCode = 201;
        res.end();
      });
    });
    await new Promise((resolve) => service.listen(0, '127.0.0.1', resolve));
    const subscription = {
      endpoint: `http://127.0.0.1:${service.address().port}/push/${user}`,
      expirationTime: null,
      keys: { p256dh: browser.getPublicKey().toString('base64url'), auth: authSecret.toString('base64url') },
    };
    const reminders = [];
    let ready = false;
    const stop = c.events.subscribe({ onReady: () => (ready = true), onReminder: (r) => reminders.push(r) });
    try {
      const first = await c.push.subscribe({ toJSON: () => subscription }); // a PushSubscription
      assert.equal(typeof first.id, 'number');
      assert.deepEqual(await c.push.subscribe(subscription), first, 'the same endpoint again: the same id');
      await until(() => ready, 'the stream');

      const at = new Date(Date.now() + 1500).toISOString();
      const task = await c.tasks.create({ title: 'Call the dentist', reminders: [{ at }] });
      assert.deepEqual(task.reminders, [{ at }]);
      await until(() => reminders.length === 1 && pushed.length === 1, 'the reminder on the stream and at the push service', 15_000);
      const expected = { type: 'reminder', task, fire_at: at };
      assert.deepEqual(reminders[0], expected);
      assert.ok(Date.now() >= Date.parse(at), 'not before its time');

      const [message] = pushed;
      assert.equal(message.method, 'POST');
      assert.equal(message.path, `/push/${user}`);
      assert.equal(message.headers['content-encoding'], 'aes128gcm');
      assert.equal(message.headers.urgency, 'high');
      assert.equal(message.headers.ttl, '86400');
      assert.match(message.headers.authorization, /^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=/);
      assert.ok(message.headers.authorization.endsWith(`k=${publicKey}`), 'signed with the key GET /push/public-key gives');
      assert.deepEqual(JSON.parse(decryptPush(message.body, browser, authSecret)), expected);

      assert.deepEqual(await c.push.unsubscribe(first.id), first);
      await assert.rejects(c.push.unsubscribe(first.id), (err) => err.status === 404 && err.code === 'NOT_FOUND');
    } finally {
      stop();
      service.close();
    }
  });

  it(
    'filters by priority on the API\'s first start (a fresh database)',
    async () => {
      const fresh = await startApi({});
      try {
        const user = 'first-start';
        const c = createTaskClient({ baseUrl: fresh.url, userId: user, token: () => fresh.token(user) });
        await c.tasks.create({ title: 'urgent', priority: 'high' });
        assert.deepEqual((await c.tasks.list({ priority: 'high' })).tasks.map((t) => t.title), ['urgent']);
      } finally {
        await fresh.stop();
      }
    },
  );

  it('retries a 503 with Retry-After while the database restarts after a crash', async () => {
    const retries = [];
    // Up to 15 retries: how long the restart takes (crash recovery) depends on the machine's load.
    const { c: patient } = client({ onRetry: (e) => retries.push(e), retry: { retries: 15 } });
    await patient.tasks.create({ title: 'survives a crash' });
    assert.equal(retries.length, 0);
    process.kill(api.postmasterPid(), 'SIGKILL'); // the API restarts its embedded PostgreSQL
    await sleep(50);
    const started = Date.now();
    const page = await patient.tasks.list();
    assert.deepEqual(page.tasks.map((t) => t.title), ['survives a crash']);
    assert.ok(retries.length >= 1, 'at least one retry');
    assert.equal(retries[0].status, 503);
    assert.equal(retries[0].delayMs, 1000); // Retry-After: 1
    assert.ok(Date.now() - started >= 1000);
  });

});
