import { Logger, runMigrations, runTaskList, type Job, type JobHelpers, type LogFunctionFactory, type TaskList, type WorkerPool } from 'graphile-worker';
import pg from 'pg';
import type { JobHandler } from './jobs.js';

/** Where the runner logs: the app's pino logger (no job payload is ever logged). */
export interface JobLog {
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface JobQueueConnection {
  /**
   * A PostgreSQL URL of the app's database. A direct (not pooled) one lets the runner LISTEN for new
   * jobs; through a transaction pooler it only polls.
   */
  url: string;
  /** Server-side prepared statements (false behind a transaction pooler). */
  prepared: boolean;
}

export interface JobRunnerOptions extends JobQueueConnection {
  /** Jobs run at once by this instance. */
  concurrency: number;
  /** How often an idle runner looks for jobs that became due (new ones wake it at once by NOTIFY). */
  pollIntervalMs: number;
  handlers: readonly JobHandler<never>[];
  log: JobLog;
  /** How long stopping waits for the jobs in flight before it aborts them (they are then retried). */
  stopTimeoutMs?: number;
}

export interface JobRunner {
  /** Takes no new job, waits for those in flight (aborted, then released for a retry, past the timeout). */
  stop(): Promise<void>;
}

/** The advisory lock key that serialises installing the queue's schema across instances (migrate.ts has its own). */
const INSTALL_LOCK_KEY = 7_300_417_224;

/** `?pgbouncer=true` is ours, not libpq's: `pg` would send it as a startup parameter. */
function pgUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.delete('pgbouncer');
  return u.toString();
}

function pgPool(connection: JobQueueConnection, max: number): pg.Pool {
  const p = new pg.Pool({ connectionString: pgUrl(connection.url), max, application_name: 'task-api-jobs', connectionTimeoutMillis: 10_000 });
  // A dropped idle connection is replaced on the next checkout; graphile-worker reports what it uses.
  p.on('error', () => {});
  p.on('connect', (client) => client.on('error', () => {}));
  return p;
}

/**
 * graphile-worker's log lines into ours: its errors and warnings as such; its `info` (a line per
 * job done, "worker connected") and `debug` at debug, so that a busy queue does not fill the log.
 */
function logger(log: JobLog): Logger {
  const factory: LogFunctionFactory = (scope) => (level, message) => {
    const where = { jobs: scope.label ?? 'worker', ...(scope.taskIdentifier ? { job: scope.taskIdentifier } : {}), ...(scope.jobId ? { jobId: scope.jobId } : {}) };
    if (level === 'error') log.error(where, message);
    else if (level === 'warning') log.warn(where, message);
    else log.debug(where, message);
  };
  return new Logger(factory);
}

/**
 * Installs or upgrades graphile-worker's schema (`graphile_worker`), beside the app's migrations:
 * under an advisory lock, so that instances starting together queue and the first one installs.
 */
export async function installJobQueue(connection: JobQueueConnection, log: JobLog): Promise<void> {
  const p = pgPool(connection, 1);
  try {
    // One connection: the session lock taken here is held while runMigrations uses the same one.
    await p.query('select pg_advisory_lock($1)', [INSTALL_LOCK_KEY]);
    try {
      await runMigrations({ pgPool: p, logger: logger(log), noPreparedStatements: !connection.prepared });
    } finally {
      await p.query('select pg_advisory_unlock($1)', [INSTALL_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await p.end();
  }
}

/** Starts running jobs of the given types (each room's handlers). */
export async function startJobRunner(options: JobRunnerOptions): Promise<JobRunner> {
  const taskList: TaskList = {};
  for (const h of options.handlers) {
    if (taskList[h.type.name] !== undefined) throw new Error(`two handlers for the job "${h.type.name}"`);
    taskList[h.type.name] = async (payload: unknown, helpers: JobHelpers) => {
      const job: Job = helpers.job;
      await h.run(payload as never, { id: job.id, attempt: job.attempts, maxAttempts: job.max_attempts, signal: helpers.abortSignal });
    };
  }
  // Its pool: a connection per job in flight, one to LISTEN and one to spare.
  const p = pgPool(options, options.concurrency + 2);
  // Within the server's 10 s shutdown bound, beside the wait for writes in flight.
  const stopTimeoutMs = options.stopTimeoutMs ?? 4000;
  let workers: WorkerPool;
  try {
    // The worker pool itself (what graphile-worker's run() wraps, without cron): its forceful
    // shutdown is reachable once a graceful one is under way, which run()'s kill() is not.
    workers = runTaskList(
      {
        concurrency: options.concurrency,
        pollInterval: options.pollIntervalMs,
        noHandleSignals: true,
        noPreparedStatements: !options.prepared,
        logger: logger(options.log),
        // A handler is told to stop (its AbortSignal) this long into a shutdown.
        gracefulShutdownAbortTimeout: Math.max(100, stopTimeoutMs - 1000),
        // Through the batcher (0 ms: at once), so that stopping waits for the completion of the jobs
        // that finished: by default it is sent without being awaited, and a pool closed right after
        // lost it, the job staying locked (run again hours later, when its lock expires).
        // A local queue: the pool fetches (and locks) up to concurrency + 1 due jobs at once, each
        // worker served from it, instead of one query per job: a burst of due jobs (reminders due in
        // the same minute) is run with a third fewer queries (npm run bench:reminders).
        preset: { worker: { completeJobBatchDelay: 0, failJobBatchDelay: 0, localQueue: { size: options.concurrency + 1 } } },
      },
      taskList,
      p,
    );
  } catch (err) {
    await p.end().catch(() => {});
    throw err;
  }
  // Its end is awaited by stop(); a failure of its own is logged there.
  workers.promise.catch(() => {});
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), stopTimeoutMs)));
        const graceful = Promise.resolve(workers.gracefulShutdown('the instance is stopping'));
        const outcome = await Promise.race([graceful.then(() => 'done' as const, () => 'failed' as const), late]);
        clearTimeout(timer);
        if (outcome !== 'done') {
          // A job that ignored its abort: failed now, so that it is retried soon (by another
          // instance, or this one's next start) rather than when its lock expires.
          options.log.warn({ jobs: 'runner' }, 'job runner: jobs in flight did not stop in time; released for a retry');
          await Promise.resolve(workers.forcefulShutdown('the instance stopped before the job ended')).catch(() => {});
        }
        await p.end().catch(() => {});
      })();
      return stopping;
    },
  };
}
