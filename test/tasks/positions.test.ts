/**
 * Order among siblings (API.md, version 3, "Tasks in lists"): `position` keys of the
 * fractional-indexing algorithm (base 62), compared as bytes, ties by id; after the last sibling
 * by default; `POST /tasks/{id}/move` places a task after or before a sibling (first when neither),
 * the server computing the key; `sort=position` lists in that order, in keyset pages.
 */
import fc from 'fast-check';
import { generateKeyBetween } from 'fractional-indexing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

const BAD_POSITION = 'position must be a fractional-indexing key (base 62), as generateKeyBetween of the npm package fractional-indexing makes them';

describe.each(drivers)('positions [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  /** The caller's top-level tasks of their Inbox by position: ids. */
  const order = async (as: Api, query = '?sort=position&parent_id=none') => (await as.list(query)).json().data.map((x: TaskJson) => x.id) as number[];
  const create = async (as: Api, title: string, extra: object = {}) => {
    const res = await as.create(loose({ title, ...extra }));
    expect(res.statusCode, res.body).toBe(201);
    return res.json().data as TaskJson;
  };

  it('a new task goes after its last sibling (generateKeyBetween(last, null)); sort=position lists them so, -position the other way', async () => {
    const as = await api(t.app, uniqueUser());
    const [a, b, c] = [await create(as, 'a'), await create(as, 'b'), await create(as, 'c')];
    expect([a.position, b.position, c.position]).toEqual(['a0', 'a1', 'a2']);
    expect(await order(as)).toEqual([a.id, b.id, c.id]);
    expect(await order(as, '?sort=-position')).toEqual([c.id, b.id, a.id]);
    // After a key a client chose, wherever it is: the server's own computation matches the package's.
    for (const key of ['b00', 'Zz', 'a0V', 'zzzzzzzzzzzzzzzzzzzzzzzzzzz', 'a2zz']) {
      const user = await api(t.app, uniqueUser());
      await create(user, 'placed', { position: key });
      expect((await create(user, 'next')).position).toBe(generateKeyBetween(key, null));
    }
  });

  it('a position minted by the client (generateKeyBetween) is kept and ordered as bytes', async () => {
    const as = await api(t.app, uniqueUser());
    const [a, b] = [await create(as, 'a'), await create(as, 'b')];
    const between = await create(as, 'between', { position: generateKeyBetween(a.position, b.position) });
    const first = await create(as, 'first', { position: generateKeyBetween(null, a.position) });
    // 'Z' < 'a' as bytes, whatever the database's collation says.
    const upper = await create(as, 'upper', { position: 'Zy' });
    expect(await order(as)).toEqual([upper.id, first.id, a.id, between.id, b.id]);
    // Equal keys order by id.
    const twin = await create(as, 'twin', { position: a.position });
    expect(await order(as)).toEqual([upper.id, first.id, a.id, twin.id, between.id, b.id]);
  });

  it.each([['a'], ['a00'], ['b0'], ['a0!'], ['0a'], [`A${'0'.repeat(26)}`], ['a0 '], ['x'.repeat(1025)]])('position %j: 400 naming position, on POST and PUT', async (key) => {
    const as = await api(t.app, uniqueUser());
    const res = await as.create({ title: 'x', position: key });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatch(/^position /);
    const task = await create(as, 'y');
    const put = await as.put(task.id, { position: key });
    expect(put.statusCode).toBe(400);
    expect(put.json().error).toMatch(/^position /);
    expect((await as.get(task.id)).json().data).toMatchObject({ position: 'a0', version: 1 });
  });

  it('a key the package refuses (trailing zero, the smallest integer, a short integer part) is the 400 of the package check', async () => {
    const as = await api(t.app, uniqueUser());
    for (const key of ['a00', 'b0', `A${'0'.repeat(26)}`]) expectError(await as.create({ title: 'x', position: key }), 400, 'VALIDATION_ERROR', BAD_POSITION);
  });

  it('POST /move: after, before, between, first; If-Match; Idempotency-Key', async () => {
    const as = await api(t.app, uniqueUser());
    const [a, b, c, d] = [await create(as, 'a'), await create(as, 'b'), await create(as, 'c'), await create(as, 'd')];
    const moved = await as.move(d.id, { after_id: a.id });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toEqual({ data: expect.objectContaining({ id: d.id, version: 2, position: generateKeyBetween(a.position, b.position) }), message: 'Task moved successfully' });
    expect(moved.headers.etag).toBe('"2"');
    expect(await order(as)).toEqual([a.id, d.id, b.id, c.id]);
    expect((await as.move(a.id, { before_id: c.id })).statusCode).toBe(200);
    expect(await order(as)).toEqual([d.id, b.id, a.id, c.id]);
    expect((await as.move(c.id, {})).statusCode).toBe(200);
    expect(await order(as)).toEqual([c.id, d.id, b.id, a.id]);
    expect((await as.move(c.id, { after_id: b.id, before_id: a.id })).statusCode).toBe(200);
    expect(await order(as)).toEqual([d.id, b.id, c.id, a.id]);
    // If-Match: another version is a 412 and nothing moves.
    expectError(await as.move(c.id, { after_id: a.id }, { 'if-match': '"1"' }), 412, 'PRECONDITION_FAILED');
    expect(await order(as)).toEqual([d.id, b.id, c.id, a.id]);
    // Idempotency-Key: a retry replays, it does not move again.
    const once = await as.move(d.id, { after_id: a.id }, { 'idempotency-key': 'm1' });
    await as.move(d.id, {});
    const replay = await as.move(d.id, { after_id: a.id }, { 'idempotency-key': 'm1' });
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(once.json());
    expect(await order(as)).toEqual([d.id, b.id, c.id, a.id]);
  });

  it('POST /move: after_id or before_id that the caller cannot see, that is no sibling, or the task itself: 400 naming the field', async () => {
    const [as, other] = [await api(t.app, uniqueUser()), await api(t.app, uniqueUser())];
    const [a, b] = [await create(as, 'a'), await create(as, 'b')];
    const sub = await create(as, 'sub', { parent_id: a.id });
    const theirs = await create(other, 'theirs');
    expectError(await as.move(b.id, { after_id: theirs.id }), 400, 'VALIDATION_ERROR', 'after_id must be a task you can see');
    expectError(await as.move(b.id, { before_id: 2147483647 }), 400, 'VALIDATION_ERROR', 'before_id must be a task you can see');
    expectError(await as.move(b.id, { after_id: sub.id }), 400, 'VALIDATION_ERROR', /^after_id must be a sibling/);
    expectError(await as.move(b.id, { before_id: b.id }), 400, 'VALIDATION_ERROR', /^before_id must be a sibling/);
    expectError(await as.move(b.id, loose({ after_id: 'x' })), 400, 'VALIDATION_ERROR', /^after_id /);
    expectError(await as.move(theirs.id, {}), 404, 'NOT_FOUND', 'Task not found');
    expect((await as.get(b.id)).json().data.version).toBe(1);
  });

  it('sort=position pages with a cursor: a walk returns every task once, in order', async () => {
    const as = await api(t.app, uniqueUser());
    for (let i = 0; i < 7; i++) await create(as, `t${i}`, i % 3 === 0 ? { position: 'a0' } : {});
    const all = await order(as, '?sort=position');
    const walked: number[] = [];
    let query = '?sort=position&limit=3';
    for (;;) {
      const page = (await as.list(query)).json();
      walked.push(...page.data.map((x: TaskJson) => x.id));
      if (page.next_cursor === null) break;
      query = `?sort=position&limit=3&cursor=${page.next_cursor}`;
    }
    expect(walked).toEqual(all);
    expect(all).toHaveLength(7);
    expectError(await as.list('?sort=position&limit=3&cursor=' + Buffer.from(JSON.stringify(['x', 'a0', 1])).toString('base64url')), 400, 'VALIDATION_ERROR', /^cursor /);
  });

  it('concurrent creates at the end of a list each get their own key, in the order they were made', async () => {
    const as = await api(t.app, uniqueUser());
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => as.create({ title: `c${i}` })));
    expect(answers.map((x) => x.statusCode)).toEqual(Array(30).fill(201));
    const tasks: TaskJson[] = (await as.list('?sort=position&limit=100')).json().data;
    expect(tasks).toHaveLength(30);
    expect(new Set(tasks.map((x) => x.position)).size).toBe(30);
    // Each create went after the one before it: by position, the ids (given in commit order) ascend.
    expect(tasks.map((x) => x.id)).toEqual([...tasks.map((x) => x.id)].sort((x, y) => x - y));
  });

  it('concurrent moves between the same two neighbours still give a total order with distinct keys', async () => {
    const as = await api(t.app, uniqueUser());
    const [a, b] = [await create(as, 'a'), await create(as, 'b')];
    const movers: TaskJson[] = [];
    for (let i = 0; i < 12; i++) movers.push(await create(as, `m${i}`));
    const answers = await Promise.all(movers.map((m) => as.move(m.id, { after_id: a.id })));
    expect(answers.map((x) => x.statusCode)).toEqual(Array(12).fill(200));
    const tasks: TaskJson[] = (await as.list('?sort=position')).json().data;
    expect(tasks[0]?.id).toBe(a.id);
    expect(tasks.at(-1)?.id).toBe(b.id);
    expect(new Set(tasks.map((x) => x.position)).size).toBe(tasks.length);
    // Each mover answered the key it holds, and the keys sort as the list does.
    const keys = tasks.map((x) => x.position);
    expect([...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(keys);
  });

  it('random sequences of creates and moves keep the order the model expects (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('create' as const) }),
            fc.record({ op: fc.constant('after' as const), task: fc.nat(), anchor: fc.nat() }),
            fc.record({ op: fc.constant('before' as const), task: fc.nat(), anchor: fc.nat() }),
            fc.record({ op: fc.constant('first' as const), task: fc.nat() }),
            fc.record({ op: fc.constant('mint' as const), at: fc.nat() }),
          ),
          { minLength: 1, maxLength: 14 },
        ),
        async (ops) => {
          const as = await api(t.app, uniqueUser());
          const model: number[] = [];
          const keys = new Map<number, string>();
          for (const step of ops) {
            if (step.op === 'create') {
              const task = await create(as, 'c');
              model.push(task.id);
              keys.set(task.id, task.position);
            } else if (step.op === 'mint') {
              // A client places a task offline between two neighbours of its own copy.
              const i = model.length === 0 ? 0 : step.at % (model.length + 1);
              const before = i === 0 ? null : (keys.get(model[i - 1] as number) as string);
              const after = i === model.length ? null : (keys.get(model[i] as number) as string);
              if (before !== null && after !== null && before === after) continue;
              const task = await create(as, 'm', { position: generateKeyBetween(before, after) });
              model.splice(i, 0, task.id);
              keys.set(task.id, task.position);
            } else if (model.length >= (step.op === 'first' ? 1 : 2)) {
              const id = model[step.task % model.length] as number;
              const rest = model.filter((x) => x !== id);
              const anchor = step.op === 'first' ? undefined : (rest[(step as { anchor: number }).anchor % rest.length] as number);
              const body = step.op === 'after' ? { after_id: anchor } : step.op === 'before' ? { before_id: anchor } : {};
              const res = await as.move(id, body);
              expect(res.statusCode, res.body).toBe(200);
              keys.set(id, res.json().data.position);
              const at = anchor === undefined ? 0 : rest.indexOf(anchor) + (step.op === 'after' ? 1 : 0);
              rest.splice(at, 0, id);
              model.splice(0, model.length, ...rest);
            }
          }
          expect(await order(as)).toEqual(model);
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);
});
