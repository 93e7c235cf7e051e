/**
 * API.md, Version 2, "Sync": GET /tasks/changes. A snapshot, increments, deletions (nothing of the
 * task kept), pages, expiry, isolation; and a stress run: writers on two instances while a client
 * pulls /changes from its last cursor into a replica, which ends equal to the server every time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

type Change = { type: 'upsert'; task: TaskJson } | { type: 'delete'; id: number };
type Page = { changes: Change[]; cursor: string; has_more: boolean };

describe.each(drivers)('GET /tasks/changes [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  async function as(user = uniqueUser(), app = () => t.app) {
    const call = await api(app, user);
    const changes = async (query = '') => {
      const res = await call.changes(query);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().message).toBe('Changes retrieved successfully');
      return res.json().data as Page;
    };
    const create = async (title: string) => (await call.create({ title })).json().data as TaskJson;
    return { user, call, changes, create };
  }

  it('without since: every current task as an upsert, in the order of their last change, and where the snapshot ends', async () => {
    const api = await as();
    expect(await api.changes()).toEqual({ changes: [], cursor: expect.any(String), has_more: false });
    const a = await api.create('a');
    const b = await api.create('b');
    const c = await api.create('c');
    await api.call.put(a.id, { title: 'a2' });
    await api.call.del(b.id);
    const snapshot = await api.changes();
    expect(snapshot.changes.map((x) => (x.type === 'upsert' ? x.task.title : `-${x.id}`))).toEqual(['c', 'a2']);
    expect(snapshot.changes[0]).toEqual({ type: 'upsert', task: (await api.call.get(c.id)).json().data });
    expect(snapshot.has_more).toBe(false);
  });

  it('with since: each task changed after it once (as it is now), deletions as {type, id}, in commit order', async () => {
    const api = await as();
    const a = await api.create('a');
    const b = await api.create('b');
    const { cursor } = await api.changes();
    expect((await api.changes(`?since=${cursor}`)).changes).toEqual([]);
    await api.call.put(a.id, { title: 'a2' });
    const c = await api.create('c');
    await api.call.complete(a.id);
    await api.call.del(b.id);
    const page = await api.changes(`?since=${cursor}`);
    expect(page.changes.map((x) => (x.type === 'upsert' ? `${x.task.title}@${x.task.version}` : `delete ${x.id}`))).toEqual(['c@1', 'a2@3', `delete ${b.id}`]);
    expect(page.changes.at(-1)).toEqual({ type: 'delete', id: b.id });
    // From the new cursor: nothing; then only what came after.
    expect((await api.changes(`?since=${page.cursor}`)).changes).toEqual([]);
    await api.call.del(c.id);
    expect((await api.changes(`?since=${page.cursor}`)).changes).toEqual([{ type: 'delete', id: c.id }]);
  });

  it('a deleted task keeps only what sync needs: id, sequence, time', async () => {
    const api = await as();
    const secret = await api.create('Call my lawyer about the account');
    await api.call.del(secret.id);
    const rows = await t.database.sql`select * from feed_entries where user_id = ${api.user} and deleted`;
    expect(rows.map((r) => Object.keys(r).sort())).toEqual([['changed_at', 'deleted', 'entity_id', 'kind', 'seq', 'user_id']]);
    expect(JSON.stringify(rows)).not.toContain('lawyer');
  });

  it('pages: limit cuts the answer, has_more says so, and the cursors walk every change exactly once', async () => {
    const api = await as();
    for (let i = 0; i < 7; i++) await api.create(`t${i}`);
    const seen: string[] = [];
    let page = await api.changes('?limit=3');
    seen.push(...page.changes.map((x) => (x.type === 'upsert' ? x.task.title : '')));
    expect(page.has_more).toBe(true);
    while (page.has_more) {
      page = await api.changes(`?limit=3&since=${page.cursor}`);
      seen.push(...page.changes.map((x) => (x.type === 'upsert' ? x.task.title : '')));
    }
    expect(seen).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6']);
  });

  it('isolation: another user\'s changes never appear; their cursor only moves within one\'s own', async () => {
    const a = await as();
    const b = await as();
    await a.create('mine');
    await b.create('theirs');
    expect((await a.changes()).changes.map((x) => x.type === 'upsert' && x.task.user_id)).toEqual([a.user]);
    const theirCursor = (await b.changes()).cursor;
    expect((await a.changes(`?since=${theirCursor}`)).changes.every((x) => x.type === 'delete' || x.task.user_id === a.user)).toBe(true);
  });

  it.each([
    ['?since=abc', 'since is not a cursor of this API (take cursor from /changes or id from the event stream)'],
    [`?since=${Buffer.from('s:-1').toString('base64url')}`, 'since is not a cursor of this API (take cursor from /changes or id from the event stream)'],
    ['?since=', 'since must not be empty'],
    ['?limit=0', 'limit must be >= 1'],
    ['?limit=1001', 'limit must be <= 1000'],
  ])('%s is a 400 naming the parameter', async (query, message) => {
    expectError(await (await as()).call.changes(query), 400, 'VALIDATION_ERROR', message);
  });

  it('a cursor older than the deletions kept is 410 CURSOR_EXPIRED; starting again without since works', async () => {
    const short = await anotherInstance(t, { syncRetentionDays: 0.00001, syncPurgeIntervalMs: 100 });
    try {
      const api = await as(uniqueUser(), () => short.app);
      const task = await api.create('soon gone');
      const { cursor } = await api.changes();
      await api.call.del(task.id);
      // Retention is about 0.9 s; the purge runs every 100 ms.
      const deadline = Date.now() + 10_000;
      let res = await api.call.changes(`?since=${cursor}`);
      while (res.statusCode === 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        res = await api.call.changes(`?since=${cursor}`);
      }
      expectError(res, 410, 'CURSOR_EXPIRED', 'The cursor is older than the deletions kept (0.00001 days): start again without since');
      expect((await api.changes()).changes).toEqual([]);
    } finally {
      await short.close();
    }
  });
});

describe.each(drivers)('a replica kept by /changes while two instances write [%s]', (driver) => {
  let one: TestApp;
  let two: TestApp;
  beforeAll(async () => {
    one = await buildTestApp(driver);
    two = await anotherInstance(one);
  });
  afterAll(async () => {
    await two?.close();
    await one?.close();
  });

  it('ends equal to the server, every time', async () => {
    for (let run = 0; run < 3; run++) {
      const user = uniqueUser();
      const [onOne, onTwo] = [await api(one.app, user), await api(two.app, user)];
      const on = (app: TestApp) => (app === one ? onOne : onTwo);
      const replica = new Map<number, TaskJson>();
      let cursor: string | undefined;
      const pull = async () => {
        for (;;) {
          const res = await on(one).changes(`?limit=25${cursor ? `&since=${cursor}` : ''}`);
          const page = res.json().data as Page;
          for (const c of page.changes) {
            if (c.type === 'upsert') replica.set(c.task.id, c.task);
            else replica.delete(c.id);
          }
          cursor = page.cursor;
          if (!page.has_more) return;
        }
      };
      const ids: number[] = [];
      const writer = async (app: TestApp, w: number) => {
        for (let i = 0; i < 40; i++) {
          const r = (i * 7 + w) % 10;
          if (r < 4 || ids.length < 3) {
            const res = await on(app).create({ title: `w${w}-${i}`, tags: [`w${w}`] });
            if (res.statusCode === 201) ids.push(res.json().data.id);
          } else if (r < 7) await on(app).put(ids[(i * 13) % ids.length] as number, { title: `edit w${w}-${i}`, priority: 'high' });
          else if (r < 9) await on(app).complete(ids[(i * 5) % ids.length] as number);
          else await on(app).del(ids.splice((i * 3) % ids.length, 1)[0] as number);
        }
      };
      let writing = true;
      const puller = (async () => {
        while (writing) await pull();
      })();
      await Promise.all([writer(one, 0), writer(two, 1), writer(one, 2), writer(two, 3)]);
      writing = false;
      await puller;
      await pull();
      const server = (await on(two).list('?limit=200')).json().data as TaskJson[];
      expect([...replica.values()].sort((a, b) => a.id - b.id)).toEqual([...server].sort((a, b) => a.id - b.id));
    }
  }, 60_000);
});
