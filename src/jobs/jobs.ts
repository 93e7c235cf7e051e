import type { Executor } from '../db/client.js';

/**
 * The background jobs the app runs (graphile-worker, docs/ARCHITECTURE.md "Background jobs"): a job
 * is a row in the database, added in the same transaction, or the same statement, as the write it
 * follows from, so that a job is never lost for a write that committed nor run for one that rolled
 * back. Each room declares its job types and registers a handler for each (`handler()`); the app
 * hands every handler to the runner (runner.ts).
 */

/** A kind of job and the payload it carries (JSON). */
export interface JobType<P> {
  readonly name: string;
  /** Never set: carries the payload's type. */
  readonly payload?: P;
}

export function jobType<P>(name: string): JobType<P> {
  if (!/^[a-z][a-z0-9_.-]*$/.test(name)) throw new Error(`job name "${name}": lower-case letters, digits, . _ -`);
  return { name };
}

export interface AddOptions {
  /** When it may run (default now). */
  runAt?: Date | string;
  /**
   * At most one waiting job per key: adding with a key in use replaces that job (its time and
   * payload), or, when it is running already, adds a new one (the running one saw the world before
   * this write). `remove(key)` takes it away. Keys are global: prefix them with the job's room.
   */
  key?: string;
  /** Attempts before it is given up (default 25: e^min(n,10) s after the n-th failure, about 4 days in all). */
  maxAttempts?: number;
  /** Lower runs first (default 0). */
  priority?: number;
}

/**
 * SQL of one `graphile_worker.add_job(...)` call and its parameters from `$first` on: to place
 * inside a statement of one's own (a CTE beside the write), with `params` appended to that
 * statement's. The payload goes as text and is cast, so that the driver never re-encodes it.
 */
export function addJobCall<P>(type: JobType<P>, payload: P, options: AddOptions = {}, first = 1): { text: string; params: unknown[] } {
  const p = (i: number) => `$${first + i}`;
  const runAt = options.runAt === undefined ? null : typeof options.runAt === 'string' ? options.runAt : options.runAt.toISOString();
  return {
    text:
      `graphile_worker.add_job(${p(0)}::text, ${p(1)}::text::json, run_at => ${p(2)}::timestamptz, ` +
      `max_attempts => ${p(3)}::int, job_key => ${p(4)}::text, priority => ${p(5)}::int)`,
    params: [type.name, JSON.stringify(payload ?? null), runAt, options.maxAttempts ?? null, options.key ?? null, options.priority ?? null],
  };
}

/** Adds a job, through `exec`: the database, or the transaction of the write it follows from. */
export async function addJob<P>(exec: Executor, type: JobType<P>, payload: P, options: AddOptions = {}): Promise<void> {
  const call = addJobCall(type, payload, options);
  await exec.rows(`select (${call.text}).id`, call.params);
}

/** Adds many jobs of one type in one statement. */
export async function addJobs<P>(exec: Executor, type: JobType<P>, items: readonly { payload: P; options?: AddOptions }[]): Promise<void> {
  if (items.length === 0) return;
  const specs = items.map(({ payload, options = {} }) => ({
    p: JSON.stringify(payload ?? null),
    r: options.runAt === undefined ? null : typeof options.runAt === 'string' ? options.runAt : options.runAt.toISOString(),
    m: options.maxAttempts ?? null,
    k: options.key ?? null,
    o: options.priority ?? null,
  }));
  await exec.rows(
    `select count(*) from graphile_worker.add_jobs(array(
       select row($1::text, (s->>'p')::json, null, (s->>'r')::timestamptz, (s->>'m')::smallint, s->>'k', (s->>'o')::smallint, null)::graphile_worker.job_spec
       from json_array_elements($2::text::json) s))`,
    [type.name, JSON.stringify(specs)],
  );
}

/** Removes the waiting job with this key, if any (a running one finishes). */
export async function removeJob(exec: Executor, key: string): Promise<void> {
  await exec.rows('select graphile_worker.remove_job($1::text)', [key]);
}

/** The typed API rooms use: `jobs.add(exec, type, payload, { runAt, key })`, `jobs.remove(exec, key)`. */
export const jobs = { add: addJob, addMany: addJobs, remove: removeJob, call: addJobCall };

/** What a handler knows of the job it runs. */
export interface JobContext {
  readonly id: string;
  /** 1 on the first attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** Aborted when a shutdown stops waiting for the job (it is then retried). */
  readonly signal: AbortSignal;
}

export interface JobHandler<P = unknown> {
  readonly type: JobType<P>;
  /** Resolves: done, removed. Throws: retried later with exponential backoff, until maxAttempts. */
  run(payload: P, job: JobContext): Promise<void>;
}

/** A handler for one job type: each room registers its own. */
export function handler<P>(type: JobType<P>, run: (payload: P, job: JobContext) => Promise<void>): JobHandler<P> {
  return { type, run };
}
