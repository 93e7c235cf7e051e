/**
 * Sharing (API.md, Version 3, "Sharing" and "Feeds with lists and sharing"): invitations, members,
 * roles, transfers, leaving and removal, through HTTP on both databases; the feed of each member
 * stays exact (a joiner gets the list and its tasks, a leaver their deletion).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { anotherInstance, authHeader, buildTestApp, expectError, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse } from '../helpers/sse.js';
import { routes } from '../helpers/api.js';
import { signToken } from '../helpers/tokens.js';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

describe.each(drivers)('sharing [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxMembersPerList: 3 });
  });
  afterAll(async () => t?.close());

  const user = async (): Promise<Api> => {
    const me = await api(t.app, uniqueUser());
    expect((await me.lists()).statusCode).toBe(200);
    return me;
  };
  /** `owner` shares a new list with `others` in the given roles; answers the list id. */
  async function shared(owner: Api, ...others: [Api, 'editor' | 'viewer'][]): Promise<number> {
    const list = (await owner.createList({ name: 'Groceries' })).json().data;
    for (const [other, role] of others) {
      const token = (await owner.sharing.invite(list.id, { role })).json().data.token;
      expect((await other.sharing.accept(token)).statusCode).toBe(200);
    }
    return list.id;
  }
  /** A user's replica of tasks and lists, built from /changes?include=lists from the start. */
  async function replica(me: Api): Promise<{ tasks: Map<number, unknown>; lists: Map<number, unknown> }> {
    const tasks = new Map<number, unknown>();
    const lists = new Map<number, unknown>();
    let cursor: string | undefined;
    for (;;) {
      const page = (await me.changes(cursor === undefined ? '?include=lists' : `?include=lists&since=${encodeURIComponent(cursor)}`)).json().data;
      for (const c of page.changes) {
        if (c.type === 'upsert') tasks.set(c.task.id, c.task);
        else if (c.type === 'delete') tasks.delete(c.id);
        else if (c.type === 'list_upsert') lists.set(c.list.id, c.list);
        else if (c.type === 'list_delete') lists.delete(c.id);
      }
      cursor = page.cursor;
      if (!page.has_more) return { tasks, lists };
    }
  }

  it('an invitation: 201 with a token shown once; listed without it; accepted once; the list and its tasks appear for the new member', async () => {
    const [owner, sam] = [await user(), await user()];
    const list = (await owner.createList({ name: 'Groceries' })).json().data;
    const milk = (await owner.create({ title: 'Milk', list_id: list.id })).json().data;
    const made = await owner.sharing.invite(list.id, { role: 'editor' });
    expect(made.statusCode).toBe(201);
    const inv = made.json().data;
    expect(made.json()).toEqual({ data: { id: inv.id, token: inv.token, role: 'editor', expires_at: inv.expires_at }, message: 'Invitation created successfully' });
    expect(inv.token).toMatch(TOKEN_SHAPE);
    const week = Date.parse(inv.expires_at) - Date.now();
    expect(week).toBeGreaterThan(167 * 3600_000);
    expect(week).toBeLessThan(169 * 3600_000);
    const open = await owner.sharing.invitations(list.id);
    expect(open.json()).toEqual({ data: [{ id: inv.id, role: 'editor', expires_at: inv.expires_at, created_at: open.json().data[0].created_at }], message: 'Invitations retrieved successfully' });
    expect(open.body).not.toContain(inv.token);
    const [stored] = await t.database.rows<{ token_hash: string }>('select token_hash from list_invitations where id = $1', [inv.id]);
    expect(stored?.token_hash).not.toContain(inv.token);

    const before = await replica(sam);
    expect(before.tasks.size).toBe(0);
    const accepted = await sam.sharing.accept(inv.token);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toEqual({
      data: expect.objectContaining({ id: list.id, name: 'Groceries', is_default: false, owner_id: owner.user, role: 'editor', open_count: 1, member_count: 2, version: 2 }),
      message: 'Invitation accepted successfully',
    });
    expect((await sam.get(milk.id)).statusCode).toBe(200);
    expect((await sam.list({ list_id: list.id })).json().data.map((x: { id: number }) => x.id)).toEqual([milk.id]);
    const after = await replica(sam);
    expect([...after.tasks.keys()]).toEqual([milk.id]);
    expect([...after.lists.keys()].sort()).toContain(list.id);
    // Single use: spent, it is a 404 for anyone.
    const third = await user();
    expectError(await third.sharing.accept(inv.token), 404, 'NOT_FOUND', 'Invitation not found');
    expect((await owner.sharing.invitations(list.id)).json().data).toEqual([]);
    const members = (await owner.sharing.members(list.id)).json();
    expect(members).toEqual({
      data: [
        { user_id: owner.user, role: 'owner', name: null, email: null, joined_at: expect.any(String) },
        { user_id: sam.user, role: 'editor', name: null, email: null, joined_at: expect.any(String) },
      ],
      message: 'Members retrieved successfully',
    });
  });

  it('unknown, malformed, revoked and expired tokens are 404 whoever asks; a member accepting is 409 and the invitation stays open', async () => {
    const [owner, sam] = [await user(), await user()];
    const list = (await owner.createList({ name: 'Chores' })).json().data;
    expectError(await sam.sharing.accept('x'.repeat(43)), 404, 'NOT_FOUND', 'Invitation not found');
    expectError(await sam.sharing.accept('short'), 404, 'NOT_FOUND', 'Invitation not found');
    const inv = (await owner.sharing.invite(list.id, { role: 'viewer', expires_in_hours: 1 })).json().data;
    expectError(await owner.sharing.accept(inv.token), 409, 'CONFLICT', 'You are already a member of this list');
    expect((await owner.sharing.invitations(list.id)).json().data).toHaveLength(1);
    const revoked = await owner.sharing.revoke(list.id, inv.id);
    expect(revoked.json()).toEqual({ data: { id: inv.id, role: 'viewer', expires_at: inv.expires_at, created_at: expect.any(String) }, message: 'Invitation deleted successfully' });
    expectError(await sam.sharing.accept(inv.token), 404, 'NOT_FOUND', 'Invitation not found');
    const late = (await owner.sharing.invite(list.id, { role: 'viewer' })).json().data;
    await t.database.rows("update list_invitations set expires_at = now() - interval '1 second' where id = $1", [late.id]);
    expectError(await sam.sharing.accept(late.token), 404, 'NOT_FOUND', 'Invitation not found');
    expectError(await sam.getList(list.id), 404, 'NOT_FOUND', 'List not found');
    for (const [body, field] of [
      [{ role: 'owner' }, 'role'],
      [{ role: 'editor', expires_in_hours: 0 }, 'expires_in_hours'],
      [{ role: 'editor', expires_in_hours: 721 }, 'expires_in_hours'],
      [{}, 'role'],
    ] as const) {
      const res = await owner.sharing.invite(list.id, loose(body));
      expectError(res, 400, 'VALIDATION_ERROR');
      expect(res.json().error).toContain(field);
    }
  });

  it('roles against the sharing routes: non-members 404, members without the role 403 naming it', async () => {
    const [owner, editor, viewer, stranger] = [await user(), await user(), await user(), await user()];
    const id = await shared(owner, [editor, 'editor'], [viewer, 'viewer']);
    for (const who of [editor, viewer]) {
      expectError(await who.sharing.invite(id, { role: 'viewer' }), 403, 'FORBIDDEN', 'Inviting to this list needs the owner role');
      expectError(await who.sharing.invitations(id), 403, 'FORBIDDEN', 'Seeing the invitations of this list needs the owner role');
      expectError(await who.sharing.setRole(id, owner.user, { role: 'viewer' }), 403, 'FORBIDDEN', "Changing members' roles needs the owner role");
      expectError(await who.sharing.remove(id, owner.user), 403, 'FORBIDDEN', 'Removing members needs the owner role');
      expect((await who.sharing.members(id)).statusCode).toBe(200);
    }
    for (const call of [
      () => stranger.sharing.invite(id, { role: 'viewer' }),
      () => stranger.sharing.invitations(id),
      () => stranger.sharing.members(id),
      () => stranger.sharing.setRole(id, editor.user, { role: 'viewer' }),
      () => stranger.sharing.remove(id, editor.user),
      () => stranger.getList(id),
    ]) {
      expectError(await call(), 404, 'NOT_FOUND', 'List not found');
    }
    // The viewer reads the tasks, cannot write them; the editor can.
    const task = (await owner.create({ title: 'Shared', list_id: id })).json().data;
    expect((await viewer.get(task.id)).statusCode).toBe(200);
    expectError(await viewer.complete(task.id), 403, 'FORBIDDEN');
    expectError(await viewer.create({ title: 'nope', list_id: id }), 403, 'FORBIDDEN');
    expect((await editor.complete(task.id)).statusCode).toBe(200);
    expect((await stranger.get(task.id)).statusCode).toBe(404);
  });

  it('a removed member loses the list and its tasks at once: 404 everywhere, a list_delete and task deletes in their feed; assignments reset', async () => {
    const [owner, sam] = [await user(), await user()];
    const id = await shared(owner, [sam, 'editor']);
    const task = (await owner.create({ title: 'Assigned', list_id: id, assignee_id: sam.user })).json().data;
    expect(task.assignee_id).toBe(sam.user);
    const seen = await replica(sam);
    expect(seen.tasks.has(task.id)).toBe(true);

    const removed = await owner.sharing.remove(id, sam.user);
    expect(removed.json()).toEqual({ data: { user_id: sam.user, role: 'editor', name: null, email: null, joined_at: expect.any(String) }, message: 'Member removed successfully' });
    expectError(await sam.getList(id), 404, 'NOT_FOUND', 'List not found');
    expectError(await sam.get(task.id), 404, 'NOT_FOUND');
    expect((await sam.list()).json().data.map((x: { id: number }) => x.id)).not.toContain(task.id);
    const gone = await replica(sam);
    expect(gone.tasks.has(task.id)).toBe(false);
    expect(gone.lists.has(id)).toBe(false);
    const now = (await owner.get(task.id)).json().data;
    expect({ assignee_id: now.assignee_id, version: now.version }).toEqual({ assignee_id: null, version: task.version + 1 });
    expect((await owner.getList(id)).json().data.member_count).toBe(1);
  });

  it('a removal on one instance is seen at once on another: no stale 304, no cached page, 404 for the list and its tasks', async () => {
    const other = await anotherInstance(t);
    try {
      const [owner, samId] = [await user(), uniqueUser()];
      const samHere = await api(t.app, samId);
      const id = await shared(owner, [samHere, 'editor']);
      const task = (await owner.create({ title: 'Seen by both', list_id: id })).json().data;
      const samThere = await api(other.app, samId);
      // Sam's pages and lists on the other instance, cached there and with their ETags.
      const page = await samThere.list({ list_id: id });
      expect(page.json().data.map((x: { id: number }) => x.id)).toEqual([task.id]);
      const all = await samThere.list();
      const lists = await samThere.lists();
      expect((await samThere.list(undefined, { 'if-none-match': all.headers.etag as string })).statusCode).toBe(304);

      expect((await owner.sharing.remove(id, samId)).statusCode).toBe(200);

      const allAfter = await samThere.list(undefined, { 'if-none-match': all.headers.etag as string });
      expect(allAfter.statusCode).toBe(200);
      expect(allAfter.json().data.map((x: { id: number }) => x.id)).not.toContain(task.id);
      const listsAfter = await samThere.lists({ 'if-none-match': lists.headers.etag as string });
      expect(listsAfter.statusCode).toBe(200);
      expect(listsAfter.json().data.map((l: { id: number }) => l.id)).not.toContain(id);
      expectError(await samThere.list({ list_id: id }), 404, 'NOT_FOUND', 'List not found');
      expectError(await samThere.get(task.id), 404, 'NOT_FOUND');
      expectError(await samThere.getList(id), 404, 'NOT_FOUND', 'List not found');
    } finally {
      await other.close();
    }
  });

  it("a removed member's open event stream gets the task deletes and the list_delete at once, then nothing more of the list", async () => {
    const url = await listen(t.app);
    const [owner, samId] = [await user(), uniqueUser()];
    const sam = await api(t.app, samId);
    const id = await shared(owner, [sam, 'editor']);
    const task = (await owner.create({ title: 'Watched', list_id: id })).json().data;
    const stream = await openSse(`${url}${routes.events(samId)}?include=lists`, await authHeader(samId));
    try {
      expect(stream.status).toBe(200);
      await stream.next((e) => e.event === 'ready');
      expect((await owner.sharing.remove(id, samId)).statusCode).toBe(200);
      const gone = await stream.next((e) => e.event === 'list_delete', 5000);
      expect(JSON.parse(gone.data)).toEqual({ type: 'list_delete', id });
      const deleted = stream.events.filter((e) => e.event === 'delete').map((e) => JSON.parse(e.data) as { id: number });
      expect(deleted.map((d) => d.id)).toEqual([task.id]);
      const seen = stream.events.length;
      await owner.create({ title: 'After the removal', list_id: id });
      await owner.put(task.id, { title: 'Renamed after' });
      await new Promise((r) => setTimeout(r, 700));
      expect(stream.events.slice(seen).filter((e) => e.event !== 'ready')).toEqual([]);
    } finally {
      stream.close();
    }
  });

  it('leaving: any member removes themself; the owner cannot leave (409)', async () => {
    const [owner, sam] = [await user(), await user()];
    const id = await shared(owner, [sam, 'viewer']);
    expectError(await owner.sharing.remove(id, owner.user), 409, 'CONFLICT', 'The owner cannot leave the list: give it to another member first');
    expect((await sam.sharing.remove(id, sam.user)).statusCode).toBe(200);
    expectError(await sam.getList(id), 404, 'NOT_FOUND', 'List not found');
    expectError(await owner.sharing.remove(id, sam.user), 404, 'NOT_FOUND', 'Member not found');
  });

  it('role changes and transfer of ownership: the old owner becomes an editor; the Inbox is never transferred', async () => {
    const [owner, sam] = [await user(), await user()];
    const id = await shared(owner, [sam, 'viewer']);
    const promoted = await owner.sharing.setRole(id, sam.user, { role: 'editor' });
    expect(promoted.json()).toEqual({ data: expect.objectContaining({ user_id: sam.user, role: 'editor' }), message: 'Member updated successfully' });
    expect((await sam.getList(id)).json().data.role).toBe('editor');
    expectError(await owner.sharing.setRole(id, owner.user, { role: 'viewer' }), 409, 'CONFLICT');
    const given = await owner.sharing.setRole(id, sam.user, { role: 'owner' });
    expect(given.json().data).toMatchObject({ user_id: sam.user, role: 'owner' });
    expect((await sam.getList(id)).json().data).toMatchObject({ owner_id: sam.user, role: 'owner' });
    expect((await owner.getList(id)).json().data).toMatchObject({ owner_id: sam.user, role: 'editor' });
    // The old owner may now leave; the new one may not.
    expectError(await sam.sharing.remove(id, sam.user), 409, 'CONFLICT');
    // An Inbox is shared like any list, never transferred.
    const inbox = (await owner.lists()).json().data.find((l: { is_default: boolean }) => l.is_default);
    const token = (await owner.sharing.invite(inbox.id, { role: 'editor' })).json().data.token;
    expect((await sam.sharing.accept(token)).json().data).toMatchObject({ id: inbox.id, is_default: false, role: 'editor' });
    expectError(await owner.sharing.setRole(inbox.id, sam.user, { role: 'owner' }), 409, 'CONFLICT', 'An Inbox is never transferred');
    const bad = await owner.sharing.setRole(id, owner.user, loose({ role: 'admin' }));
    expectError(bad, 400, 'VALIDATION_ERROR');
    expect(bad.json().error).toContain('role');
  });

  it('MAX_MEMBERS_PER_LIST (3 here): an accept beyond is 403 MEMBER_LIMIT_REACHED and the invitation stays open', async () => {
    const [owner, a, b, c] = [await user(), await user(), await user(), await user()];
    const id = await shared(owner, [a, 'viewer'], [b, 'viewer']);
    const inv = (await owner.sharing.invite(id, { role: 'viewer' })).json().data;
    expectError(await c.sharing.accept(inv.token), 403, 'MEMBER_LIMIT_REACHED', 'This list has 3 members, the most allowed');
    expect((await owner.sharing.invitations(id)).json().data.map((i: { id: number }) => i.id)).toEqual([inv.id]);
    expect((await b.sharing.remove(id, b.user)).statusCode).toBe(200);
    expect((await c.sharing.accept(inv.token)).statusCode).toBe(200);
  });

  it("members' name and email come from their own tokens: null until a token had them; a token without them changes nothing", async () => {
    const owner = await user();
    const samId = uniqueUser();
    const id = await shared(owner, [await api(t.app, samId), 'editor']);
    const shown = async () => (await owner.sharing.members(id)).json().data.find((m: { user_id: string }) => m.user_id === samId);
    expect(await shown()).toMatchObject({ name: null, email: null });
    const named = await api(t.app, samId, { token: await signToken(samId, { claims: { name: 'Sam Lee', email: 'sam@example.com' } }) });
    expect((await named.lists()).statusCode).toBe(200);
    expect(await shown()).toMatchObject({ name: 'Sam Lee', email: 'sam@example.com' });
    // A token without them changes nothing; a new name replaces the old one, the email stays.
    expect((await (await api(t.app, samId)).lists()).statusCode).toBe(200);
    expect(await shown()).toMatchObject({ name: 'Sam Lee', email: 'sam@example.com' });
    const renamed = await api(t.app, samId, { token: await signToken(samId, { claims: { name: 'Samantha Lee' } }) });
    expect((await renamed.lists()).statusCode).toBe(200);
    expect(await shown()).toMatchObject({ name: 'Samantha Lee', email: 'sam@example.com' });
  });

  it('two users racing for one invitation: one joins, the other gets 404', async () => {
    const [owner, a, b] = [await user(), await user(), await user()];
    const list = (await owner.createList({ name: 'Race' })).json().data;
    const inv = (await owner.sharing.invite(list.id, { role: 'editor' })).json().data;
    const answers = await Promise.all([a.sharing.accept(inv.token), b.sharing.accept(inv.token)]);
    expect(answers.map((x) => x.statusCode).sort()).toEqual([200, 404]);
    expect((await owner.sharing.members(list.id)).json().data).toHaveLength(2);
  });
});
