/**
 * API.md, Versions 2 and 3, "Querying the list" across lists: fast-check draws queries (status,
 * priority, tags, a due window, one list or all of them, a sort both ways, a small limit) over one
 * user's tasks in four lists, and a walk of the pages through the API must return exactly the tasks
 * a plain model keeps, in the model's order, each once: due_at ties broken by id, tasks without
 * due_at last both ways. Across lists each list is read on its own and the parts merged (and for
 * due_at, the dated tasks of every list before any undated one: tasks.query.ts), so a list whose
 * matches run short, or are all undated, must not change the page.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../helpers/databases.js';
import { api, type Api } from '../helpers/api.js';
import { buildTestApp, uniqueUser, type TestApp } from '../helpers/app.js';
import type { TaskJson } from '../helpers/task-json.js';

const PRIORITIES = ['none', 'low', 'medium', 'high'] as const;
const TAGS = ['work', 'home', 'gym'] as const;
/** Few distinct due dates, so that ties (broken by id) are common. */
const DUES = ['2027-01-01T09:00:00.000Z', '2027-01-02T09:00:00.000Z', '2027-01-03T09:00:00.000Z', '2027-01-05T18:30:00.000Z'] as const;
const SORTS = ['due_at', '-due_at', 'created_at', '-created_at', 'priority', '-priority', 'updated_at'] as const;
const RUNS = Number(process.env.PAGES_RUNS ?? 60);

type Task = TaskJson & { list_id: number; priority: (typeof PRIORITIES)[number]; tags: string[]; due_at: string | null; created_at: string; updated_at: string };

interface Query {
  status: 'pending' | 'completed' | undefined;
  priorities: (typeof PRIORITIES)[number][];
  tags: (typeof TAGS)[number][];
  dueBefore: string | undefined;
  dueAfter: string | undefined;
  list: number | undefined;
  sort: (typeof SORTS)[number];
  limit: number;
}

/** The model: the tasks the query keeps, in its order. */
function expected(tasks: Task[], q: Query, lists: number[]): number[] {
  const kept = tasks.filter(
    (t) =>
      (q.status === undefined || t.completed === (q.status === 'completed')) &&
      (q.priorities.length === 0 || q.priorities.includes(t.priority)) &&
      q.tags.every((tag) => t.tags.includes(tag)) &&
      (q.dueBefore === undefined || (t.due_at !== null && t.due_at < q.dueBefore)) &&
      (q.dueAfter === undefined || (t.due_at !== null && t.due_at >= q.dueAfter)) &&
      (q.list === undefined ? true : t.list_id === lists[q.list]),
  );
  const desc = q.sort.startsWith('-');
  const field = q.sort.replace('-', '') as 'due_at' | 'created_at' | 'priority' | 'updated_at';
  const value = (t: Task): string | number | null => (field === 'priority' ? PRIORITIES.indexOf(t.priority) : t[field]);
  const sign = desc ? -1 : 1;
  kept.sort((a, b) => {
    const [va, vb] = [value(a), value(b)];
    // No due_at: after every task that has one, whichever the direction.
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else if (va !== vb) {
      return (va < vb ? -1 : 1) * sign;
    }
    return (a.id - b.id) * sign;
  });
  return kept.map((t) => t.id);
}

function queryString(q: Query, lists: number[]): string {
  const parts: string[] = [`sort=${q.sort}`, `limit=${q.limit}`];
  if (q.status !== undefined) parts.push(`status=${q.status}`);
  if (q.priorities.length > 0) parts.push(`priority=${q.priorities.join(',')}`);
  for (const tag of q.tags) parts.push(`tag=${tag}`);
  if (q.dueBefore !== undefined) parts.push(`due_before=${q.dueBefore}`);
  if (q.dueAfter !== undefined) parts.push(`due_after=${q.dueAfter}`);
  if (q.list !== undefined) parts.push(`list_id=${lists[q.list]}`);
  return parts.join('&');
}

/** A filter in about one query of `1 / (1 + weight)`: most queries keep some tasks. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, none: T, weight = 2) => fc.oneof({ arbitrary: fc.constant(none), weight }, { arbitrary, weight: 1 });

const queries = fc.record<Query>({
  status: sometimes(fc.constantFrom('pending' as const, 'completed' as const), undefined),
  priorities: sometimes(fc.subarray([...PRIORITIES], { minLength: 1, maxLength: 3 }), []),
  tags: sometimes(fc.subarray([...TAGS], { minLength: 1, maxLength: 2 }), []),
  dueBefore: sometimes(fc.constantFrom(...DUES), undefined, 5),
  dueAfter: sometimes(fc.constantFrom(...DUES), undefined, 5),
  // Mostly across lists, mostly by due date: the merges this property is about.
  list: sometimes(fc.integer({ min: 0, max: 3 }), undefined, 3),
  sort: fc.oneof({ arbitrary: fc.constantFrom('due_at' as const, '-due_at' as const), weight: 3 }, { arbitrary: fc.constantFrom(...SORTS), weight: 2 }),
  limit: fc.integer({ min: 1, max: 9 }),
});

describe.each(drivers)('pages across lists, as a property [%s]', (driver) => {
  let t: TestApp;
  let me: Api;
  const lists: number[] = [];
  const tasks: Task[] = [];

  beforeAll(async () => {
    t = await buildTestApp(driver);
    me = await api(t.app, uniqueUser());
    lists.push((await me.lists()).json().data[0].id);
    for (const name of ['Work', 'Home', 'Undated']) {
      const res = await me.createList({ name });
      expect(res.statusCode).toBe(201);
      lists.push(res.json().data.id);
    }
    // 64 tasks, spread by a fixed rule: the last list's tasks have no due_at, the first list's few
    // matches of most filters run short of a page, and every field has ties.
    for (let n = 0; n < 64; n++) {
      const list = n % 7 === 0 ? 0 : n % 4 === 3 ? 3 : 1 + (n % 2);
      const res = await me.create({
        title: `task ${n}`,
        list_id: lists[list],
        priority: PRIORITIES[(n * 5) % 4],
        tags: TAGS.filter((_, i) => (n >> i) % 3 === 0),
        ...(list === 3 || n % 5 === 4 ? {} : { due_at: DUES[(n * 3) % DUES.length] }),
      });
      expect(res.statusCode, res.body).toBe(201);
      tasks.push(res.json().data as Task);
    }
    // Completed, and so updated later than they were created.
    for (const task of tasks.filter((_, n) => n % 3 === 1)) {
      const res = await me.complete(task.id, { completed: true });
      expect(res.statusCode, res.body).toBe(200);
      Object.assign(task, res.json().data);
    }
  });
  afterAll(async () => t?.close());

  it('a walk of the pages returns what the model keeps, in its order, each task once', async () => {
    let walked = 0;
    let mixed = 0;
    const dated = new Set(tasks.filter((x) => x.due_at !== null).map((x) => x.id));
    await fc.assert(
      fc.asyncProperty(queries, async (q) => {
        const query = queryString(q, lists);
        const seen: number[] = [];
        let cursor: string | null = null;
        for (let page = 0; page <= tasks.length; page++) {
          const res = await me.list(`?${query}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          expect(res.statusCode, `${query}: ${res.body}`).toBe(200);
          const body = res.json() as { data: TaskJson[]; next_cursor: string | null };
          expect(body.data.length, query).toBeLessThanOrEqual(q.limit);
          seen.push(...body.data.map((x) => x.id));
          cursor = body.next_cursor;
          if (cursor === null) break;
        }
        const want = expected(tasks, q, lists);
        expect(seen, query).toEqual(want);
        walked++;
        // A page across lists by due date that holds dated and undated tasks: the merge of the two parts.
        if (q.list === undefined && q.sort.endsWith('due_at') && want.some((id) => dated.has(id)) && want.some((id) => !dated.has(id))) mixed++;
      }),
      { numRuns: RUNS },
    );
    expect(walked).toBe(RUNS);
    expect(mixed, 'walks across lists by due date through dated and undated tasks').toBeGreaterThanOrEqual(RUNS / 10);
  });
});
