/**
 * API.md, Version 2, "Conditional requests and lost updates": ETag on every single-task answer,
 * If-None-Match -> 304 (weak comparison, lists), If-Match on PUT, PATCH and DELETE -> 412 with the
 * current ETag and nothing changed, `*`, one winner of two writers holding one version, list
 * ETags that change with any change and differ between queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { anotherInstance, buildTestApp, callsAs, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('conditional requests [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  async function as(user = uniqueUser(), app = () => t.app) {
    const call = await callsAs(user, app);
    return { user, call, create: async (title = 'T') => (await call('POST', '/tasks', {}, { title })).json().data as { id: number; version: number } };
  }

  it('every single-task answer has a strong ETag "<version>"', async () => {
    const api = await as();
    const created = await api.call('POST', '/tasks', {}, { title: 'E' });
    expect(created.headers.etag).toBe('"1"');
    const id = created.json().data.id;
    expect((await api.call('GET', `/tasks/${id}`)).headers.etag).toBe('"1"');
    expect((await api.call('PUT', `/tasks/${id}`, {}, { title: 'E2' })).headers.etag).toBe('"2"');
    expect((await api.call('PATCH', `/tasks/${id}/complete`)).headers.etag).toBe('"3"');
    expect((await api.call('DELETE', `/tasks/${id}`)).headers.etag).toBe('"3"');
  });

  it('GET one with a matching If-None-Match is 304 with no body (weak comparison, lists allowed)', async () => {
    const api = await as();
    const { id } = await api.create();
    for (const header of ['"1"', 'W/"1"', '"7", "1"', '*']) {
      const res = await api.call('GET', `/tasks/${id}`, { 'if-none-match': header });
      expect({ header, status: res.statusCode, body: res.body, etag: res.headers.etag }).toEqual({ header, status: 304, body: '', etag: '"1"' });
    }
    for (const header of ['"2"', 'W/"2", "3"', '1', '']) {
      expect((await api.call('GET', `/tasks/${id}`, { 'if-none-match': header })).statusCode, header).toBe(200);
    }
  });

  it.each(['PUT', 'PATCH', 'DELETE'] as const)('%s with a stale If-Match: 412 PRECONDITION_FAILED with the current ETag, and nothing changes', async (method) => {
    const api = await as();
    const { id } = await api.create();
    await api.call('PUT', `/tasks/${id}`, {}, { title: 'now at 2' });
    const url = method === 'PATCH' ? `/tasks/${id}/complete` : `/tasks/${id}`;
    const body = method === 'PUT' ? { title: 'lost update' } : undefined;
    for (const stale of ['"1"', 'W/"2"', '"x"']) {
      const res = await api.call(method, url, { 'if-match': stale }, body);
      expectError(res, 412, 'PRECONDITION_FAILED', 'The task has changed since the version in If-Match (it is now at version 2)');
      expect(res.headers.etag).toBe('"2"');
    }
    expect((await api.call('GET', `/tasks/${id}`)).json().data).toMatchObject({ title: 'now at 2', version: 2, completed: false });
  });

  it.each(['PUT', 'PATCH', 'DELETE'] as const)('%s with an If-Match version no task can have (beyond int4): 412 when the task exists, 404 when not', async (method) => {
    const api = await as();
    const { id } = await api.create();
    const url = (i: number) => (method === 'PATCH' ? `/tasks/${i}/complete` : `/tasks/${i}`);
    const body = method === 'PUT' ? { title: 'lost update' } : undefined;
    for (const header of ['"2147483648"', '"9999999999"', '"2147483648", "7"']) {
      const res = await api.call(method, url(id), { 'if-match': header }, body);
      expectError(res, 412, 'PRECONDITION_FAILED', 'The task has changed since the version in If-Match (it is now at version 1)');
      expect(res.headers.etag).toBe('"1"');
      expectError(await api.call(method, url(2_000_000_000), { 'if-match': header }, body), 404, 'NOT_FOUND', 'Task not found');
    }
    // The largest version a task could have is a version like any other: it does not match this one.
    expectError(await api.call(method, url(id), { 'if-match': '"2147483647"' }, body), 412, 'PRECONDITION_FAILED');
    expect((await api.call('GET', `/tasks/${id}`)).json().data).toMatchObject({ title: 'T', version: 1, completed: false });
  });

  it.each(['PUT', 'PATCH', 'DELETE'] as const)('%s with a matching If-Match (or a list holding it, or *) writes', async (method) => {
    const api = await as();
    const url = (id: number) => (method === 'PATCH' ? `/tasks/${id}/complete` : `/tasks/${id}`);
    const body = method === 'PUT' ? { title: 'changed' } : undefined;
    for (const header of ['"1"', '"9", "1"', '*']) {
      const { id } = await api.create();
      const res = await api.call(method, url(id), { 'if-match': header }, body);
      expect({ header, status: res.statusCode }).toEqual({ header, status: 200 });
    }
    expectError(await api.call(method, url(2_000_000_000), { 'if-match': '*' }, body), 404, 'NOT_FOUND', 'Task not found');
    expectError(await api.call(method, url(2_000_000_000), { 'if-match': '"1"' }, body), 404, 'NOT_FOUND', 'Task not found');
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
          one.call('PUT', `/tasks/${id}`, { 'if-match': '"1"' }, { title: 'writer one' }),
          two.call('PUT', `/tasks/${id}`, { 'if-match': '"1"' }, { title: 'writer two' }),
          one.call('PATCH', `/tasks/${id}/complete`, { 'if-match': '"1"' }),
          two.call('DELETE', `/tasks/${id}`, { 'if-match': '"1"' }),
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
    const list = (q = '', headers: Record<string, string> = {}) => api.call('GET', `/tasks${q}`, headers);
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
      () => api.call('PUT', `/tasks/${id}`, {}, { title: 'edited' }),
      () => api.call('PATCH', `/tasks/${id}/complete`),
      () => api.call('DELETE', `/tasks/${id}`),
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
