// Which PostgreSQL job queue for background jobs (reminders, Web Push, webhooks): graphile-worker or
// pg-boss, measured on a fresh database of each on the external PostgreSQL (created and dropped here):
//
//   npm run bench:queue [-- --database-url postgresql://postgres@127.0.0.1:5432/postgres] [--only graphile-worker|pg-boss]
//
// (a) enqueue in the same transaction as an application write (postgres.js, our driver), per job,
//     against the same transaction without it; and a rolled-back write leaves no job;
// (b) due-to-run latency of jobs scheduled 1-8 s ahead, two runners, each job run exactly once;
// (c) throughput: 10,000 jobs due at once, two runners;
// (d) idle load: queries per second the two runners send while nothing is due (counted in `pg`,
//     the driver both use);
// (e) re-planning: replace a scheduled job by key (new time, new payload), remove it by key.
// Bounded: about 80 s in all.
import { parseArgs } from 'node:util';
import pg from 'pg';
import postgres from 'postgres';
import { Logger, run, runMigrations, type Runner } from 'graphile-worker';
import { PgBoss } from 'pg-boss';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';

const { values } = parseArgs({
  options: { 'database-url': { type: 'string' }, only: { type: 'string' }, latency: { type: 'string', default: '200' }, burst: { type: 'string', default: '10000' } },
});
const server = values['database-url'] ?? DEFAULT_PG_SERVER;
const LATENCY_JOBS = Number(values.latency);
const BURST_JOBS = Number(values.burst);
const ENQUEUES = 400;

// Every query `pg` sends (both queues use it), counted per database: the idle load.
const queries = new Map<string, number>();
const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown; database?: string };
const originalQuery = clientProto.query;
clientProto.query = function counted(this: { database?: string }, ...args: unknown[]) {
  const db = this.database ?? '?';
  queries.set(db, (queries.get(db) ?? 0) + 1);
  return originalQuery.apply(this, args);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const sorted = (o: unknown): string => JSON.stringify(Object.entries((o ?? {}) as object).sort(([a], [b]) => a.localeCompare(b)));
const sameJson = (a: unknown, b: unknown) => sorted(a) === sorted(b);
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;

interface Result {
  queue: string;
  enqueueMs: number;
  baselineMs: number;
  sharesTx: string;
  latencyP50: number;
  latencyP99: number;
  latencyMax: number;
  exactlyOnce: string;
  burstSeconds: number;
  idleQps: number;
  replan: string;
}

interface Harness {
  name: string;
  /** Installs the schema. */
  install(url: string): Promise<void>;
  /** Enqueues one job in `tx` (postgres.js) beside an insert of ours. */
  enqueueWithWrite(tx: postgres.TransactionSql, id: number, runAt: Date, key: string): Promise<void>;
  /** Many jobs due at `runAt`, in one call. */
  bulk(sql: postgres.Sql, n: number, runAt: (i: number) => Date, offset: number): Promise<void>;
  /** Starts one runner whose handler calls `onJob(payload)`. */
  start(url: string, onJob: (payload: { i: number; at: number }) => void | Promise<void>): Promise<() => Promise<void>>;
  /** Jobs still waiting (not run). */
  pending(sql: postgres.Sql): Promise<number>;
  replace(sql: postgres.Sql, key: string, runAt: Date, payload: object): Promise<void>;
  remove(sql: postgres.Sql, key: string): Promise<void>;
  /** Jobs carrying `key`, with their run time and payload. */
  byKey(sql: postgres.Sql, key: string): Promise<{ run_at: string; payload: unknown }[]>;
}

const quiet = new Logger(() => () => {});

const graphile: Harness = {
  name: 'graphile-worker',
  async install(url) {
    await runMigrations({ connectionString: url, logger: quiet });
  },
  async enqueueWithWrite(tx, id, runAt, key) {
    // One statement: our write and the job, as the app will do it.
    await tx.unsafe(
      `with w as (insert into app_rows (v) values ($1) returning id)
       select graphile_worker.add_job('bench', json_build_object('i', w.id, 'at', $2::bigint), run_at => to_timestamp($2::bigint / 1000.0), job_key => $3) from w`,
      [id, runAt.getTime(), key],
    );
  },
  async bulk(sql, n, runAt, offset) {
    const specs = Array.from({ length: n }, (_, i) => ({ i: i + offset, at: runAt(i).getTime() }));
    await sql.unsafe(
      `select count(*) from graphile_worker.add_jobs(array(
         select row('bench', json_build_object('i', (s->>'i')::int, 'at', (s->>'at')::bigint), null, to_timestamp((s->>'at')::bigint / 1000.0), null, null, null, null)::graphile_worker.job_spec
         from json_array_elements($1::text::json) s))`,
      [JSON.stringify(specs)],
    );
  },
  async start(url, onJob) {
    const runner: Runner = await run({
      connectionString: url,
      concurrency: 5,
      noHandleSignals: true,
      pollInterval: 2000,
      logger: quiet,
      taskList: { bench: async (payload) => onJob(payload as { i: number; at: number }) },
    });
    return () => runner.stop();
  },
  async pending(sql) {
    const [row] = await sql.unsafe<{ n: string }[]>(`select count(*) as n from graphile_worker._private_jobs`);
    return Number(row?.n);
  },
  async replace(sql, key, runAt, payload) {
    await sql.unsafe(`select graphile_worker.add_job('bench', $1::text::json, run_at => $2::timestamptz, job_key => $3, job_key_mode => 'replace')`, [
      JSON.stringify(payload),
      runAt.toISOString(),
      key,
    ]);
  },
  async remove(sql, key) {
    await sql.unsafe(`select graphile_worker.remove_job($1)`, [key]);
  },
  async byKey(sql, key) {
    return sql.unsafe(`select run_at::text, payload from graphile_worker._private_jobs where key = $1`, [key]);
  },
};

/** pg-boss on our postgres.js transaction: its `db` option runs its SQL where we say. */
const bossOn = (tx: postgres.Sql | postgres.TransactionSql) => ({
  executeSql: async (text: string, values: unknown[] = []) => ({ rows: await tx.unsafe(text, values as never[]) }),
});

let boss: PgBoss | undefined;
const pgBoss: Harness = {
  name: 'pg-boss',
  async install(url) {
    boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
    boss.on('error', () => {});
    await boss.start();
    await boss.createQueue('bench', { notify: true });
  },
  async enqueueWithWrite(tx, id, runAt, key) {
    await tx.unsafe(`insert into app_rows (v) values ($1)`, [id]);
    await (boss as PgBoss).send('bench', { i: id, at: runAt.getTime() }, { startAfter: runAt, singletonKey: key, db: bossOn(tx) });
  },
  async bulk(sql, n, runAt, offset) {
    const jobs = Array.from({ length: n }, (_, i) => ({ data: { i: i + offset, at: runAt(i).getTime() }, startAfter: runAt(i) }));
    await (boss as PgBoss).insert('bench', jobs, { db: bossOn(sql) });
  },
  async start(url, onJob) {
    const b = new PgBoss({ connectionString: url, max: 4, useListenNotify: true, supervise: true, schedule: false, migrate: false });
    b.on('error', () => {});
    b.on('warning', () => {});
    await b.start();
    // Without a full batch and burst, a worker waits out the poll interval after every job (5 jobs/s
    // for 10 workers): batches of 5, fetched again at once while they come back full.
    await b.work<{ i: number; at: number }>(
      'bench',
      { localConcurrency: 5, batchSize: 5, burstWhenBatchFull: true, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 2 },
      async (jobs) => {
        await Promise.all(jobs.map((job) => onJob(job.data)));
      },
    );
    return () => b.stop({ graceful: true, timeout: 10_000 });
  },
  async pending(sql) {
    const [row] = await sql.unsafe<{ n: string }[]>(`select count(*) as n from pgboss.job where state in ('created', 'retry', 'active')`);
    return Number(row?.n);
  },
  async replace(sql, key, runAt, payload) {
    await (boss as PgBoss).upsert('bench', payload, { singletonKey: key, startAfter: runAt, db: bossOn(sql) });
  },
  async remove(sql, key) {
    // No removal by key in the API: by SQL, the jobs not yet started.
    await sql.unsafe(`delete from pgboss.job where name = 'bench' and singleton_key = $1 and state in ('created', 'retry')`, [key]);
  },
  async byKey(sql, key) {
    return sql.unsafe(`select start_after::text as run_at, data as payload from pgboss.job where name = 'bench' and singleton_key = $1 and state in ('created', 'retry')`, [key]);
  },
};

async function measure(h: Harness): Promise<Result> {
  const scratch = await createScratchDatabase(server, 'task_api_queue_');
  if (scratch === null) throw new Error(`cannot create a database on ${server}`);
  const dbName = scratch.name;
  const sql = postgres(scratch.url, { max: 4, onnotice: () => {} });
  const stops: (() => Promise<void>)[] = [];
  try {
    await sql.unsafe('create table app_rows (id serial primary key, v int)');
    await h.install(scratch.url);

    // (a) per enqueue, inside our transaction, against the same transaction without the job.
    const far = new Date(Date.now() + 3600_000);
    for (let i = 0; i < 50; i++) await sql.begin((tx) => h.enqueueWithWrite(tx, i, far, `warm-${i}`));
    // Interleaved, medians: the commit's fsync dominates both and varies.
    const plain: number[] = [];
    const withJob: number[] = [];
    for (let i = 0; i < ENQUEUES; i++) {
      let s = performance.now();
      await sql.begin((tx) => tx.unsafe('insert into app_rows (v) values ($1)', [i]));
      plain.push(performance.now() - s);
      s = performance.now();
      await sql.begin((tx) => h.enqueueWithWrite(tx, i, far, `k-${i}`));
      withJob.push(performance.now() - s);
    }
    const baselineMs = pct(plain, 50);
    const enqueueMs = pct(withJob, 50);
    let t = performance.now();
    const before = await h.pending(sql);
    await sql
      .begin(async (tx) => {
        await h.enqueueWithWrite(tx, -1, far, 'rolled-back');
        throw new Error('rollback');
      })
      .catch(() => {});
    const sharesTx = (await h.pending(sql)) === before && (await h.byKey(sql, 'rolled-back')).length === 0 ? 'yes (rolled back: no job)' : 'NO';

    // (e) re-planning by key.
    const key = 'k-7';
    const later = new Date(Date.now() + 7200_000);
    t = performance.now();
    await h.replace(sql, key, later, { i: 7, at: later.getTime(), v: 2 });
    const replaceMs = performance.now() - t;
    const replaced = await h.byKey(sql, key);
    t = performance.now();
    await h.remove(sql, key);
    const removeMs = performance.now() - t;
    const removed = await h.byKey(sql, key);
    const replan =
      `replace: ${replaced.length} job, run_at moved ${replaced.length === 1 && new Date(replaced[0]!.run_at).getTime() === later.getTime() ? 'yes' : 'NO'}, ` +
      `payload ${sameJson(replaced[0]?.payload, { i: 7, at: later.getTime(), v: 2 }) ? 'new' : 'OLD'} (${ms(replaceMs)}); ` +
      `remove: ${removed.length === 0 ? 'gone' : 'STILL THERE'} (${ms(removeMs)})`;
    // The far jobs would run in an hour: out of the way.
    await sql.unsafe(h === graphile ? 'delete from graphile_worker._private_jobs' : `delete from pgboss.job where name = 'bench'`);

    // (b) due-to-run latency, two runners, exactly once.
    const runs = new Map<number, number>();
    const lateness: number[] = [];
    let done = 0;
    const onJob = (p: { i: number; at: number }) => {
      runs.set(p.i, (runs.get(p.i) ?? 0) + 1);
      lateness.push(Date.now() - p.at);
      done++;
    };
    stops.push(await h.start(scratch.url, onJob), await h.start(scratch.url, onJob));
    await sleep(500);

    // (d) idle: nothing due.
    const q0 = queries.get(dbName) ?? 0;
    await sleep(5000);
    const idleQps = ((queries.get(dbName) ?? 0) - q0) / 5;

    const start = Date.now() + 1000;
    await h.bulk(sql, LATENCY_JOBS, (i) => new Date(start + Math.floor((i * 7000) / LATENCY_JOBS)), 0);
    const deadline = Date.now() + 20_000;
    while (done < LATENCY_JOBS && Date.now() < deadline) await sleep(100);
    await sleep(1000);
    const once = [...runs.values()].every((n) => n === 1) && runs.size === LATENCY_JOBS;
    const exactlyOnce = `${runs.size}/${LATENCY_JOBS} ran, ${[...runs.values()].filter((n) => n > 1).length} twice: ${once ? 'exactly once' : 'NOT exactly once'}`;
    const latencyP50 = pct(lateness, 50);
    const latencyP99 = pct(lateness, 99);
    const latencyMax = Math.max(...lateness);

    // (c) 10,000 due now: how long until two runners have run them all.
    done = 0;
    runs.clear();
    const t0 = Date.now();
    await h.bulk(sql, BURST_JOBS, () => new Date(t0), 1_000_000);
    const burstDeadline = Date.now() + 60_000;
    while (done < BURST_JOBS && Date.now() < burstDeadline) await sleep(50);
    const burstSeconds = done < BURST_JOBS ? NaN : (Date.now() - t0) / 1000;

    return { queue: h.name, enqueueMs, baselineMs, sharesTx, latencyP50, latencyP99, latencyMax, exactlyOnce, burstSeconds, idleQps, replan };
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await boss?.stop({ graceful: false }).catch(() => {});
    boss = undefined;
    await sql.end({ timeout: 5 });
    await scratch.drop();
  }
}

const started = Date.now();
const harnesses = [graphile, pgBoss].filter((h) => values.only === undefined || h.name === values.only);
const results: Result[] = [];
for (const h of harnesses) {
  const r = await measure(h);
  results.push(r);
  console.log(`\n${r.queue}`);
  console.log(`  (a) enqueue in our transaction: ${ms(r.enqueueMs - r.baselineMs)} more per write (${ms(r.enqueueMs)} against ${ms(r.baselineMs)} without), shares it: ${r.sharesTx}`);
  console.log(`  (b) due-to-run latency, ${LATENCY_JOBS} jobs over 7 s, 2 runners: p50 ${ms(r.latencyP50)}, p99 ${ms(r.latencyP99)}, max ${ms(r.latencyMax)}; ${r.exactlyOnce}`);
  console.log(`  (c) ${BURST_JOBS} jobs due at once, 2 runners x 5: ${r.burstSeconds.toFixed(1)} s (${Math.round(BURST_JOBS / r.burstSeconds)} jobs/s)`);
  console.log(`  (d) idle, 2 runners: ${r.idleQps.toFixed(1)} queries/s`);
  console.log(`  (e) ${r.replan}`);
}
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all; PostgreSQL at ${new URL(server).host})`);
process.exit(0);
