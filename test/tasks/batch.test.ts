/**
 * POST /tasks/batch (API.md, version 3, "Batch"): each operation answered exactly as its own route
 * answers the same request (compared with a twin user who sends the single requests); atomic
 * batches all or nothing, with the failing operation's index; uids of tasks created earlier in the
 * batch; 1 to 100 operations; one Idempotency-Key for the batch; one feed entry per applied
 * operation; per-operation roles across lists; per-operation validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { authHeader, buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import { makeList } from '../helpers/list-fixtures.js';
import type { TaskJson } from '../helpers/task-json.js';

type Reply = Awaited<ReturnType<Api['get']>>;
type Result = { status: number } & Record<string, unknown>;
type Op = Record<string, unknown>;

/** What differs between two users' equal tasks: ids, owners, uids, times. */
const VARYING = new Set(['id', 'user_id', 'list_id', 'uid', 'parent_id', 'created_at', 'updated_at', 'completed_at', 'due_at', 'position']);
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalized);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, VARYING.has(k) && v !== null ? `<${k}>` : normalized(v)]));
}
const asResult = (res: Reply): Result => ({ status: res.statusCode, ...(res.json() as object) });

describe.each(drivers)('POST /tasks/batch [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  const create = async (as: Api, title: string, extra: object = {}) => {
    const res = await as.create(loose({ title, ...extra }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data as TaskJson;
  };
  const batch = async (as: Api, operations: Op[], atomic?: boolean, headers?: Record<string, string>) =>
    as.batch(loose(atomic === undefined ? { operations } : { atomic, operations }), headers);
  const results = (res: Reply): Result[] => {
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.message).toBe('Batch processed successfully');
    return body.data.results as Result[];
  };
  const tasks = async (as: Api) => ((await as.list()).json().data as TaskJson[]).sort((a, b) => a.id - b.id);
  const seq = async (user: string) => Number((await t.database.rows<{ seq: string }>('select seq from user_changes where user_id = $1', [user]))[0]?.seq);

  it('answers each operation exactly as its own route answers the same request (a twin user sends those)', async () => {
    const [batcher, single] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    /** The same start for both: three tasks, the third a subtask of the first. */
    const world = async (as: Api) => {
      const a = await create(as, 'a', { tags: ['x'] });
      const b = await create(as, 'b');
      const c = await create(as, 'c', { parent_id: a.id });
      return { a, b, c, user: as.user };
    };
    type World = Awaited<ReturnType<typeof world>>;
    const [w1, w2] = [await world(batcher), await world(single)];
    // [the operation, the same request to its route]
    const steps: [(w: World) => Op, (as: Api, w: World) => Promise<Reply>][] = [
      [() => ({ op: 'create', task: { title: '  full  ', description: 'd', priority: 'high', tags: ['A', 'a', ' b '], due_at: '2026-12-24T17:00:00+01:00' } }),
        (as) => as.create(loose({ title: '  full  ', description: 'd', priority: 'high', tags: ['A', 'a', ' b '], due_at: '2026-12-24T17:00:00+01:00' }))],
      [(w) => ({ op: 'create', task: { title: 'sub', parent_id: w.b.id, uid: `${w.user}-sub`, ignored: 1 } }), (as, w) => as.create(loose({ title: 'sub', parent_id: w.b.id, uid: `${w.user}-sub`, ignored: 1 }))],
      [(w) => ({ op: 'create', task: { title: 'again', uid: `${w.user}-sub` } }), (as, w) => as.create(loose({ title: 'again', uid: `${w.user}-sub` }))],
      [() => ({ op: 'create', task: { title: '' } }), (as) => as.create(loose({ title: '' }))],
      [() => ({ op: 'create', task: { title: 'p', position: 'a' } }), (as) => as.create(loose({ title: 'p', position: 'a' }))],
      [() => ({ op: 'create', task: { title: 'r', recurrence: 'FREQ=DAILY' } }), (as) => as.create(loose({ title: 'r', recurrence: 'FREQ=DAILY' }))],
      [() => ({ op: 'create', task: { title: 'l', list_id: 999999 } }), (as) => as.create(loose({ title: 'l', list_id: 999999 }))],
      [(w) => ({ op: 'update', id: w.a.id, task: { title: ' A ', priority: 'low' } }), (as, w) => as.put(w.a.id, loose({ title: ' A ', priority: 'low' }))],
      [(w) => ({ op: 'update', id: w.a.id, if_match: '"1"', task: { title: 'stale' } }), (as, w) => as.put(w.a.id, loose({ title: 'stale' }), { 'if-match': '"1"' })],
      [(w) => ({ op: 'update', id: w.a.id, if_match: '"2"', task: { completed: true } }), (as, w) => as.put(w.a.id, loose({ completed: true }), { 'if-match': '"2"' })],
      [(w) => ({ op: 'update', id: w.b.id, task: { priority: 'urgent' } }), (as, w) => as.put(w.b.id, loose({ priority: 'urgent' }))],
      [(w) => ({ op: 'update', id: w.b.id, task: { uid: 'other' } }), (as, w) => as.put(w.b.id, loose({ uid: 'other' }))],
      [() => ({ op: 'update', id: 2147483000, task: { title: 'x' } }), (as) => as.put(2147483000, loose({ title: 'x' }))],
      [() => ({ op: 'update', id: 0, task: { title: 'x' } }), (as) => as.put(0, loose({ title: 'x' }))],
      [(w) => ({ op: 'complete', id: w.c.id }), (as, w) => as.complete(w.c.id)],
      [(w) => ({ op: 'complete', id: w.a.id, completed: false }), (as, w) => as.complete(w.a.id, { completed: false })],
      [(w) => ({ op: 'complete', id: w.b.id, completed: 'yes' }), (as, w) => as.complete(w.b.id, loose({ completed: 'yes' }))],
      [(w) => ({ op: 'complete', id: w.b.id, if_match: '"9"' }), (as, w) => as.complete(w.b.id, undefined, { 'if-match': '"9"' })],
      [(w) => ({ op: 'move', id: w.a.id, after_id: w.b.id }), (as, w) => as.move(w.a.id, { after_id: w.b.id })],
      [(w) => ({ op: 'move', id: w.c.id, parent_id: null, before_id: w.b.id }), (as, w) => as.move(w.c.id, { parent_id: null, before_id: w.b.id })],
      [(w) => ({ op: 'move', id: w.b.id, after_id: w.b.id }), (as, w) => as.move(w.b.id, { after_id: w.b.id })],
      [(w) => ({ op: 'move', id: w.b.id, after_id: -1 }), (as, w) => as.move(w.b.id, loose({ after_id: -1 }))],
      [(w) => ({ op: 'delete', id: w.b.id, if_match: '"7"' }), (as, w) => as.del(w.b.id, { 'if-match': '"7"' })],
      [(w) => ({ op: 'delete', id: w.b.id }), (as, w) => as.del(w.b.id)],
      [(w) => ({ op: 'delete', id: w.b.id }), (as, w) => as.del(w.b.id)],
    ];
    const got = results(await batch(batcher, steps.map(([op]) => op(w1))));
    const expected: Result[] = [];
    for (const [, call] of steps) expected.push(asResult(await call(single, w2)));
    expect(got).toHaveLength(steps.length);
    expect(normalized(got)).toEqual(normalized(expected));
    // The statuses, to read the test: every route and several of their errors took part.
    expect(got.map((r) => r.status)).toEqual([201, 201, 409, 400, 400, 400, 404, 200, 412, 200, 400, 400, 404, 400, 200, 200, 400, 412, 200, 200, 400, 400, 412, 200, 404]);
    expect(got[3]).toEqual({ status: 400, error: 'title must not be empty', code: 'VALIDATION_ERROR', detail: 'title must not be empty' });
    // And the two users' tasks ended alike.
    expect(normalized(await tasks(batcher))).toEqual(normalized(await tasks(single)));
  });

  it('atomic: all applied in order, or nothing at all and the failing operation with its index', async () => {
    const as = await api(t.app, uniqueUser());
    const a = await create(as, 'a');
    const b = await create(as, 'b');
    const before = await tasks(as);
    const cursor = (await as.changes()).json().data.cursor as string;
    const seqBefore = await seq(as.user);

    const failed = await batch(
      as,
      [
        { op: 'create', task: { title: 'new', uid: `${as.user}-new` } },
        { op: 'update', uid: `${as.user}-new`, task: { priority: 'high' } },
        { op: 'complete', id: a.id },
        { op: 'delete', id: b.id, if_match: '"5"' },
        { op: 'create', task: { title: 'never run' } },
      ],
      true,
    );
    expect(failed.statusCode).toBe(412);
    expect(failed.headers.etag).toBe('"1"');
    const message = 'The task has changed since the version in If-Match (it is now at version 1)';
    expect(failed.json()).toEqual({ error: message, code: 'PRECONDITION_FAILED', detail: message, index: 3 });
    // Nothing applied: the tasks, the feed, the counter and the uid are as before.
    expect(await tasks(as)).toEqual(before);
    expect((await as.changes({ since: cursor })).json().data.changes).toEqual([]);
    expect(await seq(as.user)).toBe(seqBefore);
    expect((await as.list({ uid: `${as.user}-new` })).json().data).toEqual([]);

    // A validation error in an atomic batch: its 400, with its index.
    const invalid = await batch(as, [{ op: 'create', task: { title: 'ok' } }, { op: 'update', id: a.id, task: { title: 5 } }], true);
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({ error: 'title must be a string', code: 'VALIDATION_ERROR', detail: 'title must be a string', index: 1 });
    expect(await tasks(as)).toEqual(before);

    const ok = results(
      await batch(
        as,
        [
          { op: 'create', task: { title: 'new', uid: `${as.user}-new` } },
          { op: 'update', uid: `${as.user}-new`, task: { priority: 'high' } },
          { op: 'complete', id: a.id },
          { op: 'delete', id: b.id, if_match: '"1"' },
        ],
        true,
      ),
    );
    expect(ok.map((r) => [r.status, r.message])).toEqual([
      [201, 'Task created successfully'],
      [200, 'Task updated successfully'],
      [200, 'Task marked as completed'],
      [200, 'Task deleted successfully'],
    ]);
    const created = ok[1]?.data as TaskJson;
    expect(created).toMatchObject({ title: 'new', priority: 'high', version: 2 });
    expect((await tasks(as)).map((x) => [x.id, x.completed])).toEqual([
      [a.id, true],
      [created.id, false],
    ]);
  });

  it('names tasks by uid: one created earlier in the batch, one from before; an unknown or unseen uid is that operation\'s 404', async () => {
    const as = await api(t.app, uniqueUser());
    const other = await api(t.app, uniqueUser());
    const old = await create(as, 'old', { uid: `${as.user}-old` });
    const theirs = await create(other, 'theirs', { uid: `${other.user}-theirs` });
    const got = results(
      await batch(as, [
        { op: 'create', task: { title: 'parent', uid: `${as.user}-p` } },
        { op: 'create', task: { title: 'child', uid: `${as.user}-c` } },
        { op: 'move', uid: `${as.user}-c`, parent_id: old.id },
        { op: 'update', uid: `${as.user}-p`, task: { description: 'named by uid' } },
        { op: 'complete', uid: `${as.user}-old`, completed: true },
        { op: 'delete', uid: `${as.user}-p` },
        { op: 'update', uid: `${as.user}-p`, task: { title: 'gone' } },
        { op: 'complete', uid: 'no-such-uid' },
        { op: 'delete', uid: `${other.user}-theirs` },
        { op: 'delete', task: {} },
        { op: 'delete', id: old.id, uid: `${as.user}-old` },
      ]),
    );
    const notFound = { status: 404, error: 'Task not found', code: 'NOT_FOUND', detail: 'Task not found' };
    expect(got.map((r) => r.status)).toEqual([201, 201, 200, 200, 200, 200, 404, 404, 404, 400, 400]);
    expect(got[2]?.data).toMatchObject({ title: 'child', parent_id: old.id });
    expect(got[3]?.data).toMatchObject({ title: 'parent', description: 'named by uid' });
    // Completing the parent completed the child moved under it (its cascade, as PATCH makes it).
    expect(got[4]?.data).toMatchObject({ id: old.id, completed: true });
    expect(got.slice(6, 9)).toEqual([notFound, notFound, notFound]);
    expect(got[9]).toMatchObject({ code: 'VALIDATION_ERROR', error: 'id or uid is required: the task the operation is on' });
    expect(got[10]).toMatchObject({ code: 'VALIDATION_ERROR', error: 'id and uid both name the task: give one of them' });
    expect((await other.get(theirs.id)).statusCode).toBe(200);
    expect((await tasks(as)).map((x) => [x.title, x.completed])).toEqual([
      ['old', true],
      ['child', true],
    ]);
  });

  it('takes 1 to 100 operations (100 creates with every field at its longest fit in the body limit); 101 or none is a 400 naming operations', async () => {
    const as = await api(t.app, uniqueUser());
    // Every field at its longest, in 4-byte characters where text is free: the biggest create there is.
    const wide = (n: number) => '😀'.repeat(n);
    const full = (i: number) => ({
      op: 'create',
      task: {
        title: wide(200),
        description: wide(1000),
        priority: 'medium',
        tags: Array.from({ length: 20 }, (_, k) => `${String(k).padStart(2, '0')}${wide(48)}`),
        due_at: '2026-12-24T17:00:00.000+01:00',
        recurrence: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;WKST=MO;COUNT=1000',
        repeat_from: 'completion',
        time_zone: 'America/Argentina/ComodRivadavia',
        uid: `${String(i).padStart(3, '0')}-${as.user}`.padEnd(64, 'x').slice(0, 64),
        position: `a${'V'.repeat(1023)}`,
        parent_id: null,
        assignee_id: as.user,
      },
    });
    const operations = Array.from({ length: 100 }, (_, i) => full(i));
    const size = Buffer.byteLength(JSON.stringify({ operations }));
    expect(size).toBeGreaterThan(950 * 1024); // far above the single routes' 64 KiB
    expect(size).toBeLessThan(2 * 1024 * 1024);
    const res = await batch(as, operations);
    const got = results(res);
    expect(got.filter((r) => r.status === 201)).toHaveLength(100);
    expect((await tasks(as)).length).toBe(100);

    const words = 'operations must hold 1 to 100 operations';
    expectError(await batch(as, [...operations.slice(0, 100).map(() => ({ op: 'delete', id: 1 })), { op: 'delete', id: 1 }]), 400, 'VALIDATION_ERROR', words);
    expectError(await batch(as, []), 400, 'VALIDATION_ERROR', words);
    expectError(await as.batch(loose({})), 400, 'VALIDATION_ERROR', 'operations is required');
    expectError(await as.batch(loose({ atomic: 'yes', operations: [{ op: 'delete', id: 1 }] })), 400, 'VALIDATION_ERROR', 'atomic must be a boolean');
    expectError(await as.batch(loose({ operations: [{ op: 'skip', id: 1 }] })), 400, 'VALIDATION_ERROR', 'operations[0].op must be one of create, update, complete, move, delete');
    expectError(await as.batch(loose([])), 400, 'VALIDATION_ERROR', 'body must be a JSON object');
    // Over its own limit (2 MiB): 413, as any body over the limit.
    const huge = { operations: [{ op: 'create', task: { title: 'x', description: 'y'.repeat(2 * 1024 * 1024) } }] };
    expectError(await as.batch(loose(huge)), 413, 'PAYLOAD_TOO_LARGE');
    expect((await tasks(as)).length).toBe(100);
  });

  it('one Idempotency-Key covers the batch: a repeat replays the answer and applies nothing twice', async () => {
    const as = await api(t.app, uniqueUser());
    const a = await create(as, 'a');
    const operations = [
      { op: 'create', task: { title: 'once' } },
      { op: 'complete', id: a.id },
      { op: 'delete', id: 2147483000 },
    ];
    const first = await batch(as, operations, false, { 'idempotency-key': 'batch-1' });
    const got = results(first);
    expect(got.map((r) => r.status)).toEqual([201, 200, 404]);
    const counter = await seq(as.user);
    const again = await batch(as, operations, false, { 'idempotency-key': 'batch-1' });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await seq(as.user)).toBe(counter);
    expect((await tasks(as)).map((x) => [x.title, x.completed])).toEqual([
      ['a', true],
      ['once', false],
    ]);
    expectError(await batch(as, operations.slice(0, 2), false, { 'idempotency-key': 'batch-1' }), 422, 'IDEMPOTENCY_KEY_REUSED');

    // Atomic under a key: the refusal is kept as the answer, with nothing applied, and replayed.
    const stop = [{ op: 'create', task: { title: 'not kept' } }, { op: 'delete', id: 2147483000 }];
    const refused = await batch(as, stop, true, { 'idempotency-key': 'batch-2' });
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toEqual({ error: 'Task not found', code: 'NOT_FOUND', detail: 'Task not found', index: 1 });
    const replay = await batch(as, stop, true, { 'idempotency-key': 'batch-2' });
    expect({ status: replay.statusCode, replayed: replay.headers['idempotent-replayed'], body: replay.json() }).toEqual({ status: 404, replayed: 'true', body: refused.json() });
    expect(await seq(as.user)).toBe(counter);
    expect((await tasks(as)).map((x) => x.title)).toEqual(['a', 'once']);

    // Not atomic under a key: each operation in its own savepoint; refused ones leave nothing behind.
    const keyed = results(await batch(as, [{ op: 'create', task: { title: 'kept' } }, { op: 'create', task: { title: 'x', list_id: 999999 } }], false, { 'idempotency-key': 'batch-3' }));
    expect(keyed.map((r) => r.status)).toEqual([201, 404]);
    expect(await seq(as.user)).toBe(counter + 1);
  });

  it('each applied operation is its own change in the feed, as its route makes it', async () => {
    const as = await api(t.app, uniqueUser());
    const a = await create(as, 'a');
    const b = await create(as, 'b');
    const cursor = (await as.changes()).json().data.cursor as string;
    const counter = await seq(as.user);
    const got = results(
      await batch(as, [
        { op: 'create', task: { title: 'one' } },
        { op: 'create', task: { title: 'two' } },
        { op: 'update', id: a.id, task: { title: 'a2' } },
        { op: 'update', id: 2147483000, task: { title: 'nothing' } },
        { op: 'delete', id: b.id },
        { op: 'create', task: { title: '' } },
      ]),
    );
    expect(got.map((r) => r.status)).toEqual([201, 201, 200, 404, 200, 400]);
    // Four applied operations, four changes (each a number of its own in the feed).
    expect(await seq(as.user)).toBe(counter + 4);
    const changes = (await as.changes({ since: cursor })).json().data.changes as { type: string; task?: TaskJson; id?: number }[];
    expect(changes.map((c) => (c.type === 'delete' ? ['delete', c.id] : ['upsert', c.task?.title]))).toEqual([
      ['upsert', 'one'],
      ['upsert', 'two'],
      ['upsert', 'a2'],
      ['delete', b.id],
    ]);
  });

  it('across lists with different roles: each operation as the caller\'s role in its list allows (403 for a viewer, 404 where not a member)', async () => {
    const owner = await api(t.app, uniqueUser());
    const callerId = uniqueUser();
    const caller = await api(t.app, callerId);
    await caller.list();
    const edits = await makeList(t.database, owner, { [callerId]: 'editor' }, 'Edits');
    const views = await makeList(t.database, owner, { [callerId]: 'viewer' }, 'Views');
    const hidden = await makeList(t.database, owner, {}, 'Hidden');
    const [e1, e2] = [await create(owner, 'e1', { list_id: edits }), await create(owner, 'e2', { list_id: edits })];
    const [v1, v2] = [await create(owner, 'v1', { list_id: views }), await create(owner, 'v2', { list_id: views })];
    const h1 = await create(owner, 'h1', { list_id: hidden });
    const operations: [Op, () => Promise<Reply>][] = [
      [{ op: 'create', task: { title: 'in edits', list_id: edits } }, () => caller.create({ title: 'in edits', list_id: edits })],
      [{ op: 'create', task: { title: 'in views', list_id: views } }, () => caller.create({ title: 'in views', list_id: views })],
      [{ op: 'create', task: { title: 'in hidden', list_id: hidden } }, () => caller.create({ title: 'in hidden', list_id: hidden })],
      [{ op: 'update', id: e1.id, task: { title: 'E1' } }, () => caller.put(e2.id, { title: 'E1' })],
      [{ op: 'update', id: v1.id, task: { title: 'V1' } }, () => caller.put(v2.id, { title: 'V1' })],
      [{ op: 'complete', id: v1.id }, () => caller.complete(v2.id)],
      [{ op: 'move', id: v1.id, list_id: edits }, () => caller.move(v2.id, { list_id: edits })],
      [{ op: 'move', id: e1.id, list_id: views }, () => caller.move(e2.id, { list_id: views })],
      [{ op: 'delete', id: v1.id }, () => caller.del(v2.id)],
      [{ op: 'delete', id: h1.id }, () => caller.del(h1.id)],
      [{ op: 'delete', id: e1.id }, () => caller.del(e2.id)],
    ];
    const got = results(await batch(caller, operations.map(([op]) => op)));
    const expected: Result[] = [];
    for (const [, call] of operations) expected.push(asResult(await call()));
    expect(normalized(got)).toEqual(normalized(expected));
    expect(got.map((r) => [r.status, r.code ?? null])).toEqual([
      [201, null],
      [403, 'FORBIDDEN'],
      [404, 'NOT_FOUND'],
      [200, null],
      [403, 'FORBIDDEN'],
      [403, 'FORBIDDEN'],
      [403, 'FORBIDDEN'],
      [403, 'FORBIDDEN'],
      [403, 'FORBIDDEN'],
      [404, 'NOT_FOUND'],
      [200, null],
    ]);
    // The viewer's tasks are untouched; atomic, the first 403 is the answer and nothing is applied.
    expect((await owner.get(v1.id)).json().data).toEqual(v1);
    const stopped = await batch(caller, [{ op: 'create', task: { title: 'not kept', list_id: edits } }, { op: 'complete', id: v1.id }], true);
    expect(stopped.statusCode).toBe(403);
    expect(stopped.json()).toMatchObject({ code: 'FORBIDDEN', index: 1 });
    expect(((await owner.list({ list_id: edits })).json().data as TaskJson[]).map((x) => x.title).sort()).toEqual(['in edits', 'in edits']); // the batch's and the single route's
  });

  it('creates in a row are made as the same creates one after another: answers, positions, ids in order, one change each in every member\'s feed', async () => {
    const [batcher, single] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    const memberId = uniqueUser();
    const member = await api(t.app, memberId);
    await member.list();
    /** The same start for both: a task in the Inbox, and a list shared with the member. */
    const world = async (as: Api) => {
      const first = await create(as, 'first');
      const shared = await makeList(t.database, as, { [memberId]: 'editor' }, 'Shared');
      return { first, shared, user: as.user };
    };
    const [w1, w2] = [await world(batcher), await world(single)];
    const ops = (w: typeof w1): Op[] => [
      { op: 'create', task: { title: 'one' } },
      { op: 'create', task: { title: ' two ', uid: `${w.user}-two`, tags: ['B', 'b'], priority: 'high' } },
      { op: 'create', task: { title: 'three', due_at: '2026-12-24T17:00:00Z', reminders: [{ minutes_before: 15 }], recurrence: 'FREQ=WEEKLY', assignee_id: w.user } },
      { op: 'update', uid: `${w.user}-two`, task: { title: 'two, renamed' } },
      { op: 'create', task: { title: 'taken', uid: `${w.user}-two` } },
      { op: 'create', task: { title: 'four', uid: `${w.user}-four` } },
      { op: 'create', task: { title: 'not a member', assignee_id: 'nobody-here' } },
      { op: 'create', task: { title: 'five' } },
      { op: 'create', task: { title: 'shared one', list_id: w.shared } },
      { op: 'create', task: { title: 'shared two', list_id: w.shared, assignee_id: memberId } },
    ];
    const counters = async (): Promise<[number, number, number]> => [await seq(batcher.user), await seq(single.user), await seq(memberId)];
    const [b0, s0, m0] = await counters();
    const memberCursor = (await member.changes()).json().data.cursor as string;
    const got = results(await batch(batcher, ops(w1)));
    const expected: Result[] = [];
    for (const op of ops(w2)) {
      const o = op as { op: string; uid?: string; task: Record<string, unknown> };
      if (o.op === 'update') {
        const id = (((await single.list({ uid: o.uid })).json().data as TaskJson[])[0] as TaskJson).id;
        expected.push(asResult(await single.put(id, loose(o.task))));
      } else expected.push(asResult(await single.create(loose(o.task))));
    }
    const [b1, s1, m1] = await counters();
    expect(got.map((r) => [r.status, r.code ?? null])).toEqual([
      [201, null],
      [201, null],
      [201, null],
      [200, null],
      [409, 'CONFLICT'],
      [201, null],
      [400, 'VALIDATION_ERROR'],
      [201, null],
      [201, null],
      [201, null],
    ]);
    // The twins' own ids (the assignee of "three") read alike.
    const asMe = (value: unknown, user: string) => JSON.parse(JSON.stringify(value).replaceAll(user, '<me>')) as unknown;
    expect(normalized(asMe(got, batcher.user))).toEqual(normalized(asMe(expected, single.user)));
    const byList = async (as: Api, list: number) => (await as.list({ list_id: list, sort: 'position' })).json().data as TaskJson[];
    const [mine, theirs] = [await byList(batcher, w1.first.list_id), await byList(single, w2.first.list_id)];
    // The same positions, in the order created, ids ascending in that order.
    expect(mine.map((x) => [x.title, x.position])).toEqual(theirs.map((x) => [x.title, x.position]));
    expect(mine.map((x) => x.title)).toEqual(['first', 'one', 'two, renamed', 'three', 'four', 'five']);
    expect(mine.map((x) => x.id)).toEqual([...mine.map((x) => x.id)].sort((a, b) => a - b));
    expect((await byList(batcher, w1.shared)).map((x) => [x.title, x.position, x.assignee_id])).toEqual([
      ['shared one', 'a0', null],
      ['shared two', 'a1', memberId],
    ]);
    // One change per applied operation, for the batcher and the single sender alike; the member of the shared list is told of its two.
    expect(b1 - b0).toBe(8);
    expect(s1 - s0).toBe(8);
    expect(m1 - m0).toBe(4); // the twin's two creates in their own shared list, and the batcher's two
    const told = (await member.changes({ since: memberCursor })).json().data.changes as { type: string; task: TaskJson }[];
    expect(told.filter((c) => c.task.list_id === w1.shared).map((c) => [c.type, c.task.title])).toEqual([
      ['upsert', 'shared one'],
      ['upsert', 'shared two'],
    ]);
  });

  it("creates in a row beyond the list owner's limit: those that fit are made, the rest are 403 TASK_LIMIT_REACHED; atomic, nothing", async () => {
    const small = await buildTestApp(driver, { maxTasksPerUser: 4 });
    try {
      const as = await api(small.app, uniqueUser());
      expect((await as.create({ title: 'kept' })).statusCode).toBe(201);
      const four = [1, 2, 3, 4].map((n) => ({ op: 'create', task: { title: `t${n}` } }));
      const stopped = await as.batch(loose({ atomic: true, operations: four }));
      expect(stopped.statusCode).toBe(403);
      expect(stopped.json()).toEqual({
        error: "The list's owner keeps 4 tasks, the most allowed: delete some to create more",
        code: 'TASK_LIMIT_REACHED',
        detail: "The list's owner keeps 4 tasks, the most allowed: delete some to create more",
        index: 3,
      });
      expect(((await as.list()).json().data as TaskJson[]).map((x) => x.title)).toEqual(['kept']);
      const res = await as.batch(loose({ operations: four }));
      expect(res.statusCode).toBe(200);
      expect((res.json().data.results as Result[]).map((r) => [r.status, r.code ?? null])).toEqual([
        [201, null],
        [201, null],
        [201, null],
        [403, 'TASK_LIMIT_REACHED'],
      ]);
      expect(((await as.list({ sort: 'position' })).json().data as TaskJson[]).map((x) => [x.title, x.position])).toEqual([
        ['kept', 'a0'],
        ['t1', 'a1'],
        ['t2', 'a2'],
        ['t3', 'a3'],
      ]);
    } finally {
      await small.close();
    }
  });

  it('needs a token, and the path user must be the token user', async () => {
    const user = uniqueUser();
    const payload = { operations: [{ op: 'delete', id: 1 }] };
    expectError(await t.app.inject({ method: 'POST', url: `/api/${user}/tasks/batch`, payload }), 401, 'UNAUTHORIZED');
    const res = await t.app.inject({ method: 'POST', url: `/api/${uniqueUser()}/tasks/batch`, payload, headers: await authHeader(user) });
    expectError(res, 403, 'FORBIDDEN');
  });
});

describe.each(drivers)('POST /tasks/batch, one request [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver, { rateLimitPerMinute: 2 });
  });
  afterAll(async () => t?.close());

  it('a batch of 100 operations counts as one request of the rate limit; other methods on its path are 405', async () => {
    const as = await api(t.app, uniqueUser());
    const operations = Array.from({ length: 100 }, (_, i) => ({ op: 'create', task: { title: `t${i}` } }));
    expect((await as.batch(loose({ operations }))).statusCode).toBe(200);
    expect((await as.batch(loose({ operations }))).statusCode).toBe(200);
    const third = await as.batch(loose({ operations }));
    expectError(third, 429, 'RATE_LIMITED');
    expect(third.headers['retry-after']).toBeDefined();
    const get = await t.app.inject({ method: 'GET', url: `/api/${as.user}/tasks/batch`, headers: await authHeader(as.user) });
    expectError(get, 405, 'METHOD_NOT_ALLOWED');
    expect(get.headers.allow).toBe('POST');
  });
});
