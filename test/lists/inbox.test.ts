import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { anotherInstance, buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';

/** Every task is in a list; every user has exactly one default list, their Inbox, from their first request. */
describe.each(drivers)('the Inbox [%s]', (driver) => {
  let t: TestApp;
  let other: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
    other = await anotherInstance(t);
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  const inboxes = (user: string) =>
    t.database.rows<{ id: number; name: string; role: string }>(
      `select l.id, l.name, m.role from lists l join list_members m on m.list_id = l.id and m.user_id = l.owner_id where l.owner_id = $1 and l.is_default`,
      [user],
    );

  it('is made on the first request, whatever it is (a read, a refused write): one list named Inbox, owned by the user', async () => {
    const user = uniqueUser();
    expect(await inboxes(user)).toEqual([]);
    expect((await (await api(t.app, user)).get(1)).statusCode).toBe(404);
    expect(await inboxes(user)).toEqual([{ id: expect.any(Number), name: 'Inbox', role: 'owner' }]);
  });

  it('exactly one, however many first requests race on two instances', async () => {
    const user = uniqueUser();
    const [onT, onOther] = [await api(t.app, user), await api(other.app, user)];
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 === 0 ? onT : onOther).create({ title: `t${i}` }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(24).fill(201));
    const [inbox, ...more] = await inboxes(user);
    expect(more).toEqual([]);
    // Every task is in it.
    const placed = await t.database.rows<{ list_id: number; n: number }>('select list_id, count(*)::int as n from tasks where user_id = $1 group by list_id', [user]);
    expect(placed).toEqual([{ list_id: inbox?.id, n: 24 }]);
  });

  it('GET /lists under 20 concurrent first requests on two instances: every answer shows the one Inbox; renamable, never deletable', async () => {
    const user = uniqueUser();
    const [onT, onOther] = [await api(t.app, user), await api(other.app, user)];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? onT : onOther).lists()));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(20).fill(200));
    const [inbox, ...more] = await inboxes(user);
    expect(more).toEqual([]);
    for (const a of answers) expect(a.json().data.map((l: { id: number; name: string; is_default: boolean }) => [l.id, l.name, l.is_default])).toEqual([[inbox?.id, 'Inbox', true]]);
    expect((await onT.putList(inbox?.id as number, { name: 'Home' })).json().data).toMatchObject({ name: 'Home', is_default: true });
    expect((await onOther.delList(inbox?.id as number)).statusCode).toBe(409);
    expect((await inboxes(user)).map((l) => l.name)).toEqual(['Home']);
    // In the feed (with include=lists) once, at the start: no cursor comes before it.
    const snapshot = (await onT.changes('?include=lists')).json().data;
    expect(snapshot.changes.map((c: { type: string; list?: { id: number } }) => [c.type, c.list?.id])).toEqual([['list_upsert', inbox?.id]]);
  });

  it('an Inbox made before lists were in the feed (migration 0006) gets its feed entry on its owner\'s first request to a process', async () => {
    const user = uniqueUser();
    const [made] = await t.database.rows<{ id: number }>(
      `with l as (insert into lists (owner_id, name, is_default) values ($1, 'Inbox', true) returning id),
       m as (insert into list_members (list_id, user_id, role) select id, $1, 'owner' from l),
       u as (insert into user_changes (user_id) values ($1)) select id from l`,
      [user],
    );
    const snapshot = (await (await api(t.app, user)).changes('?include=lists')).json().data;
    expect(snapshot.changes.map((c: { type: string; list?: { id: number } }) => [c.type, c.list?.id])).toEqual([['list_upsert', made?.id]]);
  });

  it("tasks go to their creator's Inbox, never another user's, and answer as before (with version 3's keys added)", async () => {
    const [a, b] = [uniqueUser(), uniqueUser()];
    const created = await (await api(t.app, a)).create({ title: 'mine' });
    await (await api(t.app, b)).create({ title: 'theirs' });
    expect(Object.keys(created.json().data).sort()).toEqual(
      ['assignee_id', 'completed', 'completed_at', 'created_at', 'description', 'due_at', 'id', 'list_id', 'parent_id', 'position', 'priority', 'recurrence', 'reminders', 'repeat_from', 'tags', 'time_zone', 'title', 'uid', 'updated_at', 'user_id', 'version'],
    );
    const [row] = await t.database.rows<{ owner_id: string }>('select l.owner_id from tasks t join lists l on l.id = t.list_id where t.id = $1', [created.json().data.id]);
    expect(row).toEqual({ owner_id: a });
  });
});
