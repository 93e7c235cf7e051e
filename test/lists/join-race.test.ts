/**
 * API.md, Version 3, "Feeds with lists and sharing": every member's replica is exact, also for a
 * write that waited while the list gained a member. The owner's feed counter is held by a
 * transaction of the test, so that an accepted invitation and then a create and an edit of the
 * list's tasks queue behind it, in that order; once it lets go, the join commits first and the two
 * writes after it. The new member's `/changes` must then hold the task created and the edit: a
 * write that took the list's members from before its wait (its statement's snapshot) recorded them
 * in the old members' feeds only, and the new member's replica missed both for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/process.js';

type Entry = { type: 'upsert'; task: { id: number; title: string } } | { type: 'delete'; id: number };

describe.each(drivers)('writes that waited for a join [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  /** Until `n` statements of this database wait for a lock (at most 10 s). */
  const waitingForLocks = (n: number) =>
    waitFor(`${n} statements waiting for a lock`, async () => {
      const [row] = await t.database.rows<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
        [],
      );
      return (row?.n ?? 0) >= n;
    }, 10_000, 10);

  it("a create and an edit that waited while the list gained a member are in the new member's feed", async () => {
    const owner = await api(t.app, uniqueUser());
    const joiner = await api(t.app, uniqueUser());
    expect((await joiner.list()).statusCode).toBe(200); // their Inbox and feed counter
    const list = (await owner.createList({ name: 'Shared' })).json().data;
    const before = (await owner.create({ title: 'before', list_id: list.id })).json().data;
    const token = (await owner.sharing.invite(list.id, { role: 'editor' })).json().data.token;

    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held!: () => void;
    const isHeld = new Promise<void>((r) => (held = r));
    const holder = t.database.transaction(async (tx) => {
      await tx.rows('select 1 from user_changes where user_id = $1 for update', [owner.user]);
      held();
      await released;
    });
    await isHeld;
    const accepted = joiner.sharing.accept(token);
    await waitingForLocks(1);
    const created = owner.create({ title: 'created while they joined', list_id: list.id });
    await waitingForLocks(2);
    const edited = owner.put(before.id, { title: 'edited while they joined' });
    await waitingForLocks(3);
    release();
    await holder;
    expect((await accepted).statusCode).toBe(200);
    expect((await created).statusCode).toBe(201);
    expect((await edited).statusCode).toBe(200);

    const feed = await joiner.changes();
    expect(feed.statusCode).toBe(200);
    const titles = (feed.json().data.changes as Entry[]).flatMap((e) => (e.type === 'upsert' ? [e.task.title] : [])).sort();
    expect(titles).toEqual(['created while they joined', 'edited while they joined']);
    // And the list as they read it now is the same.
    const now = (await joiner.list(`?list_id=${list.id}`)).json().data.map((x: { title: string }) => x.title).sort();
    expect(now).toEqual(titles);
  });
});
