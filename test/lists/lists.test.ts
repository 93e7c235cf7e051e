/**
 * API.md, Version 3, "Lists": the routes, the list as JSON, the Inbox, each member's own order and
 * move, the limit, validation and messages. Through HTTP only, but for one thing sharing's routes
 * will do (they are not built yet): `share()` makes a user a member of a list in the database, so
 * that roles (403 naming the role), per-member views and positions are proven now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

type ListJson = {
  id: number;
  name: string;
  is_default: boolean;
  owner_id: string;
  role: 'owner' | 'editor' | 'viewer';
  position: string;
  open_count: number;
  member_count: number;
  version: number;
  created_at: string;
  updated_at: string;
};

const KEYS = ['created_at', 'id', 'is_default', 'member_count', 'name', 'open_count', 'owner_id', 'position', 'role', 'updated_at', 'version'];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe.each(drivers)('lists [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { maxListsPerUser: 4 });
  });
  afterAll(async () => t?.close());

  const as = async (user = uniqueUser()) => api(t.app, user);
  const lists = async (a: Api) => {
    const res = await a.lists();
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().message).toBe('Lists retrieved successfully');
    return res.json().data as ListJson[];
  };
  const make = async (a: Api, name: string, position?: string) => {
    const res = await a.createList(position === undefined ? { name } : { name, position });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data as ListJson;
  };
  /** What invitations will do: `user` joins `list` with `role`, at `position`. */
  const share = (list: number, user: string, role: 'editor' | 'viewer', position = 'a5') =>
    t.database.rows('insert into list_members (list_id, user_id, role, position) values ($1, $2, $3, $4)', [list, user, role, position]);

  it('GET /lists: the Inbox from the first request on, exactly as the contract writes a list', async () => {
    const a = await as();
    const [inbox, ...more] = await lists(a);
    expect(more).toEqual([]);
    expect(Object.keys(inbox as ListJson).sort()).toEqual(KEYS);
    expect(inbox).toEqual({
      id: expect.any(Number),
      name: 'Inbox',
      is_default: true,
      owner_id: a.user,
      role: 'owner',
      position: 'a0',
      open_count: 0,
      member_count: 1,
      version: 1,
      created_at: expect.stringMatching(ISO),
      updated_at: (inbox as ListJson).created_at,
    });
  });

  it('POST /lists: 201, owned by the caller, appended last; GET one; the Inbox counts its pending tasks', async () => {
    const a = await as();
    const res = await a.createList({ name: '  Groceries  ' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      data: {
        id: expect.any(Number),
        name: 'Groceries',
        is_default: false,
        owner_id: a.user,
        role: 'owner',
        position: 'a1',
        open_count: 0,
        member_count: 1,
        version: 1,
        created_at: expect.stringMatching(ISO),
        updated_at: res.json().data.created_at,
      },
      message: 'List created successfully',
    });
    const work = await make(a, 'Work');
    expect(work.position).toBe('a2');
    const got = await a.getList(work.id);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual({ data: work, message: 'List retrieved successfully' });
    const done = (await a.create({ title: 'done' })).json().data;
    await a.create({ title: 'open' });
    await a.complete(done.id);
    expect((await lists(a)).map((l) => [l.name, l.open_count])).toEqual([['Inbox', 1], ['Groceries', 0], ['Work', 0]]);
  });

  it('POST /lists with a position places it there; GET /lists is by position as bytes, then id', async () => {
    const a = await as();
    await make(a, 'last', 'a9');
    await make(a, 'first', 'Zz');
    // 'a0V' < 'a0v' as bytes (V is 0x56), although a case-insensitive collation says otherwise.
    await make(a, 'lower', 'a0v');
    expect((await lists(a)).map((l) => l.name)).toEqual(['first', 'Inbox', 'lower', 'last']);
    const b = await as();
    await make(b, 'upper', 'a0V');
    await make(b, 'lower', 'a0v');
    expect((await lists(b)).map((l) => l.name)).toEqual(['Inbox', 'upper', 'lower']);
  });

  it('PUT: a new name (the version and updated_at move), a position (they do not), both, or nothing', async () => {
    const a = await as();
    const list = await make(a, 'Groceries');
    const renamed = await a.putList(list.id, { name: ' Shopping ' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toEqual({ data: { ...list, name: 'Shopping', version: 2, updated_at: expect.stringMatching(ISO) }, message: 'List updated successfully' });
    expect(renamed.json().data.updated_at > list.updated_at).toBe(true);
    const placed = (await a.putList(list.id, { position: 'Zz' })).json();
    expect(placed).toEqual({ data: { ...renamed.json().data, position: 'Zz' }, message: 'List updated successfully' });
    expect((await lists(a)).map((l) => l.name)).toEqual(['Shopping', 'Inbox']);
    const both = (await a.putList(list.id, { name: 'Food', position: 'a3' })).json().data;
    expect({ name: both.name, position: both.position, version: both.version }).toEqual({ name: 'Food', position: 'a3', version: 3 });
    expect((await a.putList(list.id, {})).json()).toEqual({ data: both, message: 'List updated successfully' });
    // The Inbox may be renamed.
    const inbox = (await lists(a))[0] as ListJson;
    expect((await a.putList(inbox.id, { name: 'Home' })).json().data).toMatchObject({ name: 'Home', is_default: true, version: 2 });
  });

  it('DELETE: 200 with the list as it was, its tasks gone; then 404; the Inbox never (409)', async () => {
    const a = await as();
    const list = await make(a, 'Doomed');
    const inbox = (await lists(a))[0] as ListJson;
    const keep = (await a.create({ title: 'kept' })).json().data;
    // Tasks are created in the Inbox (moving them is the tasks' work): put two in the list directly.
    const doomed = [(await a.create({ title: 'x' })).json().data, (await a.create({ title: 'y' })).json().data];
    await t.database.rows('update tasks set list_id = $1 where id = any($2::int[])', [list.id, doomed.map((d) => d.id)]);
    const current = (await a.getList(list.id)).json().data;
    expect(current.open_count).toBe(2);
    const res = await a.delList(list.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ data: current, message: 'List deleted successfully' });
    expectError(await a.getList(list.id), 404, 'NOT_FOUND', 'List not found');
    expectError(await a.delList(list.id), 404, 'NOT_FOUND', 'List not found');
    for (const d of doomed) expectError(await a.get(d.id), 404, 'NOT_FOUND');
    expect((await a.get(keep.id)).statusCode).toBe(200);
    expect((await a.list()).json().data.map((x: { id: number }) => x.id)).toEqual([keep.id]);
    expectError(await a.delList(inbox.id), 409, 'CONFLICT', 'The Inbox cannot be deleted');
    expect((await lists(a)).map((l) => l.id)).toEqual([inbox.id]);
    // The owner's task count went down with them: they may create as many as before.
    const [count] = await t.database.rows<{ task_count: number }>('select task_count from user_changes where user_id = $1', [a.user]);
    expect(count?.task_count).toBe(1);
  });

  it("a list the caller is not a member of is a 404 on every route, never a 403, and changes nothing", async () => {
    const [a, b] = [await as(), await as()];
    const theirs = await make(b, 'Private');
    expectError(await a.getList(theirs.id), 404, 'NOT_FOUND', 'List not found');
    expectError(await a.putList(theirs.id, { name: 'Mine' }), 404, 'NOT_FOUND', 'List not found');
    expectError(await a.putList(theirs.id, { position: 'a0' }), 404, 'NOT_FOUND', 'List not found');
    expectError(await a.moveList(theirs.id), 404, 'NOT_FOUND', 'List not found');
    expectError(await a.delList(theirs.id), 404, 'NOT_FOUND', 'List not found');
    expectError(await a.getList(999_999_999), 404, 'NOT_FOUND', 'List not found');
    expect((await b.getList(theirs.id)).json().data).toEqual(theirs);
    expect((await lists(a)).map((l) => l.name)).toEqual(['Inbox']);
  });

  it('roles: a member sees the list as theirs (role, position, not is_default), renames and deletes need the owner (403 naming it), positions are each their own', async () => {
    const [owner, editor, viewer] = [await as(), await as(), await as()];
    const list = await make(owner, 'Family');
    const ownerInbox = (await lists(owner))[0] as ListJson;
    await share(list.id, editor.user, 'editor', 'Zz');
    await share(list.id, viewer.user, 'viewer');
    await share(ownerInbox.id, viewer.user, 'viewer', 'a8');
    const seen = (await viewer.getList(list.id)).json().data;
    expect(seen).toEqual({ ...list, role: 'viewer', position: 'a5', member_count: 3 });
    expect((await lists(viewer)).map((l) => [l.name, l.is_default, l.role, l.owner_id === viewer.user])).toEqual([
      ['Inbox', true, 'owner', true],
      ['Family', false, 'viewer', false],
      ['Inbox', false, 'viewer', false],
    ]);
    for (const member of [editor, viewer]) {
      expectError(await member.putList(list.id, { name: 'Mine' }), 403, 'FORBIDDEN', 'Renaming this list needs the owner role');
      expectError(await member.putList(list.id, { name: 'Mine', position: 'a9' }), 403, 'FORBIDDEN', 'Renaming this list needs the owner role');
      expectError(await member.delList(list.id), 403, 'FORBIDDEN', 'Deleting this list needs the owner role');
    }
    expectError(await viewer.delList(ownerInbox.id), 403, 'FORBIDDEN', 'Deleting this list needs the owner role');
    // Each member places it for themselves: the version stays, the others' positions too.
    const placed = await viewer.putList(list.id, { position: 'a0V' });
    expect(placed.json().data).toEqual({ ...seen, position: 'a0V' });
    expect((await editor.getList(list.id)).json().data).toMatchObject({ position: 'Zz', version: 1 });
    expect((await owner.getList(list.id)).json().data).toMatchObject({ position: 'a1', version: 1, member_count: 3 });
    expect((await lists(viewer)).map((l) => l.name)).toEqual(['Inbox', 'Family', 'Inbox']);
    // The owner's rename reaches everyone, each with their own position.
    await owner.putList(list.id, { name: 'Home' });
    expect((await viewer.getList(list.id)).json().data).toMatchObject({ name: 'Home', version: 2, position: 'a0V', role: 'viewer' });
  });

  describe('move', () => {
    const names = async (a: Api) => (await lists(a)).map((l) => l.name);
    it('after_id, before_id, both, neither (first); the server computes the key; the version stays', async () => {
      const a = await as();
      const [x, y, z] = [await make(a, 'x'), await make(a, 'y'), await make(a, 'z')];
      const inbox = (await lists(a))[0] as ListJson;
      const moved = await a.moveList(z.id, { after_id: inbox.id });
      expect(moved.statusCode).toBe(200);
      expect(moved.json()).toEqual({ data: { ...z, position: expect.any(String) }, message: 'List moved successfully' });
      expect(await names(a)).toEqual(['Inbox', 'z', 'x', 'y']);
      await a.moveList(inbox.id, { before_id: y.id });
      expect(await names(a)).toEqual(['z', 'x', 'Inbox', 'y']);
      await a.moveList(y.id);
      expect(await names(a)).toEqual(['y', 'z', 'x', 'Inbox']);
      await a.moveList(inbox.id, {});
      expect(await names(a)).toEqual(['Inbox', 'y', 'z', 'x']);
      await a.moveList(x.id, { after_id: inbox.id, before_id: y.id });
      expect(await names(a)).toEqual(['Inbox', 'x', 'y', 'z']);
      await a.moveList(inbox.id, { after_id: z.id });
      expect(await names(a)).toEqual(['x', 'y', 'z', 'Inbox']);
      expect((await a.getList(x.id)).json().data.version).toBe(1);
    });

    it('between two lists at the same key (a client put them there): the caller\'s lists get fresh keys, in order', async () => {
      const a = await as();
      const [x, y, z] = [await make(a, 'x', 'a5'), await make(a, 'y', 'a5'), await make(a, 'z', 'a7')];
      expect(await names(a)).toEqual(['Inbox', 'x', 'y', 'z']);
      await a.moveList(z.id, { after_id: x.id });
      expect(await names(a)).toEqual(['Inbox', 'x', 'z', 'y']);
      const keys = (await lists(a)).map((l) => l.position);
      expect(keys).toEqual([...keys].sort());
      expect(new Set(keys).size).toBe(4);
      expect(y.id).toBeGreaterThan(x.id);
    });

    it('moves at once (each to the top, or after the Inbox) take their turns: distinct keys, every list once, in a consistent order', async () => {
      const a = await as();
      const made = [await make(a, 'p'), await make(a, 'q'), await make(a, 'r')];
      const inbox = (await lists(a))[0] as ListJson;
      const answers = await Promise.all(made.flatMap((l) => [a.moveList(l.id), a.moveList(l.id, { after_id: inbox.id })]));
      expect(answers.map((r) => r.statusCode)).toEqual(Array(6).fill(200));
      const after = await lists(a);
      expect(after.map((l) => l.name).sort()).toEqual(['Inbox', 'p', 'q', 'r']);
      const keys = after.map((l) => l.position);
      expect(new Set(keys).size).toBe(4);
      expect(keys).toEqual([...keys].sort());
    });

    it('many moves to one place keep the order (keys grow, never collide)', async () => {
      const a = await as();
      const [x, y] = [await make(a, 'x'), await make(a, 'y')];
      for (let i = 0; i < 30; i++) await a.moveList(i % 2 === 0 ? y.id : x.id, { after_id: (await lists(a))[0]?.id as number });
      expect(await names(a)).toEqual(['Inbox', 'x', 'y']);
    });

    it('after_id or before_id naming no list of the caller: 400 naming it; the list itself: 400; nothing moves', async () => {
      const [a, b] = [await as(), await as()];
      const x = await make(a, 'x');
      const theirs = await make(b, 'theirs');
      const before = await lists(a);
      expectError(await a.moveList(x.id, { after_id: theirs.id }), 400, 'VALIDATION_ERROR', 'after_id names no list of yours');
      expectError(await a.moveList(x.id, { before_id: 999_999_999 }), 400, 'VALIDATION_ERROR', 'before_id names no list of yours');
      expectError(await a.moveList(x.id, { after_id: x.id }), 400, 'VALIDATION_ERROR', 'after_id must name another list than the one moved');
      const inbox = before[0] as ListJson;
      expectError(await a.moveList(inbox.id, { after_id: x.id, before_id: x.id }), 400, 'VALIDATION_ERROR', 'before_id must come after after_id in your order');
      expectError(await a.moveList(x.id, loose({ after_id: 'first' })), 400, 'VALIDATION_ERROR', /after_id/);
      expect(await lists(a)).toEqual(before);
    });
  });

  describe('validation', () => {
    it.each([
      ['an empty name', { name: '' }, /^name /],
      ['a name of spaces', { name: '   ' }, /^name /],
      ['a name of 101 code points', { name: 'é'.repeat(101) }, /^name /],
      ['a control character', { name: 'a\u0007b' }, 'name must be text without control characters'],
      ['a null name', { name: null }, /^name /],
      ['no name', {}, /name/],
      ['a position that is no key', { name: 'x', position: 'hello world' }, /^position /],
      ['a key with a trailing zero', { name: 'x', position: 'a10' }, 'position must be an order key of fractional-indexing (base 62), such as a0 or a1V'],
      ['a key whose integer part is too short', { name: 'x', position: 'b1' }, 'position must be an order key of fractional-indexing (base 62), such as a0 or a1V'],
      ['a position of 256 characters', { name: 'x', position: `a1${'V'.repeat(254)}` }, /^position /],
    ])('POST with %s: 400 naming the field, nothing made', async (_, body, message) => {
      const a = await as();
      expectError(await a.createList(loose(body)), 400, 'VALIDATION_ERROR', message);
      expect((await lists(a)).length).toBe(1);
    });

    it('a name of 100 code points (emoji count once) and a long valid key are fine; PUT validates alike; unknown and read-only fields are ignored', async () => {
      const a = await as();
      const list = await make(a, '😀'.repeat(100), `a1${'V'.repeat(200)}`);
      expect(list.name).toBe('😀'.repeat(100));
      expectError(await a.putList(list.id, loose({ name: '' })), 400, 'VALIDATION_ERROR', /^name /);
      expectError(await a.putList(list.id, loose({ position: 'a10' })), 400, 'VALIDATION_ERROR', /^position /);
      expectError(await a.putList(list.id, loose({ position: null })), 400, 'VALIDATION_ERROR', /^position /);
      const put = await a.putList(list.id, loose({ name: 'ok', version: 99, is_default: true, owner_id: 'someone', open_count: 5 }));
      expect(put.json().data).toMatchObject({ name: 'ok', version: 2, is_default: false, owner_id: a.user, open_count: 0 });
      expect((await a.getList(list.id)).json().data).toEqual(put.json().data);
      expectError(await a.getList('0x2a'), 400, 'VALIDATION_ERROR', /list_id/);
      expectError(await a.getList('07'), 400, 'VALIDATION_ERROR', /list_id/);
    });
  });

  it(`MAX_LISTS_PER_USER (4 here): owned lists, the Inbox included; 403 LIST_LIMIT_REACHED, also for creates at once; deleting frees one`, async () => {
    const a = await as();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => a.createList({ name: `l${i}` })));
    expect(answers.map((r) => r.statusCode).sort()).toEqual([201, 201, 201, 403, 403, 403, 403, 403]);
    const refused = answers.find((r) => r.statusCode === 403);
    expectError(refused as never, 403, 'LIST_LIMIT_REACHED', 'You own 4 lists, the most allowed: delete some to create more');
    expect((await lists(a)).length).toBe(4);
    // Lists shared with them do not count.
    const b = await as();
    await share((await make(b, 'shared')).id, a.user, 'editor');
    expect((await lists(a)).length).toBe(5);
    expectError(await a.createList({ name: 'one more' }), 403, 'LIST_LIMIT_REACHED');
    await a.delList(answers.find((r) => r.statusCode === 201)?.json().data.id);
    expect((await a.createList({ name: 'one more' })).statusCode).toBe(201);
  });
});
