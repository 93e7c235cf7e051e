/**
 * API.md, Version 2, "The task, grown": every instant the API takes lies in
 * 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999Z once in UTC, with an offset of at most ±15:59 and
 * no leap second; anything else is a 400 naming the field, and nothing is written. And a row holds
 * whatever SQL put there (a BC date, year 10000, infinity): reading it never fails (docs/API.md,
 * "Instants"): the list and its pages, one task, a write's answer, /changes, the event stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, routes } from '../helpers/api.js';
import { authHeader, buildTestApp, expectError, listen, uniqueUser, type TestApp } from '../helpers/app.js';
import { openSse } from '../helpers/sse.js';
import type { TaskJson } from '../helpers/task-json.js';

const SYNTAX = 'must be an RFC 3339 date-time with an offset, such as 2026-12-24T17:00:00Z or 2026-12-24T18:00:00+01:00 (a date alone is not enough)';
const RANGE = 'must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC';
const OFFSET = 'must have an offset of at most ±15:59';
const LEAP = 'must not be a leap second (:60)';

/** At and just inside both ends, and the largest offsets: taken, and returned in UTC. */
const TAKEN: [string, string][] = [
  ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ['0001-01-01T15:59:00+15:59', '0001-01-01T00:00:00.000Z'],
  ['0000-12-31T23:59:00-00:01', '0001-01-01T00:00:00.000Z'],
  ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ['9999-12-31T08:00:59.999-15:59', '9999-12-31T23:59:59.999Z'],
  ['2026-12-24T17:00:00-15:59', '2026-12-25T08:59:00.000Z'],
];

/** Just beyond: each a 400 with its reason. */
const REFUSED: [string, string][] = [
  ['0001-01-01T00:30:00+01:00', RANGE],
  ['0000-12-31T23:59:59.999Z', RANGE],
  ['0000-01-01T00:00:00Z', RANGE],
  ['0001-01-01T15:59:00+16:00', OFFSET],
  ['9999-12-31T23:59:59.9991Z', RANGE],
  ['9999-12-31T23:30:00-01:00', RANGE],
  ['9999-12-31T08:00:00-16:00', OFFSET],
  ['2026-01-01T00:00:00+16:00', OFFSET],
  ['2026-01-01T00:00:00-16:00', OFFSET],
  ['2026-12-31T23:59:60Z', LEAP],
  ['2026-06-30T23:59:60Z', LEAP],
  ['10000-01-01T00:00:00Z', SYNTAX],
  ['2026-02-30T00:00:00Z', SYNTAX],
];

describe.each(drivers)('instants [%s]', (driver) => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await buildTestApp(driver);
    url = await listen(t.app);
  });
  afterAll(async () => t?.close());

  async function as(user = uniqueUser()) {
    const call = await api(t.app, user);
    const create = async (body: Record<string, unknown>) => (await call.create(loose(body))).json().data as TaskJson;
    return { user, call, create };
  }

  it.each(TAKEN)('due_at %s is taken, as %s', async (given, stored) => {
    const api = await as();
    const res = await api.call.create({ title: 'edge', due_at: given });
    expect(res.statusCode, res.body).toBe(201);
    const task = res.json().data as TaskJson;
    expect(task.due_at).toBe(stored);
    expect((await api.call.put(task.id, { due_at: given })).json().data.due_at).toBe(stored);
    expect((await api.call.get(task.id)).json().data.due_at).toBe(stored);
    expect((await api.call.list(`?due_after=${encodeURIComponent(given)}`)).json().data).toHaveLength(1);
    expect((await api.call.list(`?due_before=${encodeURIComponent(given)}`)).json().data).toHaveLength(0);
  });

  it.each(REFUSED)('due_at %s is a 400 naming the field, and nothing is written (retries neither)', async (given, words) => {
    const api = await as();
    for (const key of [undefined, 'same-key', 'same-key']) {
      const headers: Record<string, string> = key === undefined ? {} : { 'idempotency-key': key };
      expectError(await api.call.create({ title: 'x', due_at: given }, headers), 400, 'VALIDATION_ERROR', `due_at ${words}`);
    }
    const list = await api.call.list();
    expect({ status: list.statusCode, data: list.json().data }).toEqual({ status: 200, data: [] });
    expect((await api.call.changes()).json().data.changes).toEqual([]);

    const task = await api.create({ title: 'kept', due_at: '2026-12-24T17:00:00Z' });
    expectError(await api.call.put(task.id, { title: 'changed', due_at: given }), 400, 'VALIDATION_ERROR', `due_at ${words}`);
    expect((await api.call.get(task.id)).json().data).toEqual(task);
    for (const name of ['due_before', 'due_after']) {
      expectError(await api.call.list(`?${name}=${encodeURIComponent(given)}`), 400, 'VALIDATION_ERROR', `${name} ${words}`);
    }
  });

  it('due_before and due_after take any offset form the format allows (±hh, ±hhmm), in UTC', async () => {
    const api = await as();
    await api.create({ title: 'due', due_at: '2026-12-24T16:30:00Z' });
    expect((await api.call.list(`?due_before=${encodeURIComponent('2026-12-24T17:00:00+01')}`)).json().data).toHaveLength(0);
    expect((await api.call.list(`?due_after=${encodeURIComponent('2026-12-24T17:00:00+0100')}`)).json().data).toHaveLength(1);
  });

  /** Tasks whose timestamps SQL moved beyond the API's range (an older version let such a due_at in). */
  async function beyondRange() {
    const api = await as();
    const { cursor } = (await api.call.changes()).json().data as { cursor: string };
    const plain = await api.create({ title: 'plain', due_at: '2026-12-24T17:00:00Z' });
    const odd: TaskJson[] = [];
    const values = [
      { due_at: '0001-12-31 23:30:00+00 BC', created_at: '0044-03-15 12:00:00+00 BC', completed_at: '-infinity' },
      { due_at: '0500-06-01 00:00:00+00 BC', created_at: '-infinity', completed_at: null },
      { due_at: '10000-01-01 00:30:00+00', created_at: '12000-01-01 00:00:00+00', completed_at: '20000-01-01 00:00:00+00' },
      { due_at: 'infinity', created_at: 'infinity', completed_at: 'infinity' },
      { due_at: '-infinity', created_at: '0001-01-01 00:00:00+00 BC', completed_at: null },
    ];
    for (const [i, v] of values.entries()) {
      const task = await api.create({ title: `odd ${i}` });
      // A change like any other (a new number of the user's sequence), so /changes and the streams carry it.
      await t.database.rows(
        `with s as (update user_changes set seq = seq + 1 where user_id = $1 returning seq),
         t as (update tasks set due_at = $3::timestamptz, created_at = $4::timestamptz, updated_at = $4::timestamptz, completed_at = $5::timestamptz,
           completed = $5::timestamptz is not null where user_id = $1 and id = $2 returning id)
         insert into feed_entries (user_id, kind, entity_id, seq) select $1, 1, t.id, s.seq from s, t
         on conflict (user_id, kind, entity_id) do update set seq = excluded.seq`,
        [api.user, task.id, v.due_at, v.created_at, v.completed_at],
      );
      odd.push(task);
    }
    return { api, cursor, plain, ids: [plain.id, ...odd.map((o) => o.id)] };
  }

  const MIN = '0001-01-01T00:00:00.000Z';
  const MAX = '9999-12-31T23:59:59.999Z';

  it('a row holding a BC date, a year past 9999 or infinity reads clamped to the range: list, one task, a write, /changes', async () => {
    const { api, ids } = await beyondRange();
    const list = await api.call.list();
    expect(list.statusCode, list.body).toBe(200);
    const byId = new Map((list.json().data as TaskJson[]).map((x) => [x.id, x]));
    expect([...byId.keys()].sort()).toEqual([...ids].sort());
    const pick = ({ due_at, created_at, updated_at, completed_at }: TaskJson) => ({ due_at, created_at, updated_at, completed_at });
    expect(ids.slice(1).map((id) => pick(byId.get(id) as TaskJson))).toEqual([
      { due_at: MIN, created_at: MIN, updated_at: MIN, completed_at: MIN },
      { due_at: MIN, created_at: MIN, updated_at: MIN, completed_at: null },
      { due_at: MAX, created_at: MAX, updated_at: MAX, completed_at: MAX },
      { due_at: MAX, created_at: MAX, updated_at: MAX, completed_at: MAX },
      { due_at: MIN, created_at: MIN, updated_at: MIN, completed_at: null },
    ]);
    for (const id of ids) {
      const one = await api.call.get(id);
      expect({ status: one.statusCode, data: one.json().data }).toEqual({ status: 200, data: byId.get(id) });
    }
    const changes = await api.call.changes();
    expect(changes.statusCode, changes.body).toBe(200);
    expect((changes.json().data.changes as { task: TaskJson }[]).map((c) => c.task).sort((a, b) => a.id - b.id)).toEqual([...byId.values()].sort((a, b) => a.id - b.id));
    // Writes on such a row answer it (a title change keeps the odd due_at; a new due_at replaces it).
    const put = await api.call.put(ids[1] as number, { title: 'renamed' });
    expect({ status: put.statusCode, due_at: put.json().data.due_at, version: put.json().data.version }).toEqual({ status: 200, due_at: MIN, version: 2 });
    const toggled = await api.call.complete(ids[3] as number);
    expect({ status: toggled.statusCode, due_at: toggled.json().data.due_at }).toEqual({ status: 200, due_at: MAX });
    const fixed = await api.call.put(ids[4] as number, { due_at: '2030-01-01T00:00:00Z' });
    expect(fixed.json().data.due_at).toBe('2030-01-01T00:00:00.000Z');
    const deleted = await api.call.del(ids[5] as number);
    expect({ status: deleted.statusCode, due_at: deleted.json().data.due_at }).toEqual({ status: 200, due_at: MIN });
  });

  it('the event stream replays and sends such rows (as /changes has them)', async () => {
    const { api, cursor, ids } = await beyondRange();
    const stream = await openSse(`${url}${routes.events(api.user)}?since=${cursor}`, await authHeader(api.user));
    try {
      expect(stream.status).toBe(200);
      const changes = (await api.call.changes(`?since=${cursor}`)).json().data.changes as unknown[];
      await stream.next((e) => e.event === 'ready');
      await stream.next(() => stream.events.filter((e) => e.event === 'upsert').length === changes.length);
      const replayed = stream.events.filter((e) => e.event === 'upsert').map((e) => JSON.parse(e.data) as unknown);
      expect(replayed).toEqual(changes);
      expect(replayed).toHaveLength(ids.length);
      await api.call.put(ids[2] as number, { title: 'live' });
      const live = await stream.next((e) => e.event === 'upsert' && (JSON.parse(e.data) as { task: TaskJson }).task.title === 'live');
      expect((JSON.parse(live.data) as { task: TaskJson }).task).toMatchObject({ id: ids[2], due_at: MIN, created_at: MIN });
    } finally {
      stream.close();
    }
  });

  it.each(['due_at', '-due_at', 'created_at', '-created_at', 'updated_at', '-updated_at'])(
    'pages sorted by %s walk such rows exactly once each (the cursor keeps their real position)',
    async (sort) => {
      const { api, ids } = await beyondRange();
      const seen: number[] = [];
      let next: string | null = null;
      for (let page = 0; page < 20; page++) {
        const res = await api.call.list(`?sort=${sort}&limit=1${next === null ? '' : `&cursor=${next}`}`);
        expect(res.statusCode, res.body).toBe(200);
        seen.push(...(res.json().data as TaskJson[]).map((x) => x.id));
        next = res.json().next_cursor as string | null;
        if (next === null) break;
      }
      expect(next).toBeNull();
      expect([...seen].sort()).toEqual([...ids].sort());
      // And in the list's own order (the same query without pages).
      expect(seen).toEqual(((await api.call.list(`?sort=${sort}`)).json().data as TaskJson[]).map((x) => x.id));
    },
  );

  it('a cursor carrying an impossible date is a 400 naming cursor', async () => {
    const api = await as();
    await api.create({ title: 'a', due_at: '2026-01-01T00:00:00Z' });
    await api.create({ title: 'b', due_at: '2026-01-02T00:00:00Z' });
    for (const sort of ['created_at', 'due_at']) {
      const first = (await api.call.list(`?sort=${sort}&limit=1`)).json() as { next_cursor: string };
      const [hash, , id] = JSON.parse(Buffer.from(first.next_cursor, 'base64url').toString()) as [string, string, number];
      for (const value of [
        '2026-02-30T00:00:00.000Z',
        '0000-01-01T00:00:00.000Z',
        '2026-12-31T23:59:60.000Z',
        '2026-01-01T24:00:00.000Z',
        '+010000-01-01T00:00:00.000Z',
        '0001-02-30 00:00:00+00 BC',
        '5000-01-01 00:00:00+00 BC',
        '300000-01-01 00:00:00+00',
        '2026-01-01 00:00:00+00',
        'tomorrow',
      ]) {
        const cursor = Buffer.from(JSON.stringify([hash, value, id])).toString('base64url');
        expectError(
          await api.call.list(`?sort=${sort}&limit=1&cursor=${cursor}`),
          400,
          'VALIDATION_ERROR',
          'cursor is not a cursor of this API (take next_cursor of the previous page)',
        );
      }
    }
  });
});
