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
