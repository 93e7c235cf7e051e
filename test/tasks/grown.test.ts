/**
 * API.md, Version 2, "The task, grown": priority, tags, due_at, completed_at, version, and
 * GET /tags. Every rule through HTTP, on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type ApiOptions } from '../helpers/api.js';
import { buildTestApp, expectError, signToken, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

const DATE_TIME_RULE =
  'must be an RFC 3339 date-time with an offset, such as 2026-12-24T17:00:00Z or 2026-12-24T18:00:00+01:00 (a date alone is not enough)';

describe.each(drivers)('the task, grown [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  const as = (user = uniqueUser(), options?: ApiOptions) => api(t.app, user, options);
  const data = (res: { json(): unknown }) => (res.json() as { data: TaskJson }).data;

  it('POST without them: priority none, tags [], due_at null, completed_at null, version 1', async () => {
    const api = await as();
    const res = await api.create({ title: 'Plain' });
    expect(res.statusCode).toBe(201);
    expect(data(res)).toMatchObject({ priority: 'none', tags: [], due_at: null, completed_at: null, version: 1, completed: false });
  });

  it('POST with them: stored as given, due_at returned in UTC with milliseconds', async () => {
    const api = await as();
    const res = await api.create({ title: 'Buy milk', priority: 'high', tags: ['errands', 'home'], due_at: '2026-12-24T18:00:00+01:00' });
    expect(res.statusCode).toBe(201);
    expect(data(res)).toMatchObject({ priority: 'high', tags: ['errands', 'home'], due_at: '2026-12-24T17:00:00.000Z' });
    expect(data(await api.get(data(res).id))).toEqual(data(res));
    const precise = await api.create({ title: 'Precise', due_at: '2026-12-24T17:00:00.123456Z' });
    expect(data(precise).due_at).toBe('2026-12-24T17:00:00.123Z');
  });

  it('tags are trimmed, case duplicates collapse to the first spelling, order as given', async () => {
    const api = await as();
    const res = await api.create({ title: 'Tags', tags: ['  Home ', 'errands', 'HOME', 'Errands', 'work', 'home'] });
    expect(data(res).tags).toEqual(['Home', 'errands', 'work']);
    const twentyFive = Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? 'same' : 'SAME'));
    expect(data(await api.create({ title: 'Collapsed', tags: twentyFive })).tags).toEqual(['same']);
  });

  it('read-only fields in a body are ignored: completed_at, version, completed on POST', async () => {
    const api = await as();
    const res = await api.create(loose({ title: 'Ro', completed_at: '2026-01-01T00:00:00Z', version: 99, completed: true, id: 7, user_id: 'x' }));
    expect(data(res)).toMatchObject({ completed_at: null, version: 1, completed: false, user_id: api.user });
    const put = await api.put(data(res).id, loose({ version: 50, completed_at: '2026-01-01T00:00:00Z', title: 'Ro2' }));
    expect(data(put)).toMatchObject({ version: 2, completed_at: null, title: 'Ro2' });
  });

  it.each([
    [{ priority: 'urgent' }, 'priority must be one of none, low, medium, high'],
    [{ priority: 'High' }, 'priority must be one of none, low, medium, high'],
    [{ priority: null }, 'priority must be one of none, low, medium, high'],
    [{ priority: 3 }, 'priority must be one of none, low, medium, high'],
    [{ tags: null }, 'tags must be an array'],
    [{ tags: 'home' }, 'tags must be an array'],
    [{ tags: [1] }, 'tags[0] must be a string'],
    [{ tags: ['ok', '   '] }, 'tags[1] must not be empty'],
    [{ tags: ['x'.repeat(51)] }, 'tags[0] must be at most 50 characters'],
    [{ tags: ['tab\there'] }, 'tags[0] must be text without control characters'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags must have at most 20 items'],
    [{ due_at: '2026-12-24' }, `due_at ${DATE_TIME_RULE}`],
    [{ due_at: '2026-12-24T17:00:00' }, `due_at ${DATE_TIME_RULE}`],
    [{ due_at: 'tomorrow' }, `due_at ${DATE_TIME_RULE}`],
    [{ due_at: 1766595600000 }, 'due_at must be a string'],
  ])('%j is a 400 naming the field, on POST and PUT, and changes nothing', async (fields, message) => {
    const api = await as();
    expectError(await api.create(loose({ title: 'Bad', ...fields })), 400, 'VALIDATION_ERROR', message);
    const created = data(await api.create({ title: 'Good', priority: 'low', tags: ['keep'] }));
    expectError(await api.put(created.id, loose(fields)), 400, 'VALIDATION_ERROR', message);
    expect(data(await api.get(created.id))).toEqual(created);
    expect((await api.list()).json().data).toHaveLength(1);
  });

  it('PUT sets each, and tags: [] and due_at: null clear', async () => {
    const api = await as();
    const task = data(await api.create({ title: 'T', priority: 'low', tags: ['a'], due_at: '2026-12-24T17:00:00Z' }));
    const changed = data(await api.put(task.id, { priority: 'medium', tags: ['b', 'c'], due_at: '2027-01-01T00:00:00Z' }));
    expect(changed).toMatchObject({ priority: 'medium', tags: ['b', 'c'], due_at: '2027-01-01T00:00:00.000Z', title: 'T' });
    const cleared = data(await api.put(task.id, { tags: [], due_at: null }));
    expect(cleared).toMatchObject({ priority: 'medium', tags: [], due_at: null });
  });

  it('version: 1 at creation, +1 on every successful change (PUT, toggle, set), unchanged by a refused one', async () => {
    const api = await as();
    const task = data(await api.create({ title: 'V' }));
    expect(task.version).toBe(1);
    expect(data(await api.put(task.id, { title: 'V2' })).version).toBe(2);
    expect(data(await api.complete(task.id)).version).toBe(3);
    expect(data(await api.complete(task.id, { completed: true })).version).toBe(4);
    expectError(await api.put(task.id, loose({ priority: 'nope' })), 400, 'VALIDATION_ERROR');
    expect(data(await api.get(task.id)).version).toBe(4);
    expect(data(await api.put(task.id, {})).version).toBe(5);
  });

  it('completed_at: the instant of the change that completed it, kept while completed, null once pending', async () => {
    const api = await as();
    const task = data(await api.create({ title: 'C' }));
    const done = data(await api.complete(task.id));
    expect(done.completed).toBe(true);
    expect(done.completed_at).toBe(done.updated_at);
    // Staying completed (set again, or another field edited) keeps the instant.
    const again = data(await api.complete(task.id, { completed: true }));
    expect(again.completed_at).toBe(done.completed_at);
    expect(again.updated_at > done.updated_at).toBe(true);
    const edited = data(await api.put(task.id, { title: 'C2', completed: true }));
    expect(edited.completed_at).toBe(done.completed_at);
    // Pending clears it; completing through PUT stamps it anew.
    const pending = data(await api.complete(task.id));
    expect(pending).toMatchObject({ completed: false, completed_at: null });
    const viaPut = data(await api.put(task.id, { completed: true }));
    expect(viaPut.completed_at).toBe(viaPut.updated_at);
    expect(data(await api.put(task.id, { completed: false })).completed_at).toBeNull();
  });

  it('GET /tags: every tag with how many tasks carry it, most used first, then by name; case-insensitive; per user', async () => {
    const api = await as();
    const other = await as();
    expect((await api.tags()).json()).toEqual({ data: [], message: 'Tags retrieved successfully' });
    await api.create({ title: '1', tags: ['home', 'errands'] });
    await api.create({ title: '2', tags: ['Home', 'work'] });
    await api.create({ title: '3', tags: ['home', 'zebra'] });
    await api.create({ title: '4', tags: ['work', 'apple'] });
    await other.create({ title: 'theirs', tags: ['secret', 'home'] });
    const res = await api.tags();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      data: [
        { name: 'home', count: 3 },
        { name: 'work', count: 2 },
        { name: 'apple', count: 1 },
        { name: 'errands', count: 1 },
        { name: 'zebra', count: 1 },
      ],
      message: 'Tags retrieved successfully',
    });
    expect((await other.tags()).json().data).toEqual([
      { name: 'home', count: 1 },
      { name: 'secret', count: 1 },
    ]);
  });

  it('GET /tags needs the token of the path\'s user', async () => {
    const api = await as();
    expectError(await (await as(api.user, { token: null })).tags(), 401, 'UNAUTHORIZED');
    expectError(await (await as('someone-else', { token: await signToken(api.user) })).tags(), 403, 'FORBIDDEN');
  });
});
