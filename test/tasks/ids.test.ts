/**
 * A path id has one spelling, canonical decimal (API.md): every other spelling of 30 is a 400
 * naming `id` on every id route, DELETE included, and task 30 is untouched.
 *
 * The odd spellings stay raw inject: the typed client would encode them (`%2030` becomes
 * `%252030`) or refuse them as ids, and the point is the exact bytes of the path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, routes, type Api } from '../helpers/api.js';
import { authHeader, buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

const SPELLINGS_OF_30 = ['0x1e', '0o36', '0b11110', '3e1', '+30', '030', '30.', '30.0', '%2030', '30%20', '%2B30', '0030', '30e0', '%0930'];

describe.each(drivers)('path ids are canonical decimal only [%s]', (driver) => {
  let t: TestApp;
  let headers: Record<string, string>;
  let base: string;
  let as: Api;
  let task30: TaskJson;

  beforeAll(async () => {
    t = await buildTestApp(driver);
    const user = uniqueUser();
    headers = await authHeader(user);
    base = routes.tasks(user);
    as = await api(t.app, user);
    // The next id is 30 (a fresh database's identity, moved on).
    await t.database.sql`select setval(pg_get_serial_sequence('tasks', 'id'), 29)`;
    const created = await as.create({ title: 'task thirty', description: 'keep me' });
    task30 = created.json().data;
    expect(task30.id).toBe(30);
  });
  afterAll(async () => t?.close());

  it.each(SPELLINGS_OF_30)('%s: 400 naming id on GET, PUT, PATCH /complete and DELETE; task 30 untouched', async (spelling) => {
    for (const [method, suffix] of [['GET', ''], ['PUT', ''], ['PATCH', '/complete'], ['DELETE', '']] as const) {
      const res = await t.app.inject({ method, url: `${base}/${spelling}${suffix}`, headers, ...(method === 'PUT' ? { payload: { title: 'changed', completed: true } } : {}) });
      expectError(res, 400, 'VALIDATION_ERROR', 'id must be a positive integer no larger than 2147483647');
    }
    const now = await as.get(30);
    expect(now.statusCode).toBe(200);
    expect(now.json().data).toEqual(task30);
  });

  it('30 itself addresses task 30', async () => {
    expect((await as.get(30)).json().data).toEqual(task30);
  });
});
