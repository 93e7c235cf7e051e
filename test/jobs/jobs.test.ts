/**
 * Background jobs (src/jobs/, docs/ARCHITECTURE.md "Background jobs"): added in the write's
 * transaction, run once across instances, at their time, re-planned and removed by key, and a job in
 * flight at shutdown finishes. Each job's effect is a row the handler writes: counted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler, jobs, jobType, type JobHandler } from '../../src/jobs/jobs.js';
import { installJobQueue } from '../../src/jobs/runner.js';
import type { Database } from '../../src/db/client.js';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { drivers, freshDatabase, openTestDatabase } from '../helpers/databases.js';
import { sleep, waitFor } from '../helpers/process.js';

const EFFECT = jobType<{ n: number; ms?: number }>('test.effect');

/** The handler: waits `ms`, then writes its effect, tagged with the instance that ran it. */
function effectHandler(database: () => Database, instance: string): JobHandler<never> {
  return handler(EFFECT, async ({ n, ms }) => {
    if (ms) await sleep(ms);
    await database().rows('insert into job_effects (n, instance, at) values ($1, $2, clock_timestamp())', [n, instance]);
  }) as JobHandler<never>;
}

const FAST = { jobsPollIntervalMs: 200, jobsConcurrency: 4 } as const;

/** An instance on the database at `url` whose runner also runs the effect jobs. */
async function instance(url: string, name: string): Promise<TestApp> {
  const database = await openTestDatabase(url);
  const app = await buildApp(testConfig({ rateLimitPerMinute: 0, databaseUrl: url, ...FAST }), { database, jobHandlers: [effectHandler(() => database, name)] });
  await app.ready();
  return {
    app,
    database,
    databaseUrl: url,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

async function effects(db: Database): Promise<{ n: number; instance: string; at: string }[]> {
  return db.rows('select n, instance, at from job_effects order by n', []);
}

describe.each(drivers)('background jobs [%s]', (driver) => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    // Two instances on one database, as two servers would be: each its own pool and runner.
    // Its handler writes through its own pool, which exists once the app does.
    const own: { db?: Database } = {};
    a = await buildTestApp(driver, FAST, { jobHandlers: [effectHandler(() => own.db as Database, 'a')] });
    own.db = a.database;
    await a.database.rows('create table job_effects (n int not null, instance text not null, at timestamptz not null)', []);
    b = await instance(a.databaseUrl, 'b');
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });
  const reset = () => a.database.rows('delete from job_effects', []);

  it('300 jobs, two instances running them: each effect exactly once', async () => {
    await reset();
    await jobs.addMany(a.database, EFFECT, Array.from({ length: 300 }, (_, n) => ({ payload: { n, ms: 5 } })));
    await waitFor('its effects', async () => (await effects(a.database)).length >= 300, 15_000);
    await sleep(500);
    const done = await effects(a.database);
    expect(done.map((e) => e.n)).toEqual(Array.from({ length: 300 }, (_, n) => n));
    // Both took part (not required for correctness; says the test ran what it means to).
    expect(new Set(done.map((e) => e.instance))).toEqual(new Set(['a', 'b']));
  });

  it('a job added in a write that rolls back never runs; one added in the same statement as the write runs once it commits', async () => {
    await reset();
    await a.database
      .transaction(async (tx) => {
        await jobs.add(tx, EFFECT, { n: 1 });
        throw new Error('roll back');
      })
      .catch(() => {});
    // One statement: the write and its job.
    const call = jobs.call(EFFECT, { n: 2 }, {}, 2);
    await a.database.rows(`with w as (insert into job_effects (n, instance, at) values ($1, 'write', now()) returning n) select (${call.text}).id from w`, [100, ...call.params]);
    await waitFor('its effects', async () => (await effects(a.database)).length >= 2, 15_000);
    await sleep(500);
    expect((await effects(a.database)).map((e) => [e.n, e.instance === 'write' ? 'write' : 'job'])).toEqual([
      [2, 'job'],
      [100, 'write'],
    ]);
  });

  it('runAt: not before its time, and within a poll interval (plus a little) after', async () => {
    await reset();
    const runAt = new Date(Date.now() + 1500);
    await jobs.add(a.database, EFFECT, { n: 7 }, { runAt });
    await waitFor('its effects', async () => (await effects(a.database)).length >= 1, 5000);
    const [done] = await effects(a.database);
    const late = new Date(done?.at as string).getTime() - runAt.getTime();
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(1500);
  });

  it('re-planning by key: adding with a key in use replaces the waiting job (time and payload); remove(key) takes it away', async () => {
    await reset();
    const soon = new Date(Date.now() + 800);
    await jobs.add(a.database, EFFECT, { n: 1 }, { key: 'test:task-1', runAt: new Date(Date.now() + 60_000) });
    await jobs.add(a.database, EFFECT, { n: 2 }, { key: 'test:task-1', runAt: soon });
    await jobs.add(a.database, EFFECT, { n: 3 }, { key: 'test:task-2', runAt: soon });
    await jobs.remove(a.database, 'test:task-2');
    await sleep(2000);
    expect((await effects(a.database)).map((e) => e.n)).toEqual([2]);
    expect(await a.database.rows("select key from graphile_worker.jobs where key like 'test:%'", [])).toEqual([]);
  });
});

describe.each(drivers)('background jobs at shutdown [%s]', (driver) => {
  it('a job in flight when the instance closes finishes, and is not run again', async () => {
    const fresh = await freshDatabase(driver);
    const watcher = await openTestDatabase(fresh.url);
    try {
      await watcher.rows('create table job_effects (n int not null, instance text not null, at timestamptz not null)', []);
      const t = await instance(fresh.url, 'a');
      await jobs.add(t.database, EFFECT, { n: 1, ms: 1500 });
      // Wait until it is taken (locked), then close while it runs.
      await waitFor('the job to be taken', async () => (await watcher.rows('select id from graphile_worker.jobs where locked_at is not null', [])).length > 0, 5000);
      await t.close();
      expect((await effects(watcher)).map((e) => e.n)).toEqual([1]);
      expect(await watcher.rows('select id, attempts, last_error, locked_at, run_at from graphile_worker.jobs', [])).toEqual([]);
    } finally {
      await watcher.close();
      await fresh.drop();
    }
  });
});

describe.each(drivers)('background jobs at shutdown, a job that does not stop [%s]', (driver) => {
  it('is released at the stop bound and retried, here by another instance: not lost, not held for hours', async () => {
    const fresh = await freshDatabase(driver);
    const watcher = await openTestDatabase(fresh.url);
    const STUCK = jobType<{ n: number }>('test.stuck');
    const stuck = (name: string, database: () => Database) =>
      handler(STUCK, async ({ n }, job) => {
        // The first attempt ignores its AbortSignal and runs past the runner's stop bound (4 s).
        if (job.attempt === 1) await sleep(6000);
        else await database().rows('insert into job_effects (n, instance, at) values ($1, $2, clock_timestamp())', [n, name]);
      }) as JobHandler<never>;
    try {
      await watcher.rows('create table job_effects (n int not null, instance text not null, at timestamptz not null)', []);
      const aDb = await openTestDatabase(fresh.url);
      const a = await buildApp(testConfig({ rateLimitPerMinute: 0, databaseUrl: fresh.url, ...FAST }), { database: aDb, jobHandlers: [stuck('a', () => aDb)] });
      await a.ready();
      await jobs.add(aDb, STUCK, { n: 1 });
      await waitFor('the job to be taken', async () => (await watcher.rows('select id from graphile_worker.jobs where locked_at is not null', [])).length > 0, 5000);
      const started = Date.now();
      await a.close();
      expect(Date.now() - started).toBeLessThan(5500);
      const [released] = await watcher.rows<{ attempts: number; locked_at: string | null; last_error: string | null }>(
        'select attempts, locked_at, last_error from graphile_worker.jobs',
        [],
      );
      expect(released).toMatchObject({ attempts: 1, locked_at: null });
      expect(released?.last_error).toBeTruthy();
      // Another instance retries it after graphile-worker's first backoff (e^1 s).
      const bDb = await openTestDatabase(fresh.url);
      const b = await buildApp(testConfig({ rateLimitPerMinute: 0, databaseUrl: fresh.url, ...FAST }), { database: bDb, jobHandlers: [stuck('b', () => bDb)] });
      await b.ready();
      try {
        await waitFor('its effects', async () => (await effects(watcher)).length > 0, 10_000);
        expect((await effects(watcher)).map((e) => [e.n, e.instance])).toEqual([[1, 'b']]);
      } finally {
        await b.close();
        await bDb.close();
        await sleep(2500); // the first attempt's handler ends in the background
        await aDb.close();
      }
    } finally {
      await watcher.close();
      await fresh.drop();
    }
  });
});

describe.each(drivers)("the queue's schema [%s]", (driver) => {
  it('installs on an empty database when several instances start at once', async () => {
    const fresh = await freshDatabase(driver, { empty: true });
    const quiet = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };
    try {
      await Promise.all([1, 2, 3, 4].map(() => installJobQueue({ url: fresh.url, prepared: true }, quiet)));
      const db = await openTestDatabase(fresh.url);
      try {
        const [row] = await db.rows<{ n: number }>('select count(*)::int as n from graphile_worker.migrations', []);
        expect(row?.n).toBeGreaterThan(0);
      } finally {
        await db.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});
