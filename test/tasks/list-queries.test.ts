/**
 * API.md, Version 2, "Querying the list": q, priority, tag, due_before, due_after, sort, limit,
 * cursor; keyset pages bound to their query; the default list unchanged, and never cut silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, loose, type Api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

type Seed = { title: string; description?: string; priority?: 'none' | 'low' | 'medium' | 'high'; tags?: string[]; due_at?: string; done?: boolean };

/** Created in this order (so created_at and id rise in this order). */
const SEED: Seed[] = [
  { title: 'Buy milk', description: 'Oat milk, 2 litres', priority: 'high', tags: ['errands', 'home'], due_at: '2026-12-24T17:00:00Z' },
  { title: 'apple pie', priority: 'low', tags: ['Home'], due_at: '2026-12-20T10:00:00Z' },
  { title: 'Call mum', priority: 'high', tags: ['family'] },
  { title: '50% off sale', description: 'use code a_b', priority: 'medium', tags: ['errands'], due_at: '2026-12-20T10:00:00Z', done: true },
  { title: 'Banana bread', description: 'back\\slash recipe', priority: 'none', due_at: '2026-12-31T23:59:59Z' },
  { title: 'banana split', priority: 'high', tags: ['errands', 'treats'], done: true },
  { title: 'Write report', description: 'Q4 numbers', priority: 'medium', tags: ['work'], due_at: '2026-12-18T09:00:00Z' },
];

describe.each(drivers)('querying the list [%s]', (driver) => {
  let t: TestApp;
  let user: string;
  let me: Api;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    t = await buildTestApp(driver, { maxTasksPerPage: 5 });
    user = uniqueUser();
    me = await api(t.app, user);
    for (const s of SEED) {
      const { done, ...body } = s;
      const res = await me.create(body);
      expect(res.statusCode).toBe(201);
      ids[s.title] = res.json().data.id;
      if (done) await me.complete(ids[s.title] as number);
    }
    // Touch one so that updated_at order differs from created_at order.
    await me.put(ids['Buy milk'] as number, { description: 'Oat milk, 2 litres!' });
  });
  afterAll(async () => t?.close());

  const get = (query: string, as = me) => as.list(query);
  async function titles(query: string): Promise<string[]> {
    const res = await get(query);
    expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
    return (res.json().data as TaskJson[]).map((x) => x.title);
  }
  const all = (query: string) => titles(`${query}${query.includes('?') ? '&' : '?'}limit=200`);

  it('q: a case-insensitive substring of the title or the description', async () => {
    expect(await all('?q=MILK')).toEqual(['Buy milk']);
    expect(await all('?q=banana&sort=title')).toEqual(['Banana bread', 'banana split']);
    expect(await all('?q=q4')).toEqual(['Write report']);
  });

  it('q is taken literally: % _ and \\ match themselves', async () => {
    expect(await all('?q=50%25')).toEqual(['50% off sale']);
    expect(await all('?q=%25')).toEqual(['50% off sale']);
    expect(await all('?q=a_b')).toEqual(['50% off sale']);
    expect(await all('?q=_')).toEqual(['50% off sale']);
    expect(await all('?q=back%5Cslash')).toEqual(['Banana bread']);
    expect(await all('?q=%5C')).toEqual(['Banana bread']);
    expect(await all('?q=zzz')).toEqual([]);
  });

  it('q never matches across the title and the description (the search index joins them with U+001F)', async () => {
    const other = uniqueUser();
    const them = await api(t.app, other);
    const post = async (payload: Record<string, unknown>) =>
      expect((await them.create(loose(payload))).statusCode).toBe(201);
    await post({ title: 'end of title', description: 'start of description' });
    await post({ title: 'a\u001fb inside', description: 'x' });
    const found = async (q: string) => {
      const res = await get(`?q=${encodeURIComponent(q)}`, them);
      expect(res.statusCode).toBe(200);
      return (res.json().data as TaskJson[]).map((x) => x.title);
    };
    expect(await found('title\u001fstart')).toEqual([]);
    expect(await found('e\u001fs')).toEqual([]);
    expect(await found('a\u001fb')).toEqual(['a\u001fb inside']);
    expect(await found('title')).toEqual(['end of title']);
    expect(await found('of desc')).toEqual(['end of title']);
  });

  it('priority: comma-separated levels', async () => {
    expect(await all('?priority=high&sort=created_at')).toEqual(['Buy milk', 'Call mum', 'banana split']);
    expect(await all('?priority=low,medium&sort=created_at')).toEqual(['apple pie', '50% off sale', 'Write report']);
    expect(await all('?priority=none')).toEqual(['Banana bread']);
  });

  it('tag: repeatable, every given tag, compared case-insensitively', async () => {
    expect(await all('?tag=home&sort=created_at')).toEqual(['Buy milk', 'apple pie']);
    expect(await all('?tag=ERRANDS&sort=created_at')).toEqual(['Buy milk', '50% off sale', 'banana split']);
    expect(await all('?tag=errands&tag=Home')).toEqual(['Buy milk']);
    expect(await all('?tag=errands&tag=work')).toEqual([]);
  });

  it('due_before and due_after: due_at < before, due_at >= after; no due_at never matches', async () => {
    expect(await all('?due_before=2026-12-20T10:00:00Z')).toEqual(['Write report']);
    expect(await all('?due_after=2026-12-20T10:00:00Z&sort=due_at')).toEqual(['apple pie', '50% off sale', 'Buy milk', 'Banana bread']);
    expect(await all('?due_after=2026-12-20T10:00:00Z&due_before=2026-12-24T17:00:00Z&sort=due_at')).toEqual(['apple pie', '50% off sale']);
    expect(await all('?due_after=2026-12-24T18:00:00%2B01:00&sort=due_at')).toEqual(['Buy milk', 'Banana bread']);
  });

  it('status and the new filters combine with AND', async () => {
    expect(await all('?status=pending&priority=high&tag=errands')).toEqual(['Buy milk']);
    expect(await all('?filter=done&tag=errands&sort=title')).toEqual(['50% off sale', 'banana split']);
    expect(await all('?status=pending&q=a&due_before=2027-01-01T00:00:00Z&sort=-due_at')).toEqual(['Banana bread', 'Buy milk', 'apple pie']);
  });

  it('sort, each key both ways; ties break by id in the same direction; no due_at last both ways; title case-insensitive', async () => {
    const created = SEED.map((s) => s.title);
    expect(await all('')).toEqual([...created].reverse());
    expect(await all('?sort=-created_at')).toEqual([...created].reverse());
    expect(await all('?sort=created_at')).toEqual(created);
    // Each task was created (and the done ones toggled) in turn; Buy milk was edited last.
    const updated = [...created.filter((x) => x !== 'Buy milk'), 'Buy milk'];
    expect(await all('?sort=updated_at')).toEqual(updated);
    expect(await all('?sort=-updated_at')).toEqual([...updated].reverse());
    // apple pie and 50% off sale share a due date: by id.
    expect(await all('?sort=due_at')).toEqual(['Write report', 'apple pie', '50% off sale', 'Buy milk', 'Banana bread', 'Call mum', 'banana split']);
    expect(await all('?sort=-due_at')).toEqual(['Banana bread', 'Buy milk', '50% off sale', 'apple pie', 'Write report', 'banana split', 'Call mum']);
    expect(await all('?sort=priority')).toEqual(['Banana bread', 'apple pie', '50% off sale', 'Write report', 'Buy milk', 'Call mum', 'banana split']);
    expect(await all('?sort=-priority')).toEqual(['banana split', 'Call mum', 'Buy milk', 'Write report', '50% off sale', 'apple pie', 'Banana bread']);
    expect(await all('?sort=title')).toEqual(['50% off sale', 'apple pie', 'Banana bread', 'banana split', 'Buy milk', 'Call mum', 'Write report']);
    expect(await all('?sort=-title')).toEqual(['Write report', 'Call mum', 'Buy milk', 'banana split', 'Banana bread', 'apple pie', '50% off sale']);
  });

  it('pages: limit gives next_cursor and a Link with the same query; a walk returns every task once, in order', async () => {
    for (const sort of ['-created_at', 'due_at', '-due_at', 'priority', '-priority', 'title', 'updated_at']) {
      const expected = await all(`?sort=${sort}`);
      const seen: string[] = [];
      let query = `?sort=${sort}&limit=2`;
      for (let page = 0; page < 10; page++) {
        const res = await get(query);
        expect(res.statusCode).toBe(200);
        const body = res.json() as { data: TaskJson[]; message: string; next_cursor: string | null };
        expect(Object.keys(body).sort()).toEqual(['data', 'message', 'next_cursor']);
        seen.push(...body.data.map((x) => x.title));
        if (body.next_cursor === null) {
          expect(res.headers.link).toBeUndefined();
          break;
        }
        expect(res.headers.link).toBe(`</api/${user}/tasks?sort=${encodeURIComponent(sort)}&limit=2&cursor=${body.next_cursor}>; rel="next"`);
        query = `?sort=${encodeURIComponent(sort)}&limit=2&cursor=${body.next_cursor}`;
      }
      expect(seen, sort).toEqual(expected);
    }
  });

  it('pages sorted by due_at with due_before or due_after (no part for tasks without due_at): a walk returns every match once, in order', async () => {
    for (const query of ['sort=due_at&due_after=2026-12-20T10:00:00Z', 'sort=-due_at&due_before=2027-01-01T00:00:00Z', 'sort=-due_at&status=pending&due_after=2026-01-01T00:00:00Z']) {
      const expected = await all(`?${query}`);
      expect(expected.length, query).toBeGreaterThan(1);
      const seen: string[] = [];
      let next: string | null = null;
      for (let page = 0; page < 10; page++) {
        const res = await get(`?${query}&limit=1${next === null ? '' : `&cursor=${next}`}`);
        expect(res.statusCode).toBe(200);
        seen.push(...(res.json().data as TaskJson[]).map((x) => x.title));
        next = res.json().next_cursor;
        if (next === null) break;
      }
      expect(seen, query).toEqual(expected);
    }
  });

  it('the last page says next_cursor: null; a cursor without limit pages by 50', async () => {
    const res = await get('?limit=200');
    expect(res.json().next_cursor).toBeNull();
    const first = await get('?limit=3');
    const rest = await get(`?cursor=${first.json().next_cursor}`);
    expect(rest.json().data.map((x: TaskJson) => x.title)).toEqual((await all('')).slice(3));
    expect(rest.json().next_cursor).toBeNull();
  });

  it('without limit and cursor the body is exactly as before, and a list cut by the cap says where it goes on', async () => {
    // This app's MAX_TASKS_PER_LIST is 5; the user has 7 tasks.
    const res = await get('?status=all');
    expect(Object.keys(res.json()).sort()).toEqual(['data', 'message']);
    expect(res.json().data.map((x: TaskJson) => x.title)).toEqual((await all('')).slice(0, 5));
    const link = /^<([^>]+)>; rel="next"$/.exec(res.headers.link as string);
    expect(link?.[1]).toMatch(new RegExp(`^/api/${user}/tasks\\?status=all&limit=200&cursor=`));
    const next = await me.list((link?.[1] as string).slice((link?.[1] as string).indexOf('?')));
    expect(next.json().data.map((x: TaskJson) => x.title)).toEqual((await all('')).slice(5));
    expect((await get('?status=completed')).headers.link).toBeUndefined();
  });

  it('a cursor sent with other filters or another sort is a 400 naming cursor; a made-up one too', async () => {
    const cursor = (await get('?sort=title&limit=2')).json().next_cursor as string;
    expect((await get(`?sort=title&limit=5&cursor=${cursor}`)).statusCode).toBe(200); // the page size may change
    const other = 'cursor belongs to another query (other filters or another sort): start again without cursor';
    for (const q of ['?sort=-title', '?sort=title&priority=high', '?sort=title&q=a', '?sort=title&tag=x', '?sort=title&status=pending', '?sort=title&due_after=2026-01-01T00:00:00Z', '']) {
      expectError(await get(`${q}${q ? '&' : '?'}limit=2&cursor=${cursor}`), 400, 'VALIDATION_ERROR', other);
    }
    const bad = 'cursor is not a cursor of this API (take next_cursor of the previous page)';
    for (const c of ['abc', Buffer.from('["x",1]').toString('base64url'), Buffer.from('[1,2,3]').toString('base64url'), 'not+base64', '%00']) {
      expectError(await get(`?limit=2&cursor=${c}`), 400, 'VALIDATION_ERROR', bad);
    }
    // The right query with a position that does not fit its sort.
    const hash = JSON.parse(Buffer.from(cursor, 'base64url').toString())[0];
    expectError(await get(`?sort=title&limit=2&cursor=${Buffer.from(JSON.stringify([hash, 5, 1])).toString('base64url')}`), 400, 'VALIDATION_ERROR', bad);
  });

  it.each([
    ['?q=', 'q must not be empty'],
    [`?q=${'x'.repeat(201)}`, 'q must be at most 200 characters'],
    ['?priority=urgent', 'priority must be one or more of none, low, medium, high, separated by commas'],
    ['?priority=High', 'priority must be one or more of none, low, medium, high, separated by commas'],
    ['?priority=high,', 'priority must be one or more of none, low, medium, high, separated by commas'],
    ['?tag=', 'tag must not be empty'],
    [`?tag=${'x'.repeat(51)}`, 'tag must be at most 50 characters'],
    ['?due_before=2026-12-24', 'due_before must be an RFC 3339 date-time with an offset, such as 2026-12-24T17:00:00Z or 2026-12-24T18:00:00+01:00 (a date alone is not enough)'],
    ['?due_after=soon', 'due_after must be an RFC 3339 date-time with an offset, such as 2026-12-24T17:00:00Z or 2026-12-24T18:00:00+01:00 (a date alone is not enough)'],
    ['?sort=Title', 'sort must be one of created_at, -created_at, updated_at, -updated_at, due_at, -due_at, priority, -priority, title, -title, position, -position'],
    ['?sort=+title', 'sort must be one of created_at, -created_at, updated_at, -updated_at, due_at, -due_at, priority, -priority, title, -title, position, -position'],
    ['?limit=0', 'limit must be >= 1'],
    ['?limit=201', 'limit must be <= 200'],
    ['?limit=abc', 'limit must be an integer'],
    ['?limit=1e1', 'limit must be an integer'],
    ['?status=Pending', 'status must be one of all, pending, completed, active, open, incomplete, todo, done, complete'],
  ])('%s: 400 naming the parameter', async (query, message) => {
    expectError(await get(query), 400, 'VALIDATION_ERROR', message);
  });

  it('unknown parameters are ignored', async () => {
    expect(await titles('?page=2&per_page=1&order=asc')).toEqual((await all('')).slice(0, 5));
  });

  it("another user's tasks never appear, whatever the query; another user's cursor moves only within one's own", async () => {
    const other = uniqueUser();
    const them = await api(t.app, other);
    await them.create({ title: 'Buy milk too', priority: 'high', tags: ['errands'] });
    const theirs = await get('?q=milk&priority=high&tag=errands&limit=200', them);
    expect(theirs.json().data.map((x: TaskJson) => x.title)).toEqual(['Buy milk too']);
    const mine = await get('?q=milk&priority=high&tag=errands&limit=1');
    expect(mine.json().data.map((x: TaskJson) => x.title)).toEqual(['Buy milk']);
    const cursor = (await get('?limit=1')).json().next_cursor;
    const res = await get(`?limit=50&cursor=${cursor}`, them);
    expect(res.statusCode).toBe(200);
    expect(res.json().data.every((x: TaskJson) => x.user_id === other)).toBe(true);
  });
});

describe.each(drivers)('a page walk under concurrent writes [%s]', (driver) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp(driver);
  });
  afterAll(async () => t?.close());

  it('returns every task that stayed unchanged exactly once, while others are created, edited and deleted', async () => {
    const user = uniqueUser();
    const as = await api(t.app, user);
    const created: number[] = [];
    for (let i = 0; i < 120; i++) created.push((await as.create({ title: `task ${String(i).padStart(3, '0')}`, priority: (['none', 'low', 'medium', 'high'] as const)[i % 4] })).json().data.id);
    // A third of the tasks will be touched during the walk; the rest must come back exactly once.
    const touched = new Set(created.filter((_, i) => i % 3 === 0));
    const stable = created.filter((id) => !touched.has(id));
    for (const sort of ['-created_at', 'priority', 'title', '-updated_at']) {
      const seen: number[] = [];
      let cursor: string | null | undefined;
      let round = 0;
      const pool = [...touched];
      do {
        const res = await as.list(`?sort=${sort}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode).toBe(200);
        seen.push(...(res.json().data as TaskJson[]).map((x) => x.id));
        cursor = res.json().next_cursor;
        // Between pages: a create, an edit and a delete (of tasks outside the stable set).
        await Promise.all([
          as.create({ title: `new ${sort} ${round}`, priority: 'medium' }),
          pool.length > 0 ? as.put(pool.shift() as number, { title: `edited ${round}`, priority: 'high' }) : Promise.resolve(),
          pool.length > 0 ? as.del(pool.shift() as number) : Promise.resolve(),
        ]);
        round++;
      } while (cursor && round < 100);
      const counts = new Map<number, number>();
      for (const id of seen) counts.set(id, (counts.get(id) ?? 0) + 1);
      // An edited task may show up again at its new place; an unchanged one exactly once.
      expect(stable.filter((id) => counts.get(id) !== 1), sort).toEqual([]);
    }
  });
});
