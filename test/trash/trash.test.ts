/**
 * The trash (API.md, version 3, "Trash"): a DELETE keeps its answer and its `delete` feed entry and
 * puts the task, with its subtree, into the trash; GET /trash shows what the caller may restore;
 * restore brings the subtree back (same ids, uids, positions; top level without its parent; the
 * restorer's Inbox without its list); purge one, empty all; retention; the feed stays exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import { makeList } from '../helpers/list-fixtures.js';
import type { TaskJson } from '../helpers/task-json.js';
import { createTrashRepository } from '../../src/trash/trash.repository.js';

type Change = { type: 'upsert'; task: TaskJson } | { type: 'delete'; id: number };
type Entry = TaskJson & { deleted_at: string };
const NOT_FOUND = 'Task not found in the trash';

describe.each(drivers)('trash [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxTasksPerUser: 12, webhooksAllowPrivate: true });
  });
  afterAll(async () => t?.close());

  const create = async (as: Api, title: string, extra: object = {}) => {
    const res = await as.create(loose({ title, ...extra }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data as TaskJson;
  };
  const trash = async (as: Api, q?: string) => {
    const res = await as.trash.list(q);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { data: Entry[]; message: string; next_cursor: string | null };
  };
  const tasks = async (as: Api) => ((await as.list('?sort=position')).json().data as TaskJson[]).sort((a, b) => a.id - b.id);
  /** root, with children a and b, and a grandchild under a. */
  const tree = async (as: Api, extra: object = {}) => {
    const root = await create(as, 'root', extra);
    const a = await create(as, 'a', { ...extra, parent_id: root.id });
    const b = await create(as, 'b', { ...extra, parent_id: root.id });
    const g = await create(as, 'g', { ...extra, parent_id: a.id });
    return { root, a, b, g };
  };

  it('delete, trash, restore: the same tasks back (ids, uids, positions, the subtree), version + 1; subtasks have no entry of their own', async () => {
    const as = await api(t.app, uniqueUser());
    const before = await create(as, 'stays');
    const { root, a, b, g } = await tree(as);
    const del = await as.del(root.id);
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ data: root, message: 'Task deleted successfully' });
    expect((await as.get(root.id)).statusCode).toBe(404);
    expect((await as.get(g.id)).statusCode).toBe(404);
    expect((await tasks(as)).map((x) => x.id)).toEqual([before.id]);

    const page = await trash(as);
    expect(page.message).toBe('Trash retrieved successfully');
    expect(page.next_cursor).toBeNull();
    expect(page.data).toHaveLength(1);
    const { deleted_at, ...task } = page.data[0] as Entry;
    expect(task).toEqual(root);
    expect(Date.parse(deleted_at)).toBeGreaterThan(Date.parse(root.updated_at) - 1);
    expect((await as.trash.get(root.id)).json()).toEqual({ data: page.data[0], message: 'Trashed task retrieved successfully' });
    for (const sub of [a, b, g]) expectError(await as.trash.get(sub.id), 404, 'NOT_FOUND', NOT_FOUND);
    expectError(await as.trash.restore(a.id), 404, 'NOT_FOUND', NOT_FOUND);

    const res = await as.trash.restore(root.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe(`"${root.version + 1}"`);
    const restored = res.json();
    expect(restored.message).toBe('Task restored successfully');
    expect(restored.data).toEqual({ ...root, version: root.version + 1, updated_at: restored.data.updated_at });
    const back = await tasks(as);
    const bump = (x: TaskJson) => ({ ...x, version: x.version + 1, updated_at: expect.any(String) });
    expect(back).toEqual([before, bump(root), bump(a), bump(b), bump(g)]);
    expect((await trash(as)).data).toEqual([]);
    expectError(await as.trash.restore(root.id), 404, 'NOT_FOUND', NOT_FOUND);
  });

  it('a restore whose parent is gone comes back at the top level; the purged parent never does', async () => {
    const as = await api(t.app, uniqueUser());
    const { root, a, g } = await tree(as);
    expect((await as.del(a.id)).statusCode).toBe(200);
    expect((await as.del(root.id)).statusCode).toBe(200);
    expect((await trash(as)).data.map((e) => e.id)).toEqual([root.id, a.id]);
    const purged = await as.trash.purge(root.id);
    expect(purged.statusCode).toBe(200);
    expect(purged.json().message).toBe('Task purged successfully');
    expect(purged.json().data.id).toBe(root.id);
    expectError(await as.trash.purge(root.id), 404, 'NOT_FOUND', NOT_FOUND);
    const res = await as.trash.restore(a.id);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toMatchObject({ id: a.id, parent_id: null, position: a.position });
    expect((await tasks(as)).map((x) => [x.id, x.parent_id])).toEqual([
      [a.id, null],
      [g.id, a.id],
    ]);
  });

  it("a deleted list's tasks go to the trash of who deleted it, and come back into their Inbox", async () => {
    const owner = await api(t.app, uniqueUser());
    const editorId = uniqueUser();
    const editor = await api(t.app, editorId);
    await editor.list();
    const list = await makeList(t.database, owner, { [editorId]: 'editor' });
    const earlier = await create(owner, 'deleted before the list', { list_id: list });
    expect((await owner.del(earlier.id)).statusCode).toBe(200);
    expect((await trash(editor)).data.map((e) => e.id)).toEqual([earlier.id]);
    const { root, a } = await tree(owner, { list_id: list });
    expect((await owner.delList(list)).statusCode).toBe(200);
    // Only the one who deleted the list sees its tasks, however they got to the trash.
    expect((await trash(owner)).data.map((e) => e.id).sort((x, y) => x - y)).toEqual([earlier.id, root.id]);
    expect((await trash(editor)).data).toEqual([]);
    expectError(await editor.trash.restore(root.id), 404, 'NOT_FOUND', NOT_FOUND);
    const res = await owner.trash.restore(root.id);
    expect(res.statusCode, res.body).toBe(200);
    const inbox = ((await owner.lists()).json().data as { id: number; is_default: boolean }[]).find((l) => l.is_default)?.id;
    expect(res.json().data).toMatchObject({ id: root.id, list_id: inbox, parent_id: null });
    expect((await owner.get(a.id)).json().data).toMatchObject({ list_id: inbox, parent_id: root.id });
  });

  it('who sees what: owner and editor see and restore; a viewer and a stranger get 404', async () => {
    const owner = await api(t.app, uniqueUser());
    const [editorId, viewerId] = [uniqueUser(), uniqueUser()];
    const [editor, viewer, stranger] = [await api(t.app, editorId), await api(t.app, viewerId), await api(t.app, uniqueUser())];
    for (const x of [editor, viewer, stranger]) await x.list();
    const list = await makeList(t.database, owner, { [editorId]: 'editor', [viewerId]: 'viewer' });
    const task = await create(owner, 'shared', { list_id: list });
    expect((await editor.del(task.id)).statusCode).toBe(200);
    expect((await trash(owner)).data.map((e) => e.id)).toEqual([task.id]);
    expect((await trash(editor)).data.map((e) => e.id)).toEqual([task.id]);
    for (const x of [viewer, stranger]) {
      expect((await trash(x)).data).toEqual([]);
      expectError(await x.trash.get(task.id), 404, 'NOT_FOUND', NOT_FOUND);
      expectError(await x.trash.restore(task.id), 404, 'NOT_FOUND', NOT_FOUND);
      expectError(await x.trash.purge(task.id), 404, 'NOT_FOUND', NOT_FOUND);
    }
    const emptied = await stranger.trash.empty();
    expect(emptied.json()).toEqual({ data: { purged: 0 }, message: 'Trash emptied successfully' });
    expect((await editor.trash.restore(task.id)).statusCode).toBe(200);
    expect((await viewer.get(task.id)).json().data).toMatchObject({ id: task.id, list_id: list });
  });

  it('DELETE /trash purges every task the caller may restore, and only those', async () => {
    const as = await api(t.app, uniqueUser());
    const other = await api(t.app, uniqueUser());
    const mine = [await create(as, 'one'), await create(as, 'two')];
    const theirs = await create(other, 'theirs');
    for (const x of mine) expect((await as.del(x.id)).statusCode).toBe(200);
    expect((await other.del(theirs.id)).statusCode).toBe(200);
    expect((await as.trash.empty()).json()).toEqual({ data: { purged: 2 }, message: 'Trash emptied successfully' });
    expect((await trash(as)).data).toEqual([]);
    expect((await trash(other)).data.map((e) => e.id)).toEqual([theirs.id]);
  });

  it('pages newest first with limit and cursor', async () => {
    const as = await api(t.app, uniqueUser());
    const made = [await create(as, '1'), await create(as, '2'), await create(as, '3')];
    for (const x of made) expect((await as.del(x.id)).statusCode).toBe(200);
    const first = await trash(as, '?limit=2');
    expect(first.data.map((e) => e.id)).toEqual([made[2]?.id, made[1]?.id]);
    const second = await trash(as, `?limit=2&cursor=${first.next_cursor}`);
    expect(second.data.map((e) => e.id)).toEqual([made[0]?.id]);
    expect(second.next_cursor).toBeNull();
    expectError(await as.trash.list('?cursor=bogus'), 400, 'VALIDATION_ERROR', 'cursor is not a cursor of this API (take next_cursor of the previous page)');
  });

  it('trashed tasks do not count toward MAX_TASKS_PER_USER; a restore beyond it is 403 TASK_LIMIT_REACHED and changes nothing', async () => {
    const as = await api(t.app, uniqueUser());
    const old = await create(as, 'old');
    expect((await as.del(old.id)).statusCode).toBe(200);
    for (let i = 0; i < 12; i++) await create(as, `t${i}`);
    expectError(await as.trash.restore(old.id), 403, 'TASK_LIMIT_REACHED');
    expect((await trash(as)).data.map((e) => e.id)).toEqual([old.id]);
  });

  it('entries older than TRASH_RETENTION_DAYS are not shown, and the purge removes them', async () => {
    const as = await api(t.app, uniqueUser());
    const [young, aged] = [await create(as, 'young'), await create(as, 'aged')];
    const child = await create(as, 'child', { parent_id: aged.id });
    for (const x of [young, aged]) expect((await as.del(x.id)).statusCode).toBe(200);
    await t.database.rows("update trashed_tasks set deleted_at = deleted_at - interval '31 days' where root_id = $1", [aged.id]);
    expect((await trash(as)).data.map((e) => e.id)).toEqual([young.id]);
    expectError(await as.trash.restore(aged.id), 404, 'NOT_FOUND', NOT_FOUND);
    const purged = await createTrashRepository(t.database, { retentionDays: 30, maxTasksPerUser: 12 }).purgeExpired();
    expect(purged).toBeGreaterThanOrEqual(2);
    const left = await t.database.rows<{ id: number }>('select id from trashed_tasks where id = any($1::int[]) order by id', [[young.id, aged.id, child.id]]);
    expect(left.map((r) => r.id)).toEqual([young.id]);
  });

  it("a uid taken meanwhile makes the restore a 409 and changes nothing; an Idempotency-Key replays the restore's answer", async () => {
    const as = await api(t.app, uniqueUser());
    const uid = `trash-${uniqueUser()}`;
    const first = await create(as, 'first', { uid });
    expect((await as.del(first.id)).statusCode).toBe(200);
    const second = await create(as, 'second', { uid });
    expectError(await as.trash.restore(first.id), 409, 'CONFLICT');
    expect((await trash(as)).data.map((e) => e.id)).toEqual([first.id]);
    expect((await as.del(second.id)).statusCode).toBe(200);
    expect((await as.trash.purge(second.id)).statusCode).toBe(200);
    const key = { 'idempotency-key': `k-${uid}` };
    const res = await as.trash.restore(first.id, key);
    expect(res.statusCode, res.body).toBe(200);
    const again = await as.trash.restore(first.id, key);
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(res.json());
  });

  it('webhooks: a trashed task is task.deleted, a restored one task.restored (each task of the subtree), never task.created', async () => {
    const as = await api(t.app, uniqueUser());
    const hook = await as.webhooks.create({ url: 'http://127.0.0.1:9/hook', events: ['task.created', 'task.deleted', 'task.restored'] });
    expect(hook.statusCode, hook.body).toBe(201);
    const root = await create(as, 'root');
    const child = await create(as, 'child', { parent_id: root.id });
    expect((await as.del(root.id)).statusCode).toBe(200);
    expect((await as.trash.restore(root.id)).statusCode).toBe(200);
    const rows = await t.database.rows<{ type: string; id: number }>(
      "select type, (payload->'data'->'task'->>'id')::int as id from webhook_deliveries where webhook_id = $1 order by created_at, type, (payload->'data'->'task'->>'id')::int",
      [hook.json().data.id],
    );
    expect(rows.map((r) => [r.type, r.id])).toEqual([
      ['task.created', root.id],
      ['task.created', child.id],
      ['task.deleted', root.id],
      ['task.deleted', child.id],
      ['task.restored', root.id],
      ['task.restored', child.id],
    ]);
  });

  it('the feed: a replica built from /changes equals GET /tasks after delete and restore', async () => {
    const as = await api(t.app, uniqueUser());
    const { root } = await tree(as);
    const start = (await as.changes()).json().data as { changes: Change[]; cursor: string };
    const replica = new Map<number, TaskJson>();
    const apply = (changes: Change[]) => {
      for (const c of changes) {
        if (c.type === 'upsert') replica.set(c.task.id, c.task);
        else if (c.type === 'delete') replica.delete(c.id);
      }
    };
    apply(start.changes);
    expect((await as.del(root.id)).statusCode).toBe(200);
    const mid = (await as.changes({ since: start.cursor })).json().data as { changes: Change[]; cursor: string };
    expect(mid.changes.filter((c) => c.type === 'delete')).toHaveLength(4);
    apply(mid.changes);
    expect(replica.size).toBe(0);
    expect((await as.trash.restore(root.id)).statusCode).toBe(200);
    const end = (await as.changes({ since: mid.cursor })).json().data as { changes: Change[] };
    expect(end.changes.map((c) => c.type)).toEqual(['upsert', 'upsert', 'upsert', 'upsert']);
    apply(end.changes);
    expect([...replica.values()].sort((x, y) => x.id - y.id)).toEqual(await tasks(as));
  });
});
