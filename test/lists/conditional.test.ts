/**
 * API.md, Version 2's conditional requests and safe retries, on the lists of version 3: the ETags of
 * GET /lists and GET /lists/{id} change with anything they show (open_count and the caller's own
 * position included), If-None-Match gives 304, If-Match on PUT, move and DELETE gives 412 when stale
 * (nothing changes), and Idempotency-Key replays every write of lists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('lists: ETag, If-Match, If-None-Match, Idempotency-Key [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxListsPerUser: 3 });
  });
  afterAll(async () => t?.close());

  const as = async (user = uniqueUser()) => api(t.app, user);
  const make = async (a: Api, name: string) => (await a.createList({ name })).json().data as { id: number; version: number; position: string };

  it('GET /lists: an ETag; If-None-Match gives 304 with no body until anything it shows changes', async () => {
    const a = await as();
    const list = await make(a, 'Groceries');
    const first = await a.lists();
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    const poll = async () => a.lists({ 'if-none-match': etag });
    const unchanged = await poll();
    expect({ status: unchanged.statusCode, body: unchanged.body, etag: unchanged.headers.etag }).toEqual({ status: 304, body: '', etag });
    expect((await a.lists({ 'if-none-match': `W/${etag}, "other"` })).statusCode).toBe(304);
    const changes: [string, () => Promise<unknown>][] = [
      ['a task (open_count)', () => a.create({ title: 'milk' })],
      ['a rename', () => a.putList(list.id, { name: 'Food' })],
      ['a position', () => a.putList(list.id, { position: 'Zz' })],
      ['a move', () => a.moveList(list.id, { after_id: (first.json().data[0] as { id: number }).id })],
      ['a new list', () => a.createList({ name: 'More' })],
    ];
    let last = etag;
    for (const [what, change] of changes) {
      await change();
      const res = await a.lists({ 'if-none-match': last });
      expect(res.statusCode, what).toBe(200);
      expect(res.headers.etag, what).not.toBe(last);
      last = res.headers.etag as string;
      expect((await a.lists({ 'if-none-match': last })).statusCode, what).toBe(304);
    }
  });

  it("GET /lists/{id}: its ETag changes with its version, its open_count and the caller's position; 304 while it matches", async () => {
    const a = await as();
    const list = await make(a, 'Groceries');
    const inbox = (await a.lists()).json().data[0] as { id: number };
    const first = await a.getList(list.id);
    const etag = first.headers.etag as string;
    const created = await a.createList({ name: 'x' });
    expect(created.headers.etag).toMatch(/^"[^"]+"$/);
    const cached = await a.getList(list.id, { 'if-none-match': etag });
    expect({ status: cached.statusCode, body: cached.body, etag: cached.headers.etag }).toEqual({ status: 304, body: '', etag });
    const seen = new Set([etag]);
    const task = (await a.create({ title: 'a' })).json().data;
    // A task's list is the Inbox: its ETag moves, this one's does not.
    expect((await a.getList(list.id, { 'if-none-match': etag })).statusCode).toBe(304);
    const inboxTag = (await a.getList(inbox.id)).headers.etag as string;
    await a.complete(task.id);
    expect((await a.getList(inbox.id, { 'if-none-match': inboxTag })).statusCode).toBe(200);
    for (const change of [() => a.putList(list.id, { position: 'a5' }), () => a.putList(list.id, { name: 'Food' }), () => a.moveList(list.id)]) {
      const before = (await a.getList(list.id)).headers.etag as string;
      const written = await change();
      const after = await a.getList(list.id, { 'if-none-match': before });
      expect(after.statusCode).toBe(200);
      expect(after.headers.etag).toBe((written as { headers: { etag: string } }).headers.etag);
      expect(seen.has(after.headers.etag as string)).toBe(false);
      seen.add(after.headers.etag as string);
    }
  });

  it('If-Match on PUT, move and DELETE: the current ETag or * writes; a stale one is 412 with the current ETag, and nothing changes', async () => {
    const a = await as();
    const list = await make(a, 'Groceries');
    const stale = (await a.getList(list.id)).headers.etag as string;
    const renamed = await a.putList(list.id, { name: 'Food' }, { 'if-match': stale });
    expect(renamed.statusCode).toBe(200);
    const current = renamed.headers.etag as string;
    for (const [what, call] of [
      ['PUT name', () => a.putList(list.id, { name: 'Other' }, { 'if-match': stale })],
      ['PUT position', () => a.putList(list.id, { position: 'Zz' }, { 'if-match': stale })],
      ['move', () => a.moveList(list.id, {}, { 'if-match': stale })],
      ['DELETE', () => a.delList(list.id, { 'if-match': stale })],
      ['weak', () => a.delList(list.id, { 'if-match': `W/${current}` })],
    ] as const) {
      const res = await call();
      expectError(res, 412, 'PRECONDITION_FAILED', `The list has changed since the ETag in If-Match (it is now ${current})`);
      expect(res.headers.etag, what).toBe(current);
    }
    expect((await a.getList(list.id)).json().data).toEqual(renamed.json().data);
    const moved = await a.moveList(list.id, {}, { 'if-match': `"nope", ${current}` });
    expect(moved.statusCode).toBe(200);
    expect((await a.putList(list.id, { position: 'a7' }, { 'if-match': '*' })).statusCode).toBe(200);
    expect((await a.delList(list.id, { 'if-match': (await a.getList(list.id)).headers.etag as string })).statusCode).toBe(200);
    // Not a member: 404 before anything else.
    expectError(await (await as()).delList(list.id, { 'if-match': '*' }), 404, 'NOT_FOUND');
  });

  it('Idempotency-Key: a retried create makes one list, a retried move and delete run once; the same key with another body is 422', async () => {
    const a = await as();
    const first = await a.createList({ name: 'Once' }, { 'idempotency-key': 'list-create-1' });
    expect(first.statusCode).toBe(201);
    const again = await a.createList({ name: 'Once' }, { 'idempotency-key': 'list-create-1' });
    expect({ status: again.statusCode, body: again.json(), replayed: again.headers['idempotent-replayed'], etag: again.headers.etag }).toEqual({
      status: 201,
      body: first.json(),
      replayed: 'true',
      etag: first.headers.etag,
    });
    expect((await a.lists()).json().data.map((l: { name: string }) => l.name)).toEqual(['Inbox', 'Once']);
    expectError(await a.createList({ name: 'Twice' }, { 'idempotency-key': 'list-create-1' }), 422, 'IDEMPOTENCY_KEY_REUSED');
    const id = first.json().data.id as number;
    const put = await a.putList(id, { name: 'Renamed' }, { 'idempotency-key': 'list-put' });
    const putAgain = await a.putList(id, { name: 'Renamed' }, { 'idempotency-key': 'list-put' });
    expect({ body: putAgain.json(), replayed: putAgain.headers['idempotent-replayed'] }).toEqual({ body: put.json(), replayed: 'true' });
    expect((await a.getList(id)).json().data.version).toBe(2);
    const moved = await a.moveList(id, {}, { 'idempotency-key': 'list-move' });
    await a.putList(id, { position: 'b01' });
    const movedAgain = await a.moveList(id, {}, { 'idempotency-key': 'list-move' });
    expect({ status: movedAgain.statusCode, body: movedAgain.json(), replayed: movedAgain.headers['idempotent-replayed'] }).toEqual({
      status: 200,
      body: moved.json(),
      replayed: 'true',
    });
    expect((await a.getList(id)).json().data.position).toBe('b01');
    const deleted = await a.delList(id, { 'idempotency-key': 'list-del' });
    expect(deleted.statusCode).toBe(200);
    const deletedAgain = await a.delList(id, { 'idempotency-key': 'list-del' });
    expect({ status: deletedAgain.statusCode, body: deletedAgain.json(), replayed: deletedAgain.headers['idempotent-replayed'] }).toEqual({
      status: 200,
      body: deleted.json(),
      replayed: 'true',
    });
    // A refused create is an answer too: kept and replayed, even after a list was freed.
    await make(a, 'two');
    await make(a, 'three');
    const refused = await a.createList({ name: 'four' }, { 'idempotency-key': 'list-refused' });
    expectError(refused, 403, 'LIST_LIMIT_REACHED');
    const keys = await a.lists();
    await a.delList((keys.json().data.at(-1) as { id: number }).id);
    const replayed = await a.createList({ name: 'four' }, { 'idempotency-key': 'list-refused' });
    expect({ status: replayed.statusCode, body: replayed.json(), replayed: replayed.headers['idempotent-replayed'] }).toEqual({
      status: 403,
      body: refused.json(),
      replayed: 'true',
    });
  });
});
