/**
 * API.md, Version 2, "Conditional requests and lost updates": ETag on every single-task answer,
 * If-None-Match -> 304 (weak comparison, lists), If-Match on PUT, PATCH and DELETE -> 412 with the
 * current ETag and nothing changed, `*`, one winner of two writers holding one version, list
 * ETags that change with any change and differ between queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, type Api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('conditional requests [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  async function as(user = uniqueUser(), app = () => t.app) {
    const call = await api(app, user);
    return { user, call, create: async (title = 'T') => (await call.create({ title })).json().data as { id: number; version: number } };
  }

  /** The write of `method` on task `id`: PUT with `body`, PATCH (the toggle) or DELETE. */
  const write = (call: Api, method: 'PUT' | 'PATCH' | 'DELETE', id: number, headers: Record<string, string>, body?: { title: string }) =>
    method === 'PUT' ? call.put(id, body ?? {}, headers) : method === 'PATCH' ? call.complete(id, undefined, headers) : call.del(id, headers);

  it('every single-task answer has a strong ETag "<version>"', async () => {
    const api = await as();
    const created = await api.call.create({ title: 'E' });
    expect(created.headers.etag).toBe('"1"');
    const id = created.json().data.id;
    expect((await api.call.get(id)).headers.etag).toBe('"1"');
    expect((await api.call.put(id, { title: 'E2' })).headers.etag).toBe('"2"');
    expect((await api.call.complete(id)).headers.etag).toBe('"3"');
    expect((await api.call.del(id)).headers.etag).toBe('"3"');
  });

  it('GET one with a matching If-None-Match is 304 with no body (weak comparison, lists allowed)', async () => {
    const api = await as();
    const { id } = await api.create();
    for (const header of ['"1"', 'W/"1"', '"7", "1"', '*']) {
      const res = await api.call.get(id, { 'if-none-match': header });
      expect({ header, status: res.statusCode, body: res.body, etag: res.headers.etag }).toEqual({ header, status: 304, body: '', etag: '"1"' });
    }
    for (const header of ['"2"', 'W/"2", "3"', '1', '']) {
      expect((await api.call.get(id, { 'if-none-match': header })).statusCode, header).toBe(200);
    }
  });

  it.each(['PUT', 'PATCH', 'DELETE'] as const)('%s with a stale If-Match: 412 PRECONDITION_FAILED with the current ETag, and nothing changes', async (method) => {
    const api = await as();
    const { id } = await api.create();
    await api.call.put(id, { title: 'now at 2' });
    const body = method === 'PUT' ? { title: 'lost update' } : undefined;
    for (const stale of ['"1"', 'W/"2"', '"x"']) {
      const res = await write(api.call, method, id, { 'if-match': stale }, body);
      expectError(res, 412, 'PRECONDITION_FAILED', 'The task has changed since the version in If-Match (it is now at version 2)');
      expect(res.headers.etag).toBe('"2"');
    }
    expect((await api.call.get(id)).json().data).toMatchObject({ title: 'now at 2', version: 2, completed: false });
  });

  it.each(['PUT', 'PATCH', 'DELETE'] as const)('%s with an If-Match version no task can have (beyond int4): 412 when the task exists, 404 when not', async (method) => {
    const api = await as();
    const { id } = await api.create();
    const body = method === 'PUT' ? { title: 'lost update' } : undefined;
    for (const header of ['"2147483648"', '"9999999999"', '"2147483648", "7"']) {
      const res = await write(api.call, method, id, { 'if-match': header }, body);
      expectError(res, 412, 'PRECONDITION_FAILED', 'The task has changed since the version in If-Match (it is now at version 1)');
      expect(res.headers.etag).toBe('"1"');
      expectError(await write(api.call, method, 2_000_000_000, { 'if-match': header }, body), 404, 'NOT_FOUND', 'Task not found');
    }
    // The largest version a task could have is a version like any other: it does not match this one.
    expectError(await write(api.call, method, id, { 'if-match': '"2147483647"' }, body), 412, 'PRECONDITION_FAILED');
    expect((await api.call.get(id)).json().data).toMatchObject({ title: 'T', version: 1, completed: false });
  });

  it.each(['PUT', 'PATCH', 'DELETE'] as const)('%s with a matching If-Match (or a list holding it, or *) writes', async (method) => {
    const api = await as();
    const body = method === 'PUT' ? { title: 'changed' } : undefined;
    for (const header of ['"1"', '"9", "1"', '*']) {
      const { id } = await api.create();
      const res = await write(api.call, method, id, { 'if-match': header }, body);
      expect({ header, status: res.statusCode }).toEqual({ header, status: 200 });
    }
    expectError(await write(api.call, method, 2_000_000_000, { 'if-match': '*' }, body), 404, 'NOT_FOUND', 'Task not found');
    expectError(await write(api.call, method, 2_000_000_000, { 'if-match': '"1"' }, body), 404, 'NOT_FOUND', 'Task not found');
  });

  it('of two writers holding the same version, exactly one wins (one instance and two)', async () => {
    const user = uniqueUser();
    const other = await anotherInstance(t);
    try {
      const one = await as(user);
      const two = await as(user, () => other.app);
      for (let round = 0; round < 10; round++) {
        const { id } = await one.create(`race ${round}`);
        const results = await Promise.all([
          one.call.put(id, { title: 'writer one' }, { 'if-match': '"1"' }),
          two.call.put(id, { title: 'writer two' }, { 'if-match': '"1"' }),
          one.call.complete(id, undefined, { 'if-match': '"1"' }),
          two.call.del(id, { 'if-match': '"1"' }),
        ]);
        const statuses = results.map((r) => r.statusCode);
        expect(statuses.filter((s) => s === 200), `round ${round}: ${statuses.join(',')}`).toHaveLength(1);
        expect(statuses.every((s) => s === 200 || s === 412 || s === 404), statuses.join(',')).toBe(true);
        // A winning change is at version 2; a winning delete answers the task as it was.
        const winner = results.findIndex((r) => r.statusCode === 200);
        expect(results[winner]?.json().data.version).toBe(winner === 3 ? 1 : 2);
      }
    } finally {
      await other.close();
    }
  });

  it('a list has an ETag that changes with any change of the user\'s tasks, differs between queries, and gives 304 while it matches', async () => {
    const api = await as();
    const list = (q = '', headers: Record<string, string> = {}) => api.call.list(q, headers);
    const first = await list();
    expect(first.statusCode).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect((await list('?status=pending')).headers.etag).not.toBe(etag);
    expect((await list('?limit=5')).headers.etag).not.toBe(etag);
    const unchanged = await list('', { 'if-none-match': etag });
    expect({ status: unchanged.statusCode, body: unchanged.body, etag: unchanged.headers.etag }).toEqual({ status: 304, body: '', etag });
    expect((await list('', { 'if-none-match': `W/${etag}` })).statusCode).toBe(304);

    const seen = new Set([etag]);
    const { id } = await api.create();
    for (const change of [
      () => Promise.resolve(),
      () => api.call.put(id, { title: 'edited' }),
      () => api.call.complete(id),
      () => api.call.del(id),
    ]) {
      await change();
      const res = await list('', { 'if-none-match': [...seen].join(', ') });
      expect(res.statusCode).toBe(200);
      expect(seen.has(res.headers.etag as string)).toBe(false);
      seen.add(res.headers.etag as string);
    }
    // Another user's changes do not change it.
    const current = (await list()).headers.etag as string;
    await (await as()).create();
    expect((await list('', { 'if-none-match': current })).statusCode).toBe(304);
  });
});
