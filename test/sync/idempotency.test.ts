/**
 * API.md, Version 2, "Safe retries: Idempotency-Key": a retry replays (one effect), another
 * request with the same key is 422, a repeat while the first runs is 409, 5xx answers are not
 * kept, keys are per user; across instances too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

describe.each(drivers)('Idempotency-Key [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  async function as(user = uniqueUser(), app = () => t.app) {
    const call = await api(app, user);
    const count = async () => (await call.list()).json().data.length as number;
    return { user, call, count };
  }

  it('a retried create makes one task: the same status and body, with Idempotent-Replayed: true', async () => {
    const api = await as();
    const first = await api.call.create({ title: 'Once' }, { 'idempotency-key': 'create-1' });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      const again = await api.call.create({ title: 'Once' }, { 'idempotency-key': 'create-1' });
      expect({ status: again.statusCode, body: again.json(), replayed: again.headers['idempotent-replayed'], etag: again.headers.etag }).toEqual({
        status: 201,
        body: first.json(),
        replayed: 'true',
        etag: first.headers.etag,
      });
    }
    expect(await api.count()).toBe(1);
    // Another key makes another task.
    expect((await api.call.create({ title: 'Once' }, { 'idempotency-key': 'create-2' })).statusCode).toBe(201);
    expect(await api.count()).toBe(2);
  });

  it('a retried toggle toggles once; a retried delete deletes once and answers the same', async () => {
    const api = await as();
    const id = (await api.call.create({ title: 'Flip' })).json().data.id;
    const toggled = await api.call.complete(id, undefined, { 'idempotency-key': 'toggle-1' });
    const retried = await api.call.complete(id, undefined, { 'idempotency-key': 'toggle-1' });
    expect(retried.json()).toEqual(toggled.json());
    expect(retried.json().data.completed).toBe(true);
    expect((await api.call.get(id)).json().data).toMatchObject({ completed: true, version: 2 });

    const deleted = await api.call.del(id, { 'idempotency-key': 'delete-1' });
    const again = await api.call.del(id, { 'idempotency-key': 'delete-1' });
    expect({ status: again.statusCode, body: again.json() }).toEqual({ status: 200, body: deleted.json() });
    expect(await api.count()).toBe(0);
  });

  it('a client error is an answer too: replayed (a 404 stays a 404 for that key)', async () => {
    const api = await as();
    const missing = await api.call.put(2000000000, { title: 'x' }, { 'idempotency-key': 'put-missing' });
    expectError(missing, 404, 'NOT_FOUND');
    const again = await api.call.put(2000000000, { title: 'x' }, { 'idempotency-key': 'put-missing' });
    expectError(again, 404, 'NOT_FOUND');
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('the same key with another body, path or method is 422 IDEMPOTENCY_KEY_REUSED, and runs nothing', async () => {
    const api = await as();
    const id = (await api.call.create({ title: 'First' }, { 'idempotency-key': 'k' })).json().data.id;
    const message = 'This Idempotency-Key was used with another method, path or body';
    expectError(await api.call.create({ title: 'Second' }, { 'idempotency-key': 'k' }), 422, 'IDEMPOTENCY_KEY_REUSED', message);
    expectError(await api.call.put(id, { title: 'First' }, { 'idempotency-key': 'k' }), 422, 'IDEMPOTENCY_KEY_REUSED', message);
    expectError(await api.call.del(id, { 'idempotency-key': 'k' }), 422, 'IDEMPOTENCY_KEY_REUSED', message);
    expect(await api.count()).toBe(1);
    expect((await api.call.get(id)).json().data.title).toBe('First');
  });

  it('concurrent requests with one key, on two instances: one effect; the others replay or get 409 with Retry-After', async () => {
    const other = await anotherInstance(t);
    try {
      const user = uniqueUser();
      const one = await as(user);
      const two = await as(user, () => other.app);
      for (let round = 0; round < 5; round++) {
        const key = `burst-${round}`;
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? one : two).call.create({ title: `Burst ${round}` }, { 'idempotency-key': key })),
        );
        const created = results.filter((r) => r.statusCode === 201);
        const conflicts = results.filter((r) => r.statusCode === 409);
        expect(created.length + conflicts.length).toBe(8);
        expect(new Set(created.map((r) => r.json().data.id)).size).toBe(1);
        for (const c of conflicts) {
          expectError(c, 409, 'CONFLICT', 'A request with this Idempotency-Key is still running; retry in a moment');
          expect(c.headers['retry-after']).toBe('1');
        }
      }
      expect(await one.count()).toBe(5);
    } finally {
      await other.close();
    }
  });

  it('keys of one user never affect another user', async () => {
    const a = await as();
    const b = await as();
    const ra = await a.call.create({ title: 'A' }, { 'idempotency-key': 'shared' });
    const rb = await b.call.create({ title: 'B' }, { 'idempotency-key': 'shared' });
    expect([ra.statusCode, rb.statusCode]).toEqual([201, 201]);
    expect(rb.headers['idempotent-replayed']).toBeUndefined();
    expect(rb.json().data.user_id).toBe(b.user);
  });

  it('a 5xx answer is not kept: the retry runs again', async () => {
    const api = await as();
    // The database refuses this write (a trigger the test installs) until a marker table exists.
    await t.database.sql.unsafe(`
      create or replace function fail_once() returns trigger language plpgsql as $$
      begin
        if new.title = 'fail once' and not exists (select 1 from pg_class where relname = 'fail_once_done') then
          raise exception 'injected failure';
        end if;
        return new;
      end $$;
      drop trigger if exists fail_once on tasks;
      create trigger fail_once before insert on tasks for each row execute function fail_once();`);
    try {
      const failed = await api.call.create({ title: 'fail once' }, { 'idempotency-key': 'flaky' });
      expect(failed.statusCode).toBe(500);
      await t.database.sql.unsafe('create table if not exists fail_once_done ()');
      const retried = await api.call.create({ title: 'fail once' }, { 'idempotency-key': 'flaky' });
      expect(retried.statusCode).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      expect(await api.count()).toBe(1);
    } finally {
      await t.database.sql.unsafe('drop trigger if exists fail_once on tasks; drop function if exists fail_once(); drop table if exists fail_once_done');
    }
  });

  it.each([
    ['x'.repeat(256), 'idempotency-key must be 1 to 255 printable ASCII characters'],
    ['tab\there', 'idempotency-key must be 1 to 255 printable ASCII characters'],
    ['naïve', 'idempotency-key must be 1 to 255 printable ASCII characters'],
  ])('an Idempotency-Key outside 1-255 printable ASCII is a 400 (%#)', async (key, message) => {
    const api = await as();
    expectError(await api.call.create({ title: 'x' }, { 'idempotency-key': key }), 400, 'VALIDATION_ERROR', message);
    expect(await api.count()).toBe(0);
  });
});
