/**
 * API.md, Version 3, "Feeds with lists and sharing": with include=lists, /changes and /events also
 * send list_upsert (the list as that member sees it) and list_delete; without it a version-2 client
 * gets task entries only, exactly as before; a cursor from either kind of answer works with the
 * other. Deleting a list gives each member a list_delete and a task delete for each of its tasks.
 * Sharing's routes are not built yet: `share()` makes a member in the database, as they will.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, routes, type Api } from '../helpers/api.js';
import { authHeader, buildTestApp, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse, type SseStream } from '../helpers/sse.js';

type Entry =
  | { type: 'upsert'; task: { id: number; title: string } }
  | { type: 'delete'; id: number }
  | { type: 'list_upsert'; list: { id: number; name: string; role: string; position: string; version: number } }
  | { type: 'list_delete'; id: number };
type Page = { changes: Entry[]; cursor: string; has_more: boolean };

/** An entry in a few characters, to compare sequences. */
const short = (e: Entry) =>
  e.type === 'upsert' ? `task ${e.task.title}` : e.type === 'delete' ? `-task ${e.id}` : e.type === 'list_upsert' ? `list ${e.list.name}@${e.list.position}` : `-list ${e.id}`;

describe.each(drivers)('lists in the feed [%s]', (driver) => {
  let t: TestApp;
  let url: string;
  const streams: SseStream[] = [];
  beforeAll(async () => {
    t = await buildTestApp(driver);
    url = await listen(t.app);
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await t?.close();
  });

  const as = async (user = uniqueUser()) => api(t.app, user);
  const changes = async (a: Api, query = '') => {
    const res = await a.changes(query);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().message).toBe('Changes retrieved successfully');
    return res.json().data as Page;
  };
  const share = (list: number, user: string, role: 'editor' | 'viewer', position = 'a5') =>
    t.database.rows('insert into list_members (list_id, user_id, role, position) values ($1, $2, $3, $4)', [list, user, role, position]);

  it('a snapshot with include=lists has the Inbox (made on the first request) and each list as the caller sees it; without it, tasks only, as before', async () => {
    const a = await as();
    const first = await changes(a, '?include=lists');
    const lists = (await a.lists()).json().data;
    expect(first).toEqual({ changes: [{ type: 'list_upsert', list: lists[0] }], cursor: expect.any(String), has_more: false });
    const v2 = await changes(a);
    expect(v2).toEqual({ changes: [], cursor: first.cursor, has_more: false });
    const list = (await a.createList({ name: 'Groceries' })).json().data;
    await a.create({ title: 'milk' });
    const snapshot = await changes(a, '?include=lists');
    expect(snapshot.changes.map(short)).toEqual(['list Inbox@a0', 'list Groceries@a1', 'task milk']);
    expect(snapshot.changes[1]).toEqual({ type: 'list_upsert', list });
    expect((await changes(a)).changes.map(short)).toEqual(['task milk']);
    // Unknown words are ignored; the words may have spaces around them.
    expect((await changes(a, '?include=bogus')).changes.map(short)).toEqual(['task milk']);
    expect((await changes(a, '?include=tags, lists ,x')).changes.map(short)).toEqual(snapshot.changes.map(short));
  });

  it('with since: creates, renames, the caller\'s positions and deletes of lists, in commit order among the tasks; a cursor from either answer works with the other', async () => {
    const a = await as();
    const { cursor } = await changes(a, '?include=lists');
    const v2cursor = (await changes(a)).cursor;
    expect(v2cursor).toBe(cursor);
    const list = (await a.createList({ name: 'Work' })).json().data;
    const task = (await a.create({ title: 'report' })).json().data;
    await a.putList(list.id, { name: 'Job' });
    await a.moveList(list.id);
    await a.complete(task.id);
    const other = (await a.createList({ name: 'Tmp' })).json().data;
    await a.delList(other.id);
    const withLists = await changes(a, `?include=lists&since=${cursor}`);
    expect(withLists.changes.map(short)).toEqual([`list Job@${(await a.getList(list.id)).json().data.position}`, 'task report', `-list ${other.id}`]);
    expect(withLists.changes[0]).toEqual({ type: 'list_upsert', list: (await a.getList(list.id)).json().data });
    const tasksOnly = await changes(a, `?since=${v2cursor}`);
    expect(tasksOnly.changes.map(short)).toEqual(['task report']);
    expect(tasksOnly.cursor).toBe(withLists.cursor);
    // The cursor of a tasks-only answer, used with include=lists, and the other way round.
    expect((await changes(a, `?include=lists&since=${tasksOnly.cursor}`)).changes).toEqual([]);
    await a.putList(list.id, { position: 'Zz' });
    expect((await changes(a, `?include=lists&since=${tasksOnly.cursor}`)).changes.map(short)).toEqual(['list Job@Zz']);
    expect((await changes(a, `?since=${withLists.cursor}`)).changes).toEqual([]);
  });

  it("each member's entries are their own: a rename reaches every member (their role, their position); a member's position only them", async () => {
    const [owner, member] = [await as(), await as()];
    const list = (await owner.createList({ name: 'Family' })).json().data;
    await share(list.id, member.user, 'editor', 'a7');
    const [o, m] = [(await changes(owner, '?include=lists')).cursor, (await changes(member, '?include=lists')).cursor];
    await owner.putList(list.id, { name: 'Home' });
    await member.putList(list.id, { position: 'a8' });
    expect((await changes(owner, `?include=lists&since=${o}`)).changes).toEqual([{ type: 'list_upsert', list: (await owner.getList(list.id)).json().data }]);
    const mine = (await changes(member, `?include=lists&since=${m}`)).changes;
    expect(mine).toEqual([{ type: 'list_upsert', list: { ...(await member.getList(list.id)).json().data, role: 'editor', position: 'a8', name: 'Home' } }]);
  });

  it('deleting a list: every member gets a delete of each of its tasks and a list_delete, each its own entry (pages of 1 miss none); a version-2 client the task deletes', async () => {
    const [owner, member] = [await as(), await as()];
    const list = (await owner.createList({ name: 'Doomed' })).json().data;
    await share(list.id, member.user, 'viewer');
    const ids: number[] = [];
    for (const title of ['a', 'b', 'c']) ids.push((await owner.create({ title })).json().data.id);
    await t.database.rows('update tasks set list_id = $1 where id = any($2::int[])', [list.id, ids]);
    const cursors = { owner: (await changes(owner, '?include=lists')).cursor, member: (await changes(member, '?include=lists')).cursor, v2: (await changes(owner)).cursor };
    expect((await owner.delList(list.id)).statusCode).toBe(200);
    const expected = [...ids.map((id) => ({ type: 'delete', id })), { type: 'list_delete', id: list.id }];
    expect((await changes(owner, `?include=lists&since=${cursors.owner}`)).changes).toEqual(expected);
    expect((await changes(member, `?include=lists&since=${cursors.member}`)).changes).toEqual(expected);
    expect((await changes(owner, `?since=${cursors.v2}`)).changes).toEqual(ids.map((id) => ({ type: 'delete', id })));
    // One entry a page: every one comes, once.
    const walked: Entry[] = [];
    let since = cursors.member;
    for (let i = 0; i < 10; i++) {
      const page = await changes(member, `?include=lists&limit=1&since=${since}`);
      walked.push(...page.changes);
      since = page.cursor;
      if (!page.has_more) break;
    }
    expect(walked).toEqual(expected);
    // The member's snapshot no longer has the list.
    expect((await changes(member, '?include=lists')).changes.map(short)).toEqual(['list Inbox@a0']);
  });

  it('/events?include=lists: list_upsert and list_delete events as they commit; without include, none', async () => {
    const user = uniqueUser();
    const a = await api(url, user);
    const auth = await authHeader(user);
    const withLists = await openSse(`${url}${routes.events(user)}?include=lists`, auth);
    const plain = await openSse(`${url}${routes.events(user)}`, auth);
    streams.push(withLists, plain);
    expect([withLists.status, plain.status]).toEqual([200, 200]);
    await withLists.next((e) => e.event === 'ready');
    await plain.next((e) => e.event === 'ready');
    const list = (await a.createList({ name: 'Live' })).json().data;
    const upsert = await withLists.next((e) => e.event === 'list_upsert');
    expect(JSON.parse(upsert.data)).toEqual({ type: 'list_upsert', list });
    expect(upsert.id).toEqual(expect.any(String));
    await a.create({ title: 'task' });
    await a.delList(list.id);
    const removed = await withLists.next((e) => e.event === 'list_delete');
    expect(JSON.parse(removed.data)).toEqual({ type: 'list_delete', id: list.id });
    await plain.next((e) => e.event === 'upsert');
    expect(plain.events.map((e) => e.event)).toEqual(['ready', 'upsert']);
    expect(withLists.events.map((e) => e.event)).toEqual(['ready', 'list_upsert', 'upsert', 'list_delete']);
    // Resuming with Last-Event-ID from the list_upsert replays what came after it.
    const resumed = await openSse(`${url}${routes.events(user)}?include=lists`, { ...auth, 'last-event-id': upsert.id as string });
    streams.push(resumed);
    await resumed.next((e) => e.event === 'list_delete');
    expect(resumed.events.map((e) => e.event)).toEqual(['ready', 'upsert', 'list_delete']);
  });
});
