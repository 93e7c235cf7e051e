// The built client (dist/) against the real API (dist/src/server.js of the repository, embedded
// PostgreSQL), over loopback. Tests of version-2 features are skipped, saying what they wait on,
// while the API's OpenAPI document does not have them; REQUIRE_V2=1 makes those skips failures.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ApiError, cachedToken, createTaskClient, isApiError, parseRetryAfter } from '../dist/index.js';
import { apiHas, sleep, startApi } from './support.mjs';

const REQUIRE_V2 = process.env.REQUIRE_V2 === '1';
let api;
const features = {};

before(async () => {
  api = await startApi({ DATABASE_TIMEOUT_MS: '2000' });
  features.changes = await apiHas(api, '/api/{user_id}/tasks/changes');
  features.tags = await apiHas(api, '/api/{user_id}/tags');
  features.ticket = await apiHas(api, '/api/{user_id}/tasks/events/ticket');
  const doc = await (await fetch(`${api.url}/openapi.json`)).text();
  features.ifMatch = /"if-match"/i.test(doc);
  features.idempotency = /"idempotency-key"/i.test(doc);
  features.fields = /"priority"/.test(doc);
  features.pages = /"next_cursor"/.test(doc);
});
after(async () => {
  await api?.stop();
});

/** it() for a version-2 feature: skipped (with what it waits on) until the API has it. */
function itV2(feature, what, name, fn) {
  it(name, async (t) => {
    if (!features[feature]) {
      if (REQUIRE_V2) assert.fail(`the API does not have ${what}`);
      t.skip(`WAITS ON API v2: ${what}`);
      return;
    }
    await fn(t);
  });
}

let userSeq = 0;
function client(extra = {}) {
  const user = `client-test-${process.pid}-${++userSeq}`;
  return { user, c: createTaskClient({ baseUrl: api.url, userId: user, token: () => api.token(user), ...extra }) };
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

  it('retries a 503 with Retry-After while the database restarts after a crash', async () => {
    const retries = [];
    const { c: patient } = client({ onRetry: (e) => retries.push(e) });
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

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('5'), 5);
    assert.equal(parseRetryAfter(new Date(Date.now() + 3000).toUTCString(), Date.now()) <= 3, true);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter('soon'), null);
  });

  it('sends version-2 request headers only to an API that documents them (protocol: auto)', async () => {
    const { c } = client();
    assert.equal(await c.supports('idempotency-key'), features.idempotency);
    assert.equal(await c.supports('if-match'), features.ifMatch);
    const forced = createTaskClient({ baseUrl: api.url, userId: 'x', protocol: 'v1' });
    assert.equal(await forced.supports('idempotency-key'), false);
  });

  it('walks cursor pages as an async iterator', async () => {
    const { c } = client();
    for (const title of ['a1', 'a2', 'a3', 'a4', 'a5']) await c.tasks.create({ title });
    const pages = [];
    for await (const page of c.tasks.pages({ limit: 2 })) pages.push(page.tasks.map((t) => t.title));
    if (features.pages) {
      assert.deepEqual(pages, [['a5', 'a4'], ['a3', 'a2'], ['a1']]);
    } else {
      // Today's API ignores limit and answers everything at once: one page, nothing lost.
      assert.deepEqual(pages, [['a5', 'a4', 'a3', 'a2', 'a1']]);
    }
    const all = [];
    for await (const task of c.tasks.all({ limit: 2, sort: 'title' })) all.push(task.title);
    assert.deepEqual(all.slice().sort(), ['a1', 'a2', 'a3', 'a4', 'a5']);
  });

  itV2('fields', 'priority, tags and due_at (The task, grown)', 'creates and filters with priority, tags, due_at, q and sort', async () => {
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

  itV2('tags', 'GET /api/{user_id}/tags', 'lists tags with counts', async () => {
    const { c } = client();
    await c.tasks.create({ title: 'one', tags: ['home', 'errands'] });
    await c.tasks.create({ title: 'two', tags: ['home'] });
    assert.deepEqual(await c.tags.list(), [
      { name: 'home', count: 2 },
      { name: 'errands', count: 1 },
    ]);
  });

  itV2('ifMatch', 'If-Match / 412 PRECONDITION_FAILED (Conditional requests)', 'a stale update gets the newer task instead of overwriting it', async () => {
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

  itV2('idempotency', 'Idempotency-Key (Safe retries)', 'a create repeated with the same key makes one task', async () => {
    const { c } = client();
    const a = await c.tasks.create({ title: 'once' }, { idempotencyKey: 'same-key-1' });
    const b = await c.tasks.create({ title: 'once' }, { idempotencyKey: 'same-key-1' });
    assert.equal(a.id, b.id);
    assert.equal((await c.tasks.list()).tasks.length, 1);
    await assert.rejects(c.tasks.create({ title: 'other body' }, { idempotencyKey: 'same-key-1' }), (err) => err.code === 'IDEMPOTENCY_KEY_REUSED' && err.status === 422);
  });

  itV2('changes', 'GET /api/{user_id}/tasks/changes (Sync)', 'keeps a replica with upserts and deletes', async () => {
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

  itV2('ticket', 'POST /api/{user_id}/tasks/events/ticket (Live updates)', 'issues an event ticket', async () => {
    const { c } = client();
    const ticket = await c.events.ticket();
    assert.equal(typeof ticket.ticket, 'string');
    assert.ok(Date.parse(ticket.expires_at) > Date.now());
    const url = new URL(await c.events.url(ticket.ticket, 'abc'));
    assert.equal(url.searchParams.get('ticket'), ticket.ticket);
    assert.equal(url.searchParams.get('since'), 'abc');
  });
});
