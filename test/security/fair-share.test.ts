import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccess } from '../../src/access/scope.js';
import type { Database } from '../../src/db/client.js';
import { drivers, openTestDatabase } from '../helpers/databases.js';
import { api } from '../helpers/api.js';
import { buildTestApp, expectError, uniqueUser, type TestApp } from '../helpers/app.js';

/** Seeds `n` tasks for `user` directly (as many writes would), in their Inbox, with the user's counter. */
async function seed(database: Database, user: string, n: number): Promise<void> {
  const { inboxId } = await createAccess(database).resolve(user);
  await database.rows(
    `with s as (update user_changes set seq = $2::int, task_count = $2::int where user_id = $1),
     t as (insert into tasks (user_id, list_id, title, description) select $1, $3, 'task ' || g, 'about ' || (g % 97) from generate_series(1, $2::int) g returning id)
     insert into feed_entries (user_id, kind, entity_id, seq) select $1, 1, id, row_number() over (order by id) from t`,
    [user, n, inboxId],
  );
}

/** Statements of the app that read pages of tasks and are running now (not waiting for a connection). */
async function runningPages(observer: Database): Promise<number> {
  const [row] = await observer.rows<{ n: number }>(
    "select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query ilike '%like%'",
    [],
  );
  return row?.n ?? 0;
}

describe.each(drivers)('one user cannot take the database from the others [%s]', (driver) => {
  let t: TestApp;
  let observer: Database;
  beforeAll(async () => {
    t = await buildTestApp(driver, { queryBudgetMs: 400 });
    observer = await openTestDatabase(t.databaseUrl, { poolMax: 2 });
  });
  afterAll(async () => {
    await observer?.close();
    await t?.close();
  });

  it("a user's costly reads in flight are bounded per process (COSTLY_READS_IN_FLIGHT_PER_USER, 1): 12 one-letter searches over 20,000 tasks at once hold one connection at a time, and all answer", async () => {
    const plain = await buildTestApp(driver);
    try {
      expect(await mostAtOnce(plain, 12)).toBe(1);
    } finally {
      await plain.close();
    }
  });

  it("a user's reads in flight are bounded per process (READS_IN_FLIGHT_PER_USER; 2 here, costly ones unbounded): at most 2 at once", async () => {
    const limited = await buildTestApp(driver, { readsInFlightPerUser: 2, costlyReadsInFlightPerUser: 100 });
    try {
      expect(await mostAtOnce(limited, 12)).toBeLessThanOrEqual(2);
    } finally {
      await limited.close();
    }
  });

  /** The most page statements of one user running at once while `n` one-letter searches over 20,000 tasks are in flight. */
  async function mostAtOnce(app: TestApp, n: number): Promise<number> {
    const observe = await openTestDatabase(app.databaseUrl, { poolMax: 2 });
    const user = uniqueUser();
    await seed(app.database, user, 20_000);
    const as = await api(app.app, user);
    let most = 0;
    let done = false;
    const watching = (async () => {
      while (!done) {
        most = Math.max(most, await runningPages(observe));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    try {
      // A different q each time: the page cache cannot answer them.
      const answers = await Promise.all(Array.from({ length: n }, (_, i) => as.list(`?q=${'abcdefghijklmnop'[i % 16]}&limit=50`)));
      expect(answers.map((a) => a.statusCode)).toEqual(Array(n).fill(200));
    } finally {
      done = true;
      await watching;
      await observe.close();
    }
    return most;
  }

  it('a page, /tags or /changes over its budget (QUERY_BUDGET_MS) is stopped in PostgreSQL and answered 503 saying so; other users and writes go on', async () => {
    const user = uniqueUser();
    const other = uniqueUser();
    const [as, them] = [await api(t.app, user), await api(t.app, other)];
    const created = await them.create({ title: 'mine' });
    expect(created.statusCode).toBe(201);
    // Another session holds the tasks table: every read of it waits, as a statement far too costly would run.
    const blocker = await openTestDatabase(t.databaseUrl, { poolMax: 1 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const holding = blocker.transaction(async (tx) => {
      await tx.rows('lock table tasks in access exclusive mode', []);
      locked();
      await held;
    });
    await isLocked;
    try {
      const budget = 'longer than its budget (QUERY_BUDGET_MS, 400 ms) and was stopped';
      for (const read of [() => as.list('?q=x'), () => as.tags(), () => as.changes()]) {
        const started = Date.now();
        const answer = await read();
        expect(Date.now() - started).toBeLessThan(3000);
        expectError(answer, 503, 'SERVICE_UNAVAILABLE');
        expect(answer.json().error).toContain(budget);
      }
      // Cancelled in PostgreSQL, not only abandoned: no statement of the app waits on the lock any more.
      const waiting = async () =>
        (
          await observer.rows<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()",
            [],
          )
        )[0]?.n;
      for (let i = 0; i < 50 && (await waiting()) !== 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await waiting()).toBe(0);
    } finally {
      release();
      await holding;
      await blocker.close();
    }
    const read = await them.get(created.json().data.id);
    expect(read.statusCode).toBe(200);
    expect((await as.list('?q=x')).statusCode).toBe(200);
  });
});
