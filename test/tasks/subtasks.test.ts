/**
 * Subtasks (API.md, version 3, "Tasks in lists"): `parent_id` in the same list, at most 5 levels, no
 * cycles; completing completes the pending descendants, reopening reopens the completed ancestors,
 * deleting deletes the descendants, moving to another list moves the subtree; each task changed is a
 * change of its own (version + 1, its own feed entry). Roles and other lists: a list the caller is
 * not a member of is a 404, one they only read a 403 naming the role. (Lists other than the Inbox are
 * made with SQL until the Lists routes land: test/helpers/list-fixtures.ts.)
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, routes, type Api } from '../helpers/api.js';
import { authHeader, buildTestApp, expectError, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse } from '../helpers/sse.js';
import { makeList } from '../helpers/list-fixtures.js';
import type { TaskJson } from '../helpers/task-json.js';

type Change = { type: 'upsert'; task: TaskJson } | { type: 'delete'; id: number };

describe.each(drivers)('subtasks [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxTasksPerUser: 40 });
  });
  afterAll(async () => t?.close());

  const create = async (as: Api, title: string, extra: object = {}) => {
    const res = await as.create(loose({ title, ...extra }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data as TaskJson;
  };
  /** A chain: each task the child of the one before; the first at the top level. */
  const chain = async (as: Api, n: number, extra: object = {}) => {
    const tasks: TaskJson[] = [];
    for (let i = 0; i < n; i++) tasks.push(await create(as, `level ${i + 1}`, { ...extra, ...(i > 0 ? { parent_id: tasks[i - 1]?.id } : {}) }));
    return tasks;
  };
  const all = async (as: Api) => new Map(((await as.list()).json().data as TaskJson[]).map((x) => [x.id, x]));
  const since = async (as: Api, cursor: string) => (await as.changes({ since: cursor })).json().data as { changes: Change[]; cursor: string };
  const cursorOf = async (as: Api) => (await as.changes()).json().data.cursor as string;

  it('a subtask names its parent; ?parent_id= lists the children, ?parent_id=none the top level', async () => {
    const as = await api(t.app, uniqueUser());
    const root = await create(as, 'root');
    const [c1, c2] = [await create(as, 'c1', { parent_id: root.id }), await create(as, 'c2', { parent_id: root.id })];
    expect([c1.parent_id, c1.position, c2.position]).toEqual([root.id, 'a0', 'a1']);
    const ids = async (q: string) => (await as.list(q)).json().data.map((x: TaskJson) => x.id);
    expect(await ids(`?parent_id=${root.id}&sort=position`)).toEqual([c1.id, c2.id]);
    expect(await ids('?parent_id=none')).toEqual([root.id]);
    expectError(await as.list('?parent_id=top'), 400, 'VALIDATION_ERROR', 'parent_id must be a task id or none');
    expectError(await as.list('?parent_id=0'), 400, 'VALIDATION_ERROR', 'parent_id must be a task id or none');
  });

  it('at most 5 levels: a 6th is a 400 naming parent_id, on POST, PUT and move', async () => {
    const as = await api(t.app, uniqueUser());
    const five = await chain(as, 5);
    const deepest = five[4] as TaskJson;
    expectError(await as.create({ title: 'sixth', parent_id: deepest.id }), 400, 'VALIDATION_ERROR', 'parent_id would make more than 5 levels of subtasks');
    // A task with a child of its own cannot go under level 4.
    const pair = await chain(as, 2);
    expectError(await as.put((pair[0] as TaskJson).id, { parent_id: (five[3] as TaskJson).id }), 400, 'VALIDATION_ERROR', 'parent_id would make more than 5 levels of subtasks');
    expectError(await as.move((pair[0] as TaskJson).id, { parent_id: (five[3] as TaskJson).id }), 400, 'VALIDATION_ERROR', 'parent_id would make more than 5 levels of subtasks');
    expect((await as.put((pair[0] as TaskJson).id, { parent_id: (five[2] as TaskJson).id })).statusCode).toBe(200);
    expect((await as.list()).json().data).toHaveLength(7);
  });

  it('a cycle, a parent of another list or one the caller cannot see: 400 naming parent_id, nothing changes', async () => {
    const [as, other] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    const [a, b, c] = await chain(as, 3);
    expectError(await as.put((a as TaskJson).id, { parent_id: (c as TaskJson).id }), 400, 'VALIDATION_ERROR', 'parent_id would make a cycle: a task cannot be under itself or its own subtask');
    expectError(await as.put((b as TaskJson).id, { parent_id: (b as TaskJson).id }), 400, 'VALIDATION_ERROR', 'parent_id would make a cycle: a task cannot be under itself or its own subtask');
    const theirs = await create(other, 'theirs');
    expectError(await as.create({ title: 'x', parent_id: theirs.id }), 400, 'VALIDATION_ERROR', 'parent_id must be a task of the same list');
    expectError(await as.put((a as TaskJson).id, { parent_id: theirs.id }), 400, 'VALIDATION_ERROR', 'parent_id must be a task of the same list');
    const groceries = await makeList(t.database, as);
    const elsewhere = await create(as, 'elsewhere', { list_id: groceries });
    expectError(await as.create({ title: 'x', parent_id: elsewhere.id }), 400, 'VALIDATION_ERROR', 'parent_id must be a task of the same list');
    expectError(await as.create({ title: 'x', list_id: groceries, parent_id: (a as TaskJson).id }), 400, 'VALIDATION_ERROR', 'parent_id must be a task of the same list');
    const now = await all(as);
    expect([...now.values()].map((x) => x.version)).toEqual([1, 1, 1, 1]);
  });

  it('completing completes the pending descendants, each its own change (version + 1, its own feed entry); already completed ones are left', async () => {
    const as = await api(t.app, uniqueUser());
    const [root, mid, leaf] = await chain(as, 3);
    const sibling = await create(as, 'sibling', { parent_id: (root as TaskJson).id });
    expect((await as.complete((sibling as TaskJson).id, { completed: true })).statusCode).toBe(200);
    const cursor = await cursorOf(as);
    const done = await as.complete((root as TaskJson).id, { completed: true });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toEqual({ data: expect.objectContaining({ id: (root as TaskJson).id, completed: true, version: 2 }), message: 'Task marked as completed' });
    const now = await all(as);
    for (const task of [mid, leaf] as TaskJson[]) expect(now.get(task.id)).toMatchObject({ completed: true, version: 2, completed_at: done.json().data.completed_at });
    expect(now.get(sibling.id)).toMatchObject({ completed: true, version: 2 });
    const feed = await since(as, cursor);
    expect(feed.changes.map((c) => (c.type === 'upsert' ? [c.task.id, c.task.version, c.task.completed] : c))).toEqual(
      [root, mid, leaf].map((x) => [(x as TaskJson).id, 2, true]),
    );
  });

  it('the event stream carries each task a cascade changed: one event each, in the order of their feed entries', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const [root, mid, leaf] = (await chain(as, 3)) as [TaskJson, TaskJson, TaskJson];
    const url = await listen(t.app);
    const stream = await openSse(`${url}${routes.events(user)}`, await authHeader(user));
    try {
      await stream.next((e) => e.event === 'ready');
      expect((await as.complete(root.id, { completed: true })).statusCode).toBe(200);
      await stream.next((e) => e.event === 'upsert' && JSON.parse(e.data).task.id === leaf.id, 5000);
      expect((await as.del(root.id)).statusCode).toBe(200);
      await stream.next((e) => e.event === 'delete' && JSON.parse(e.data).id === leaf.id, 5000);
      const seen = stream.events.filter((e) => e.event !== 'ready').map((e) => [e.event, e.event === 'upsert' ? JSON.parse(e.data).task.id : JSON.parse(e.data).id]);
      expect(seen).toEqual([...[root, mid, leaf].map((x) => ['upsert', x.id]), ...[root, mid, leaf].map((x) => ['delete', x.id])]);
      const ids = stream.events.filter((e) => e.event !== 'ready').map((e) => e.id);
      expect(new Set(ids).size).toBe(6);
    } finally {
      stream.close();
    }
  });

  it('reopening reopens the completed ancestors (and only them); a toggle cascades the same way', async () => {
    const as = await api(t.app, uniqueUser());
    const [root, mid, leaf] = (await chain(as, 3)) as [TaskJson, TaskJson, TaskJson];
    const aunt = await create(as, 'aunt', { parent_id: root.id });
    expect((await as.complete(root.id)).json().message).toBe('Task marked as completed');
    const cursor = await cursorOf(as);
    const reopened = await as.complete(leaf.id);
    expect(reopened.json()).toEqual({ data: expect.objectContaining({ id: leaf.id, completed: false, completed_at: null, version: 3 }), message: 'Task marked as pending' });
    const now = await all(as);
    expect(now.get(root.id)).toMatchObject({ completed: false, completed_at: null, version: 3 });
    expect(now.get(mid.id)).toMatchObject({ completed: false, version: 3 });
    expect(now.get(aunt.id)).toMatchObject({ completed: true, version: 2 });
    const feed = await since(as, cursor);
    expect(feed.changes.map((c) => (c.type === 'upsert' ? c.task.id : c)).sort()).toEqual([root.id, mid.id, leaf.id].sort());
    // PUT completed: false cascades too.
    await as.complete(root.id, { completed: true });
    expect((await as.put(mid.id, { completed: false })).statusCode).toBe(200);
    const after = await all(as);
    expect([after.get(root.id)?.completed, after.get(mid.id)?.completed, after.get(leaf.id)?.completed]).toEqual([false, false, true]);
  });

  it('deleting deletes the descendants: each gone, each a delete in the feed; the task limit counts them back', async () => {
    const as = await api(t.app, uniqueUser());
    const [root, mid, leaf] = (await chain(as, 3)) as [TaskJson, TaskJson, TaskJson];
    const keep = await create(as, 'keep');
    const cursor = await cursorOf(as);
    const res = await as.del(root.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: expect.objectContaining({ id: root.id }), message: 'Task deleted successfully' });
    for (const x of [root, mid, leaf]) expectError(await as.get(x.id), 404, 'NOT_FOUND', 'Task not found');
    expect([...(await all(as)).keys()]).toEqual([keep.id]);
    const feed = await since(as, cursor);
    expect(feed.changes).toEqual([root, mid, leaf].map((x) => ({ type: 'delete', id: x.id })));
  });

  it('moving to another list moves the subtree; a subtask moved alone must name parent_id', async () => {
    const as = await api(t.app, uniqueUser());
    const groceries = await makeList(t.database, as);
    const [root, mid, leaf] = (await chain(as, 3)) as [TaskJson, TaskJson, TaskJson];
    expectError(await as.put(mid.id, { list_id: groceries }), 400, 'VALIDATION_ERROR', 'parent_id is required when a subtask moves to another list: null, or a task of that list');
    expectError(await as.move(mid.id, { list_id: groceries }), 400, 'VALIDATION_ERROR', 'parent_id is required when a subtask moves to another list: null, or a task of that list');
    const cursor = await cursorOf(as);
    const moved = await as.put(root.id, { list_id: groceries });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().data).toMatchObject({ list_id: groceries, parent_id: null, position: 'a0', version: 2 });
    const now = await all(as);
    expect(now.get(mid.id)).toMatchObject({ list_id: groceries, parent_id: root.id, version: 2 });
    expect(now.get(leaf.id)).toMatchObject({ list_id: groceries, parent_id: mid.id, version: 2 });
    expect((await as.list({ list_id: groceries })).json().data.map((x: TaskJson) => x.id).sort()).toEqual([root.id, mid.id, leaf.id].sort());
    expect((await since(as, cursor)).changes).toHaveLength(3);
    // The subtask moved back alone, naming where: top level of the Inbox.
    const inbox = (await create(as, 'in the inbox')).list_id;
    const back = await as.move(leaf.id, { list_id: inbox, parent_id: null });
    expect(back.json().data).toMatchObject({ list_id: inbox, parent_id: null, version: 3 });
  });

  it('another list: not a member is a 404 naming the list, a viewer gets a 403 naming the role, an editor writes', async () => {
    const [owner, me] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    await me.list();
    const viewed = await makeList(t.database, owner, { [me.user]: 'viewer' });
    const edited = await makeList(t.database, owner, { [me.user]: 'editor' });
    const stranger = await makeList(t.database, owner);
    expectError(await me.create({ title: 'x', list_id: stranger }), 404, 'NOT_FOUND', 'List not found');
    expectError(await me.create({ title: 'x', list_id: viewed }), 403, 'FORBIDDEN', 'Adding tasks to this list needs the editor role');
    expectError(await me.list({ list_id: stranger }), 404, 'NOT_FOUND', 'List not found');
    expect((await me.list({ list_id: viewed })).statusCode).toBe(200);
    const mine = await create(me, 'mine');
    expectError(await me.put(mine.id, { list_id: stranger }), 404, 'NOT_FOUND', 'List not found');
    expectError(await me.move(mine.id, { list_id: viewed }), 403, 'FORBIDDEN', 'Adding tasks to that list needs the editor role');
    const shared = await create(me, 'shared', { list_id: edited, assignee_id: owner.user });
    expect(shared).toMatchObject({ list_id: edited, assignee_id: owner.user, user_id: me.user });
    // The owner sees it; a task of the viewed list is read-only for me.
    expect((await owner.get(shared.id)).statusCode).toBe(200);
    const theirs = await create(owner, 'theirs', { list_id: viewed });
    expectError(await me.put(theirs.id, { title: 'mine now' }), 403, 'FORBIDDEN', "Changing this list's tasks needs the editor role");
    expectError(await me.complete(theirs.id), 403, 'FORBIDDEN', "Changing this list's tasks needs the editor role");
    expectError(await me.del(theirs.id), 403, 'FORBIDDEN', "Changing this list's tasks needs the editor role");
    expectError(await me.move(theirs.id, {}), 403, 'FORBIDDEN', "Changing this list's tasks needs the editor role");
    expect((await owner.get(theirs.id)).json().data.version).toBe(1);
  });

  it('assignee_id: a member of the list or null, else a 400 naming it; reset when the task moves to a list the assignee is not in', async () => {
    const [as, friend] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    await friend.list();
    const shared = await makeList(t.database, as, { [friend.user]: 'editor' });
    const solo = await makeList(t.database, as);
    expectError(await as.create({ title: 'x', assignee_id: friend.user }), 400, 'VALIDATION_ERROR', "assignee_id must be null or a member of the task's list");
    const task = await create(as, 'x', { list_id: shared, assignee_id: friend.user });
    expect((await as.list({ assignee_id: friend.user })).json().data.map((x: TaskJson) => x.id)).toEqual([task.id]);
    expectError(await as.put(task.id, { assignee_id: 'nobody' }), 400, 'VALIDATION_ERROR', "assignee_id must be null or a member of the task's list");
    expect((await as.put(task.id, { assignee_id: as.user })).json().data.assignee_id).toBe(as.user);
    expect((await as.put(task.id, { assignee_id: friend.user })).json().data.assignee_id).toBe(friend.user);
    const moved = await as.move(task.id, { list_id: solo });
    expect(moved.json().data).toMatchObject({ list_id: solo, assignee_id: null });
    // The friend, who is not in the solo list, was told the task left their sight.
    const theirFeed = (await friend.changes()).json().data.changes as Change[];
    expect(theirFeed).toEqual([]);
  });

  it('MAX_TASKS_PER_USER counts the tasks in the lists one owns: a create or a move beyond is 403 TASK_LIMIT_REACHED and changes nothing', async () => {
    const small = await buildTestApp(driver, { maxTasksPerUser: 3 });
    try {
      const [owner, me] = [await api(small.app, uniqueUser()), await api(small.app, uniqueUser())];
      await me.list();
      const theirs = await makeList(small.database, owner, { [me.user]: 'editor' });
      for (let i = 0; i < 3; i++) await create(owner, `o${i}`, { list_id: theirs });
      const mine = await chain(me, 2);
      // The owner's lists hold 3: my task cannot go there, whoever creates or moves it.
      expectError(await me.create({ title: 'x', list_id: theirs }), 403, 'TASK_LIMIT_REACHED');
      expectError(await me.put((mine[0] as TaskJson).id, { list_id: theirs }), 403, 'TASK_LIMIT_REACHED');
      expect((await me.get((mine[0] as TaskJson).id)).json().data).toMatchObject({ version: 1, list_id: (mine[0] as TaskJson).list_id });
      // Deleting a subtree gives its count back.
      const owned = (await owner.list({ list_id: theirs })).json().data as TaskJson[];
      await owner.del((owned[0] as TaskJson).id);
      expect((await me.create({ title: 'fits', list_id: theirs })).statusCode).toBe(201);
      await me.del((mine[0] as TaskJson).id);
      for (let i = 0; i < 3; i++) expect((await me.create({ title: `again ${i}` })).statusCode).toBe(201);
      expectError(await me.create({ title: 'one too many' }), 403, 'TASK_LIMIT_REACHED');
    } finally {
      await small.close();
    }
  });

  it('creates racing for the last places of MAX_TASKS_PER_USER: as many as fit are made, the others are 403 TASK_LIMIT_REACHED and leave nothing', async () => {
    const small = await buildTestApp(driver, { maxTasksPerUser: 5 });
    try {
      const as = await api(small.app, uniqueUser());
      for (let i = 0; i < 3; i++) await create(as, `t${i}`);
      const cursor = (await as.changes()).json().data.cursor as string;
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => as.create({ title: `race ${round}.${i}` })));
        const made = answers.filter((a) => a.statusCode === 201);
        for (const a of answers.filter((x) => x.statusCode !== 201)) expectError(a, 403, 'TASK_LIMIT_REACHED');
        expect(made).toHaveLength(2);
        const tasks = (await as.list()).json().data as TaskJson[];
        expect(tasks).toHaveLength(5);
        // The made tasks are in the feed (those of the rounds before as deletions); the refused ones left nothing.
        const changes = (await as.changes({ since: cursor })).json().data.changes as Change[];
        expect(changes.filter((c) => c.type === 'upsert').map((c) => (c.type === 'upsert' ? c.task.id : 0)).sort()).toEqual(made.map((a) => (a.json().data as TaskJson).id).sort());
        expect(changes.filter((c) => c.type === 'delete')).toHaveLength(2 * round);
        // The count stayed exact: two deleted, two fit again, and no more.
        const raced = made.map((a) => (a.json().data as TaskJson).id);
        for (const id of raced) expect((await as.del(id)).statusCode).toBe(200);
      }
      for (let i = 0; i < 2; i++) expect((await as.create({ title: `fits ${i}` })).statusCode).toBe(201);
      expectError(await as.create({ title: 'one too many' }), 403, 'TASK_LIMIT_REACHED');
    } finally {
      await small.close();
    }
  });

  it('under concurrent completes and reopens across a tree: no pending task under a completed one once they end, no deadlock', async () => {
    const as = await api(t.app, uniqueUser());
    const [root, a, a1] = (await chain(as, 3)) as [TaskJson, TaskJson, TaskJson];
    const b = await create(as, 'b', { parent_id: root.id });
    const b1 = await create(as, 'b1', { parent_id: b.id });
    const tree = [root, a, a1, b, b1];
    const parentOf = new Map(tree.map((x) => [x.id, x.parent_id]));
    for (let round = 0; round < 8; round++) {
      const answers = await Promise.all([
        as.complete(root.id, { completed: true }),
        as.complete(a1.id, { completed: false }),
        as.complete(b.id, { completed: true }),
        as.complete(b1.id),
        as.complete(a.id),
        as.create({ title: `late ${round}`, parent_id: a.id }),
      ]);
      expect(answers.map((x) => x.statusCode)).toEqual([200, 200, 200, 200, 200, 201]);
      const late = answers[5]?.json().data as TaskJson;
      parentOf.set(late.id, late.parent_id);
      const now = await all(as);
      for (const [id, parent] of parentOf) {
        if (parent === null || !now.get(parent)?.completed) continue;
        // A completed parent: its children are completed, unless one was created after it completed.
        if (now.get(id)?.completed === false) expect(id, `round ${round}`).toBe(late.id);
      }
    }
  }, 60_000);

  it('a completion and a subtask created under the task at once end as if one ran after the other: the child completed, or created after the completion', async () => {
    const as = await api(t.app, uniqueUser());
    for (let round = 0; round < 16; round++) {
      const parent = await create(as, `parent ${round}`);
      const cursor = await cursorOf(as);
      const [done, made] = await Promise.all([
        round % 2 === 0 ? as.complete(parent.id, { completed: true }) : as.complete(parent.id),
        as.create(loose({ title: `child ${round}`, parent_id: parent.id })),
      ]);
      expect([done.statusCode, made.statusCode]).toEqual([200, 201]);
      const childId = (made.json().data as TaskJson).id;
      // The feed's order is the order the writes took effect in.
      const upserts = (await since(as, cursor)).changes.flatMap((c) => (c.type === 'upsert' ? [c.task] : []));
      const [p, c] = [upserts.findIndex((x) => x.id === parent.id), upserts.findIndex((x) => x.id === childId)];
      expect(upserts[p]?.completed, `round ${round}`).toBe(true);
      if (upserts[c]?.completed === false) expect(c, `round ${round}: a pending child recorded before its parent's completion`).toBeGreaterThan(p);
    }
  }, 60_000);

  it('concurrent moves of subtrees between two lists both ways, with completes and deletes: no deadlock, every subtree whole in one list', async () => {
    const as = await api(t.app, uniqueUser());
    const [a, b] = [await makeList(t.database, as, {}, 'A'), await makeList(t.database, as, {}, 'B')];
    const roots: TaskJson[] = [];
    for (let i = 0; i < 6; i++) {
      const [root] = await chain(as, 3, { list_id: i % 2 === 0 ? a : b });
      roots.push(root as TaskJson);
    }
    for (let round = 0; round < 4; round++) {
      const answers = await Promise.all(
        roots.flatMap((r, i) => [
          as.move(r.id, { list_id: (i + round) % 2 === 0 ? b : a }),
          as.complete(r.id),
          i === 0 && round === 3 ? as.del(r.id) : as.put(r.id, { title: `r${round}` }),
        ]),
      );
      // The first root is deleted in the last round: its move and complete may come after (404).
      const deletedMeanwhile = (k: number, status: number) => round === 3 && k < 2 && status === 404;
      expect(answers.map((x, k) => (x.statusCode === 200 || deletedMeanwhile(k, x.statusCode) ? 200 : `${round}:${k}:${x.statusCode}`))).toEqual(answers.map(() => 200));
    }
    const now = await all(as);
    expect(now.size).toBe(15);
    for (const x of now.values()) if (x.parent_id !== null) expect(now.get(x.parent_id)?.list_id).toBe(x.list_id);
    for (const x of now.values()) {
      const parent = x.parent_id === null ? undefined : now.get(x.parent_id);
      if (parent?.completed) expect(x.completed).toBe(true);
    }
  }, 60_000);

  it('a cascade keeps the invariant: after completing a task no pending task is under it; after reopening one no completed task is above it (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ parent: fc.nat(), op: fc.constantFrom('complete', 'reopen', 'toggle', 'delete', 'none'), at: fc.nat() }), { minLength: 2, maxLength: 10 }),
        async (steps) => {
          const as = await api(t.app, uniqueUser());
          const ids: number[] = [];
          const depth = new Map<number, number>();
          for (const step of steps) {
            const parentIndex = ids.length === 0 ? -1 : (step.parent % (ids.length + 1)) - 1;
            const parent = parentIndex < 0 ? null : (ids[parentIndex] as number);
            if (parent !== null && (depth.get(parent) ?? 0) >= 5) continue;
            const task = await create(as, 't', parent === null ? {} : { parent_id: parent });
            ids.push(task.id);
            depth.set(task.id, parent === null ? 1 : (depth.get(parent) as number) + 1);
            const target = ids[step.at % ids.length] as number;
            if (step.op === 'none') continue;
            if (step.op === 'delete') {
              expect((await as.del(target)).statusCode).toBe(200);
              const left = await all(as);
              ids.splice(0, ids.length, ...ids.filter((id) => left.has(id)));
              continue;
            }
            const res = step.op === 'toggle' ? await as.complete(target) : await as.complete(target, { completed: step.op === 'complete' });
            expect(res.statusCode).toBe(200);
            const now = await all(as);
            const up = (id: number): number[] => {
              const p = now.get(id)?.parent_id ?? null;
              return p === null ? [] : [p, ...up(p)];
            };
            if (res.json().data.completed) {
              for (const x of now.values()) if (up(x.id).includes(target)) expect(x.completed).toBe(true);
            } else {
              for (const p of up(target)) expect(now.get(p)?.completed).toBe(false);
            }
            // Every task's parent is in the same list, and none is lost.
            for (const x of now.values()) if (x.parent_id !== null) expect(now.get(x.parent_id)?.list_id).toBe(x.list_id);
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 120_000);
});
