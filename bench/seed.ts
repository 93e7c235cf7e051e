// Tokens and seed data, created through the API itself (POST /api/{user}/tasks).
import { randomBytes } from 'node:crypto';
import { signToken as mint } from '../test/helpers/tokens.js';

/** Fixed 40-character HS256 secret shared by the bench, our server and the reference. */
export const BENCH_SECRET = 'task-api-bench-secret-0123456789abcdefgh';

/** An HS256 token for `sub`, valid for 24 hours (a soak may run for hours). */
export function signToken(sub: string, secret = BENCH_SECRET): Promise<string> {
  return mint(sub, { secret, expiresIn: 24 * 3600 });
}

export interface BenchUser {
  id: string;
  token: string;
  taskIds: number[];
}

export interface SeedPlan {
  /** Ids are prefixed with this, so runs never collide even on a shared database. */
  tag: string;
  listTasks: number;
  users: number;
  tasksPerUser: number;
}

export interface SeedData {
  /** The user with exactly `listTasks` tasks (list-50, get-one, update, toggle, rejected). */
  listUser: BenchUser;
  /** A user with no seeded tasks: the create scenario writes here, so no list grows. */
  createUser: BenchUser;
  /** Many users for the mixed scenario. */
  users: BenchUser[];
  /** A well-formed HS256 token for listUser signed with another secret. */
  badToken: string;
  /** The list-50 response body as the target served it (for the HTTP ceiling). */
  listBody: string;
  /** Version-2 data (ours only): the large accounts of the new-query scenarios. */
  big?: BigData;
  lists?: ListsData;
  /** The list user's list ETag, read just before list-304 runs (ours only). */
  listEtag?: string | null;
  seedMs: number;
  seeded: number;
}

export function newSeedPlan(users: number, tasksPerUser: number, listTasks = 50): SeedPlan {
  return { tag: randomBytes(3).toString('hex'), listTasks, users, tasksPerUser };
}

async function makeUser(id: string): Promise<BenchUser> {
  return { id, token: await signToken(id), taskIds: [] };
}

export function seedTitle(i: number): string {
  return `Seed task ${i}`;
}

export function seedDescription(i: number): string {
  return `Seeded description number ${i} for the benchmark`;
}

/**
 * Creates the plan's users and tasks through `baseUrl` with at most `concurrency` requests in
 * flight (the reference's pool holds 15 connections: keep this well below). Throws on any non-201.
 */
export async function seedThroughApi(baseUrl: string, plan: SeedPlan, concurrency = 8): Promise<SeedData> {
  const t0 = Date.now();
  const listUser = await makeUser(`b${plan.tag}-list`);
  const createUser = await makeUser(`b${plan.tag}-create`);
  const users = await Promise.all(Array.from({ length: plan.users }, (_, i) => makeUser(`b${plan.tag}-u${i}`)));

  const jobs: Array<{ user: BenchUser; n: number }> = [];
  for (let i = 1; i <= plan.listTasks; i++) jobs.push({ user: listUser, n: i });
  for (let i = 1; i <= plan.tasksPerUser; i++) for (const user of users) jobs.push({ user, n: i });

  // Seed in order per user (ids and created_at ascend with n) while spreading users over workers.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as { user: BenchUser; n: number };
      const res = await fetch(`${baseUrl}/api/${job.user.id}/tasks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${job.user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: seedTitle(job.n), description: seedDescription(job.n) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`seed: POST /api/${job.user.id}/tasks -> ${res.status} ${text.slice(0, 300)}`);
      const id = (JSON.parse(text) as { data?: { id?: unknown } }).data?.id;
      if (typeof id !== 'number') throw new Error(`seed: no numeric data.id in ${text.slice(0, 300)}`);
      job.user.taskIds.push(id);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  const listRes = await fetch(`${baseUrl}/api/${listUser.id}/tasks`, {
    headers: { authorization: `Bearer ${listUser.token}` },
    signal: AbortSignal.timeout(30_000),
  });
  const listBody = await listRes.text();
  const count = listRes.status === 200 ? (JSON.parse(listBody) as { data?: unknown[] }).data?.length : undefined;
  if (count !== plan.listTasks) {
    throw new Error(`seed: GET list for ${listUser.id} -> ${listRes.status}, ${count} tasks (want ${plan.listTasks})`);
  }

  return {
    listUser,
    createUser,
    users,
    badToken: await signToken(listUser.id, 'not-the-bench-secret-0123456789abcdefghij'),
    listBody,
    seedMs: Date.now() - t0,
    seeded: jobs.length,
  };
}

/** The accounts of the version-2 query scenarios, seeded through the API like everything else. */
export interface BigData {
  /** A user with `filteredTasks` tasks of every priority, some tags and due dates (list-filtered). */
  filtered: BenchUser;
  /** A user with `deepTasks` tasks (search, page-deep). */
  deep: BenchUser;
  /** The filtered + sorted page of 50 (list-filtered): its query string. */
  filteredQuery: string;
  /** A word in about 1 % of the deep user's titles (search). */
  searchWord: string;
  /** Cursors of pages far into the deep user's newest-first list (page-deep rotates over them). */
  deepCursors: string[];
  seedMs: number;
}

export interface BigPlan {
  filteredTasks: number;
  deepTasks: number;
}

const PRIORITIES = ['none', 'none', 'low', 'medium', 'high'] as const;
const TAGS = ['work', 'home', 'errands', 'health', 'money', 'reading', 'garden', 'family'];
const WORDS = ['call', 'email', 'review', 'plan', 'buy', 'fix', 'write', 'read', 'clean', 'book', 'pay', 'send'];
const SEARCH_WORD = 'invoice';

/** Task n of a big account: a spread of priorities, 0-2 tags, half with a due date, 1 % with the search word. */
export function bigTask(n: number): Record<string, unknown> {
  const word = WORDS[n % WORDS.length] as string;
  const title = n % 100 === 7 ? `${word} the ${SEARCH_WORD} ${n}` : `${word} item ${n}`;
  const tags = n % 3 === 0 ? [] : n % 3 === 1 ? [TAGS[n % TAGS.length]] : [TAGS[n % TAGS.length], TAGS[(n >> 3) % TAGS.length]];
  const dueDay = (n * 7919) % 120; // spread over 120 days
  return {
    title,
    description: `Seeded description number ${n} for the benchmark`,
    priority: PRIORITIES[n % PRIORITIES.length],
    tags: [...new Set(tags)],
    due_at: n % 2 === 0 ? new Date(Date.UTC(2027, 0, 1) + dueDay * 86_400_000 + (n % 24) * 3_600_000).toISOString() : null,
  };
}

async function post(baseUrl: string, user: BenchUser, body: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${baseUrl}/api/${user.id}/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`seed: POST /api/${user.id}/tasks -> ${res.status} ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { data: { id: number } }).data.id;
}

async function getJson(baseUrl: string, user: BenchUser, query: string): Promise<{ data: unknown[]; next_cursor?: string | null }> {
  const res = await fetch(`${baseUrl}/api/${user.id}/tasks?${query}`, { headers: { authorization: `Bearer ${user.token}` }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`seed: GET /api/${user.id}/tasks?${query} -> ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as { data: unknown[]; next_cursor?: string | null };
}

/**
 * Seeds the two big accounts through the API (`concurrency` creates in flight), then walks the
 * deep one in pages of 200 to collect cursors from 80 % of the way on: a page deep into the list
 * costs what a first page costs only if the keyset position is used (an OFFSET would not).
 */
export async function seedBig(baseUrl: string, plan: SeedPlan, big: BigPlan, concurrency = 16): Promise<BigData> {
  const t0 = Date.now();
  const filtered = await makeUser(`b${plan.tag}-k${big.filteredTasks}`);
  const deep = await makeUser(`b${plan.tag}-d${big.deepTasks}`);
  const jobs: Array<[BenchUser, number]> = [];
  for (let n = 1; n <= Math.max(big.filteredTasks, big.deepTasks); n++) {
    if (n <= big.filteredTasks) jobs.push([filtered, n]);
    if (n <= big.deepTasks) jobs.push([deep, n]);
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const [user, n] = jobs[next++] as [BenchUser, number];
        await post(baseUrl, user, bigTask(n));
      }
    }),
  );
  const filteredQuery = 'status=pending&priority=high,medium&tag=work&sort=due_at&limit=50';
  const first = await getJson(baseUrl, filtered, filteredQuery);
  if (first.data.length === 0) throw new Error('seed: the filtered query finds nothing');
  if (big.filteredTasks >= 5000 && first.data.length !== 50) throw new Error(`seed: the filtered query gives ${first.data.length} tasks, not 50`);
  const found = await getJson(baseUrl, deep, `q=${SEARCH_WORD}&limit=50`);
  const withWord = big.deepTasks >= 7 ? Math.floor((big.deepTasks - 7) / 100) + 1 : 0;
  if (found.data.length !== Math.min(50, withWord)) throw new Error(`seed: the search gives ${found.data.length} tasks, not ${Math.min(50, withWord)}`);

  const deepCursors: string[] = [];
  let cursor: string | null | undefined;
  let seen = 0;
  do {
    const page = await getJson(baseUrl, deep, `limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    seen += page.data.length;
    cursor = page.next_cursor;
    if (cursor && seen >= big.deepTasks * 0.8) deepCursors.push(cursor);
  } while (cursor);
  if (seen !== big.deepTasks) throw new Error(`seed: walking the deep list gave ${seen} tasks, not ${big.deepTasks}`);
  if (deepCursors.length === 0) throw new Error('seed: no deep cursor (the deep list has fewer than 1,000 tasks?)');
  return { filtered, deep, filteredQuery, searchWord: SEARCH_WORD, deepCursors, seedMs: Date.now() - t0 };
}

/** The accounts of the version-3 reads across lists (all-tasks, all-tasks-due, all-filtered, list-position). */
export interface ListsData {
  /** A user with 20 lists (the Inbox and 19 more) and 10,000 tasks, 500 in each. */
  many: { user: BenchUser; listIds: number[] };
  /** A user with one list of 10,000 tasks (its Inbox), placed in creation order. */
  long: { user: BenchUser; listId: number };
  seedMs: number;
}

async function send(baseUrl: string, user: BenchUser, method: string, path: string, body?: unknown): Promise<{ data: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/api/${user.id}${path}`, {
    method,
    headers: { authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`seed: ${method} /api/${user.id}${path} -> ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as { data: Record<string, unknown> };
}

/**
 * Seeds the lists accounts through the API: the lists with POST /lists, the tasks (bigTask's spread
 * of priorities, tags and due dates) in atomic batches of 100, `concurrency` batches in flight.
 */
export async function seedLists(baseUrl: string, plan: SeedPlan, tasks = 10_000, lists = 20, concurrency = 4): Promise<ListsData> {
  const t0 = Date.now();
  const manyUser = await makeUser(`b${plan.tag}-m${lists}`);
  const longUser = await makeUser(`b${plan.tag}-p${tasks}`);
  const inboxOf = async (user: BenchUser) => ((await send(baseUrl, user, 'GET', '/lists')).data as unknown as { id: number }[])[0]?.id as number;
  const listIds = [await inboxOf(manyUser)];
  for (let i = 1; i < lists; i++) listIds.push((await send(baseUrl, manyUser, 'POST', '/lists', { name: `List ${i}` })).data.id as number);
  const longList = await inboxOf(longUser);
  const jobs: Array<{ user: BenchUser; list: number; from: number }> = [];
  for (let from = 0; from < tasks; from += 100) {
    jobs.push({ user: manyUser, list: listIds[(from / 100) % lists] as number, from });
    jobs.push({ user: longUser, list: longList, from });
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const { user, list, from } = jobs[next++] as (typeof jobs)[number];
        const operations = Array.from({ length: Math.min(100, tasks - from) }, (_, k) => ({ op: 'create', task: { ...bigTask(from + k + 1), list_id: list } }));
        await send(baseUrl, user, 'POST', '/tasks/batch', { atomic: true, operations });
      }
    }),
  );
  const all = await getJson(baseUrl, manyUser, 'limit=50');
  if (all.data.length !== 50) throw new Error(`seed: the all-tasks page gives ${all.data.length} tasks, not 50`);
  const long = await getJson(baseUrl, longUser, `list_id=${longList}&sort=position&limit=50`);
  if (long.data.length !== 50) throw new Error(`seed: the position page gives ${long.data.length} tasks, not 50`);
  return { many: { user: manyUser, listIds }, long: { user: longUser, listId: longList }, seedMs: Date.now() - t0 };
}

/** The list's current ETag (the list-304 scenario polls with it). */
export async function listEtag(baseUrl: string, user: BenchUser): Promise<string | null> {
  const res = await fetch(`${baseUrl}/api/${user.id}/tasks`, { headers: { authorization: `Bearer ${user.token}` }, signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  return res.headers.get('etag');
}
