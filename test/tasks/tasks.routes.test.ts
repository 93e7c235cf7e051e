/**
 * Every task route through the test client (test/helpers/api.ts), but for the toggle sent with an
 * empty body and a JSON content type, which a typed client does not send: raw inject, at its route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, routes, type ApiOptions } from '../helpers/api.js';
import { authHeader, buildTestApp, expectError, signToken, uniqueUser, type TestApp } from '../helpers/app.js';

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe.each(drivers)('tasks routes [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  const as = (user: string, options?: ApiOptions) => api(t.app, user, options);

  it('POST creates a task: 201 with the stored row', async () => {
    const user = uniqueUser();
    const api = await as(user);
    const res = await api.create({ title: 'Buy milk', description: '2 litres' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.message).toBe('Task created successfully');
    expect(body.data).toEqual({
      id: expect.any(Number),
      user_id: user,
      // Version 3: the Inbox, a generated uid, top level, after the last sibling, nobody assigned.
      list_id: expect.any(Number),
      uid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      parent_id: null,
      position: 'a0',
      assignee_id: null,
      title: 'Buy milk',
      description: '2 litres',
      completed: false,
      priority: 'none',
      tags: [],
      due_at: null,
      // Version 3: no recurrence.
      recurrence: null,
      repeat_from: 'due',
      time_zone: null,
      // Version 3: no reminders.
      reminders: [],
      completed_at: null,
      version: 1,
      created_at: expect.stringMatching(ISO_Z),
      updated_at: body.data.created_at,
    });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('POST trims the title, ignores unknown fields, defaults description to null', async () => {
    const api = await as(uniqueUser());
    const res = await api.create(loose({ title: '  Walk dog  ', completed: true, user_id: 'someone-else', id: 5 }));
    expect(res.statusCode).toBe(201);
    expect(res.json().data).toMatchObject({ title: 'Walk dog', description: null, completed: false });
    expect(res.json().data.id).not.toBe(5);
  });

  it('GET list: newest first, with status and filter', async () => {
    const user = uniqueUser();
    const api = await as(user);
    const ids: number[] = [];
    for (const title of ['one', 'two', 'three']) ids.push((await api.create({ title })).json().data.id);
    await api.complete(ids[1] as number);

    const all = await api.list();
    expect(all.statusCode).toBe(200);
    expect(all.json().message).toBe('Tasks retrieved successfully');
    expect(all.json().data.map((x: { title: string }) => x.title)).toEqual(['three', 'two', 'one']);
    for (const [query, titles] of [
      ['?status=all', ['three', 'two', 'one']],
      ['?status=pending', ['three', 'one']],
      ['?status=completed', ['two']],
      ['?filter=completed', ['two']],
      ['?filter=pending', ['three', 'one']],
      ['?status=completed&filter=pending', ['two']],
    ] as const) {
      const res = await api.list(query);
      expect(res.statusCode, query).toBe(200);
      expect(res.json().data.map((x: { title: string }) => x.title), query).toEqual(titles);
    }
  });

  it('GET list of a user with no tasks is an empty array', async () => {
    const res = await (await as(uniqueUser())).list();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: [], message: 'Tasks retrieved successfully' });
  });

  it('GET list rejects an unknown status with 400 naming it and listing the accepted words', async () => {
    const api = await as(uniqueUser());
    const words = 'all, pending, completed, active, open, incomplete, todo, done, complete';
    expectError(await api.list('?status=bogus'), 400, 'VALIDATION_ERROR', `status must be one of ${words}`);
    expectError(await api.list('?filter=Done'), 400, 'VALIDATION_ERROR', `filter must be one of ${words}`);
  });

  it('GET list takes the words todo UIs send: active, open, incomplete, todo mean pending; done, complete mean completed', async () => {
    const api = await as(uniqueUser());
    const ids: number[] = [];
    for (const title of ['one', 'two', 'three']) ids.push((await api.create({ title })).json().data.id);
    await api.complete(ids[1] as number);
    for (const word of ['active', 'open', 'incomplete', 'todo']) {
      for (const param of ['status', 'filter']) {
        const res = await api.list(`?${param}=${word}`);
        expect(res.statusCode, `${param}=${word}`).toBe(200);
        expect(res.json().data.map((x: { title: string }) => x.title), `${param}=${word}`).toEqual(['three', 'one']);
      }
    }
    for (const word of ['done', 'complete']) {
      for (const param of ['status', 'filter']) {
        expect((await api.list(`?${param}=${word}`)).json().data.map((x: { title: string }) => x.title), `${param}=${word}`).toEqual(['two']);
      }
    }
  });

  it('GET one: 200, and 404 when missing', async () => {
    const api = await as(uniqueUser());
    const created = (await api.create({ title: 'x' })).json().data;
    const res = await api.get(created.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: created, message: 'Task retrieved successfully' });
    expectError(await api.get(2_000_000_000), 404, 'NOT_FOUND', 'Task not found');
  });

  it('PUT updates any subset, sets updated_at, null clears description', async () => {
    const api = await as(uniqueUser());
    const created = (await api.create({ title: 'Buy milk', description: '2 litres' })).json().data;
    await new Promise((r) => setTimeout(r, 5));
    const res = await api.put(created.id, { title: ' Buy oat milk ', completed: true });
    expect(res.statusCode).toBe(200);
    const updated = res.json().data;
    expect(res.json().message).toBe('Task updated successfully');
    expect(updated).toMatchObject({ id: created.id, title: 'Buy oat milk', description: '2 litres', completed: true });
    expect(updated.created_at).toBe(created.created_at);
    expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));

    const cleared = await api.put(created.id, { description: null });
    expect(cleared.json().data).toMatchObject({ title: 'Buy oat milk', description: null, completed: true });

    const noop = await api.put(created.id, {});
    expect(noop.statusCode).toBe(200);
    expect(noop.json().data).toMatchObject({ title: 'Buy oat milk', description: null, completed: true });

    expectError(await api.put(2_000_000_000, { title: 'x' }), 404, 'NOT_FOUND', 'Task not found');
  });

  it('DELETE answers the deleted task, then it is gone', async () => {
    const api = await as(uniqueUser());
    const created = (await api.create({ title: 'bye' })).json().data;
    const res = await api.del(created.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: created, message: 'Task deleted successfully' });
    expectError(await api.get(created.id), 404, 'NOT_FOUND');
    expectError(await api.del(created.id), 404, 'NOT_FOUND', 'Task not found');
  });

  it('PATCH complete toggles without a body, and with an empty JSON body', async () => {
    const user = uniqueUser();
    const api = await as(user);
    const created = (await api.create({ title: 't' })).json().data;
    const first = await api.complete(created.id);
    expect(first.statusCode).toBe(200);
    expect(first.json().message).toBe('Task marked as completed');
    expect(first.json().data.completed).toBe(true);

    const headers = { ...(await authHeader(user)), 'content-type': 'application/json' };
    const second = await t.app.inject({ method: 'PATCH', url: routes.complete(user, created.id), headers, payload: '' });
    expect(second.statusCode).toBe(200);
    expect(second.json().message).toBe('Task marked as pending');
    expect(second.json().data.completed).toBe(false);

    const third = await api.complete(created.id, {});
    expect(third.json().data.completed).toBe(true);
  });

  it('PATCH complete with {completed} sets it, idempotently', async () => {
    const api = await as(uniqueUser());
    const created = (await api.create({ title: 't' })).json().data;
    for (let i = 0; i < 2; i++) {
      const res = await api.complete(created.id, { completed: true });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ data: { completed: true }, message: 'Task marked as completed' });
    }
    const pending = await api.complete(created.id, { completed: false });
    expect(pending.json()).toMatchObject({ data: { completed: false }, message: 'Task marked as pending' });
    expectError(await api.complete(created.id, loose({ completed: 'yes' })), 400, 'VALIDATION_ERROR', 'completed must be a boolean');
    expectError(await api.complete(2_000_000_000), 404, 'NOT_FOUND', 'Task not found');
    expect((await api.get(created.id)).json().data.completed).toBe(false);
  });

  it('isolates users on every route: 403 on another path, 404 on another user\'s id', async () => {
    const alice = uniqueUser('alice');
    const bob = uniqueUser('bob');
    const a = await as(alice);
    const b = await as(bob);
    const task = (await a.create({ title: 'alice private' })).json().data;
    const bobOnAlice = await as(alice, { token: await signToken(bob) });

    // Bob's token on Alice's path: 403 on every route, nothing changes.
    const onAlicePath = [
      () => bobOnAlice.list(),
      () => bobOnAlice.create({ title: 'intrusion' }),
      () => bobOnAlice.get(task.id),
      () => bobOnAlice.put(task.id, { title: 'hacked' }),
      () => bobOnAlice.del(task.id),
      () => bobOnAlice.complete(task.id),
    ];
    for (const call of onAlicePath) {
      const res = await call();
      expectError(res, 403, 'FORBIDDEN');
    }
    // Bob's own path with Alice's task id: 404, the task is not his.
    expectError(await b.get(task.id), 404, 'NOT_FOUND');
    expectError(await b.put(task.id, { title: 'hacked' }), 404, 'NOT_FOUND');
    expectError(await b.complete(task.id), 404, 'NOT_FOUND');
    expectError(await b.del(task.id), 404, 'NOT_FOUND');
    expect((await b.list()).json().data).toEqual([]);

    expect((await a.get(task.id)).json().data).toEqual(task);
    expect((await a.list()).json().data).toEqual([task]);
  });

  it('accepts 200 emoji as a title (characters, not UTF-16 units) and refuses 201', async () => {
    const api = await as(uniqueUser());
    const title = '🚀'.repeat(200);
    const res = await api.create({ title });
    expect(res.statusCode).toBe(201);
    expect(res.json().data.title).toBe(title);
    expectError(await api.create({ title: '🚀'.repeat(201) }), 400, 'VALIDATION_ERROR', 'title must be at most 200 characters');
    const desc = 'é'.repeat(1000);
    expect((await api.create({ title: 'd', description: desc })).json().data.description).toBe(desc);
  });

  it('user ids with URL-unsafe characters work when encoded', async () => {
    const user = `user with space/${uniqueUser()}`;
    const api = await as(user);
    const res = await api.create({ title: 'x' });
    expect(res.statusCode).toBe(201);
    expect(res.json().data.user_id).toBe(user);
    expect((await api.list()).json().data).toHaveLength(1);
  });
});
