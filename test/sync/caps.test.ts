import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

/** What is kept for one user is bounded: Idempotency-Key answers and deletion records (docs/API.md, "Limits"). */
describe.each(drivers)('per-user bounds on what is kept [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { idempotencyMaxKeysPerUser: 3, syncMaxDeletionsPerUser: 5 });
  });
  afterAll(async () => t?.close());

  const count = async (sql: string, user: string) => (await t.database.rows<{ n: number }>(sql, [user]))[0]?.n;

  it('IDEMPOTENCY_MAX_KEYS_PER_USER (3 here): a new answer replaces the oldest; the newest 3 still replay; another user is untouched', async () => {
    const user = uniqueUser();
    const other = uniqueUser();
    const [mine, otherUsers] = [await api(t.app, user), await api(t.app, other)];
    const create = (as: Api, key: string) => as.create({ title: 'once' }, { 'idempotency-key': key });

    const theirs = await create(otherUsers, 'k1');
    expect(theirs.statusCode).toBe(201);
    const first: number[] = [];
    for (const key of ['k1', 'k2', 'k3', 'k4', 'k5']) {
      const res = await create(mine, key);
      expect(res.statusCode).toBe(201);
      expect(res.headers['idempotent-replayed']).toBeUndefined();
      first.push(res.json().data.id);
    }
    expect(await count('select count(*)::int as n from idempotency_keys where user_id = $1', user)).toBe(3);
    // The newest three replay: same status and body, nothing created.
    for (const [i, key] of (['k3', 'k4', 'k5'] as const).entries()) {
      const again = await create(mine, key);
      expect(again.statusCode).toBe(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().data.id).toBe(first[i + 2]);
    }
    // The oldest was forgotten, as after 24 hours: a retry of it runs again.
    const forgotten = await create(mine, 'k1');
    expect(forgotten.statusCode).toBe(201);
    expect(forgotten.headers['idempotent-replayed']).toBeUndefined();
    expect(forgotten.json().data.id).not.toBe(first[0]);
    expect((await mine.list()).json().data).toHaveLength(6);
    // Another user's key of the same name still replays.
    const replayed = await create(otherUsers, 'k1');
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json().data.id).toBe(theirs.json().data.id);
  });

  it('SYNC_MAX_DELETIONS_PER_USER (5 here): deletion records of the last 5 changes are kept; a cursor from before them is 410, one just after is exact', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const changes = (since?: string) => as.changes(since ? { since } : {});
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push((await as.create({ title: `t${i}` })).json().data.id);
    // A cursor after each change: cursors[k] is "everything up to change k" (10 creates, then 10 deletes).
    const cursors: string[] = [(await changes()).json().data.cursor];
    for (const id of ids) {
      expect((await as.del(id)).statusCode).toBe(200);
      cursors.push((await changes(cursors.at(-1))).json().data.cursor);
    }
    expect(await count('select count(*)::int as n from feed_entries where user_id = $1 and deleted', user)).toBe(5);
    // Changes 16-20 are the last five deletions: from change 15 on, every deletion is still there.
    const exact = await changes(cursors[5]);
    expect(exact.statusCode).toBe(200);
    expect(exact.json().data.changes).toEqual(ids.slice(5).map((id) => ({ type: 'delete', id })));
    // From change 14, the deletion at change 15 is gone: expired, never a silent gap.
    for (const stale of [cursors[4], cursors[0]]) expectError(await changes(stale), 410, 'CURSOR_EXPIRED');
  });
});
