/**
 * Jobs yield to a saturated API (src/background.ts, issue 29 "background work does not hurt the
 * foreground"): the API's process tells its job process when its event loop is saturated; a job
 * about to start waits while it is, YIELD_MAX_MS at most, then runs anyway. Here the runner runs in
 * the test's process with `apiBusy` set by the test (the server's own signal is its event loop's
 * utilization, over 0.9 for 250 ms).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJobs, YIELD_MAX_MS } from '../../src/background.js';
import { testConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { handler, jobs, jobType, type JobHandler } from '../../src/jobs/jobs.js';
import { installJobQueue, type JobRunner } from '../../src/jobs/runner.js';
import { drivers, freshDatabase, openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { sleep, waitFor } from '../helpers/process.js';

const PROBE = jobType<{ n: number }>('test.yield');
const silent = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} };

describe.each(drivers)('jobs yield to a saturated API [%s]', (driver) => {
  let db: TestDatabase;
  let database: Database;
  let runner: JobRunner;
  let busy = true;
  const ran = new Map<number, number>();

  beforeAll(async () => {
    db = await freshDatabase(driver);
    database = await openTestDatabase(db.url);
    await installJobQueue({ url: db.url, prepared: true }, silent);
    runner = await startJobs({
      config: testConfig({ databaseUrl: db.url, jobsConcurrency: 1, jobsPollIntervalMs: 200 }),
      database,
      live: () => undefined,
      log: silent,
      extraHandlers: [handler(PROBE, async ({ n }) => void ran.set(n, Date.now())) as JobHandler<never>],
      apiBusy: () => busy,
    });
  }, 60_000);
  afterAll(async () => {
    await runner?.stop();
    await database?.close();
    await db?.drop();
  });

  it('a job waits while the API is saturated, and runs as soon as it is not', async () => {
    busy = true;
    await jobs.add(database, PROBE, { n: 1 });
    await sleep(1500);
    expect(ran.has(1)).toBe(false);
    const freed = Date.now();
    busy = false;
    await waitFor('the job once the API is free', () => ran.has(1), 5000);
    expect((ran.get(1) ?? 0) - freed).toBeLessThan(1000);
  });

  it(`runs anyway after ${YIELD_MAX_MS} ms of a saturated API`, async () => {
    busy = true;
    const added = Date.now();
    await jobs.add(database, PROBE, { n: 2 });
    await waitFor('the job, late', () => ran.has(2), YIELD_MAX_MS + 5000);
    busy = false;
    const waited = (ran.get(2) ?? 0) - added;
    expect(waited).toBeGreaterThanOrEqual(YIELD_MAX_MS - 100);
    expect(waited).toBeLessThan(YIELD_MAX_MS + 3000);
  }, 20_000);
});
