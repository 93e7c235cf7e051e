/**
 * The background jobs (reminders, Web Push, webhooks) and where they run.
 *
 * - `startJobs`: the runner with every room's handlers, in the calling process.
 * - `startJobProcess`: the server's default (JOBS_PROCESS=separate): the runner in a process of its
 *   own (`src/jobs-main.ts`) at a lower OS priority (JOBS_NICE), started, restarted and stopped by
 *   the API's process. On a busy machine the scheduler then serves the API's requests first and
 *   the jobs wait; a job that crashes its process does not take the API with it. What a job sends
 *   to event streams (a reminder) comes back over the IPC channel and goes out through the API's
 *   live updates, as if the job had run there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { childEnvironment, type Config } from './config.js';
import type { Database } from './db/client.js';
import type { JobContext, JobHandler } from './jobs/jobs.js';
import { startJobRunner, type JobLog, type JobQueueConnection, type JobRunner } from './jobs/runner.js';
import { pushJobHandlers } from './push/push.jobs.js';
import { createPushRepository } from './push/push.repository.js';
import { reminderJobHandlers } from './reminders/reminders.jobs.js';
import type { LiveUpdates } from './sync/live.js';
import { webhookJobHandlers } from './webhooks/webhooks.deliver.js';

/** What jobs send to the open event streams. */
export type LiveMessages = Pick<LiveUpdates, 'message'>;

/**
 * Where the job runner connects: the database's direct URL (LISTEN works there), else the pooled
 * one without prepared statements (then it polls).
 */
export function jobQueueConnection(config: Pick<Config, 'databaseUrl' | 'embeddedUrl'>, database: Database): JobQueueConnection {
  if (database.listenUrl !== undefined) return { url: database.listenUrl, prepared: true };
  const url = config.databaseUrl ?? config.embeddedUrl;
  if (url === undefined) throw new Error('jobs: the database has no URL to connect to');
  return { url, prepared: database.prepare };
}

export interface JobsOptions {
  config: Config;
  database: Database;
  /** The open streams, once they run (a reminder fired before that reaches push and webhooks only). */
  live: () => LiveMessages | undefined;
  log: JobLog;
  /** Handlers beside the app's own (tests: a job whose effect they count). */
  extraHandlers?: readonly JobHandler<never>[];
  /** Whether the API's process is saturated now: a job about to start waits while it is (YIELD_MAX_MS at most). */
  apiBusy?: () => boolean;
}

/** The API's event loop counts as saturated above this utilization (over LOAD_SAMPLE_MS). */
const BUSY_UTILIZATION = 0.9;
const LOAD_SAMPLE_MS = 250;
/**
 * The longest a job waits for a saturated API before it runs anyway: jobs yield to a burst of
 * requests, and a reminder stays well within its 60 s (it starts at most JOBS_POLL_INTERVAL_MS
 * late, then waits at most this).
 */
export const YIELD_MAX_MS = 5000;

/** Waits while `busy()`, checked every 50 ms, until YIELD_MAX_MS have passed (by the clock) or the job is aborted. */
async function yieldWhile(busy: () => boolean, signal: AbortSignal): Promise<void> {
  const until = Date.now() + YIELD_MAX_MS;
  while (busy() && !signal.aborted && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
}

/** Every room's job handlers, run by a runner in this process (JOBS_CONCURRENCY at once). */
export async function startJobs(options: JobsOptions): Promise<JobRunner> {
  const { config, database, log } = options;
  const all: JobHandler<never>[] = [
    ...pushJobHandlers({ database, repository: createPushRepository(database), vapid: config.vapid, allowPrivate: config.pushAllowPrivate, log }),
    ...webhookJobHandlers({ database, allowPrivate: config.webhooksAllowPrivate, log }),
    ...reminderJobHandlers({ database, live: options.live, log }),
    ...(options.extraHandlers ?? []),
  ];
  const busy = options.apiBusy;
  const handlers =
    busy === undefined
      ? all
      : all.map((h) => ({
          type: h.type,
          async run(payload: never, job: JobContext) {
            await yieldWhile(busy, job.signal);
            return h.run(payload, job);
          },
        }));
  if (database.listenUrl === undefined) {
    log.warn(
      { jobs: 'runner' },
      'jobs: no direct database URL (DATABASE_DIRECT_URL) behind the pooler: the job runner polls every JOBS_POLL_INTERVAL_MS instead of being woken by LISTEN',
    );
  }
  return startJobRunner({ ...jobQueueConnection(config, database), concurrency: config.jobsConcurrency, pollIntervalMs: config.jobsPollIntervalMs, handlers, log });
}

/** The messages of the IPC channel between the API's process and its job process. */
export type JobProcessMessage =
  | { t: 'ready' }
  | { t: 'message'; u: string[]; e: string; d: unknown; s?: unknown };
/** From the API's process to its job process: whether its event loop is saturated (sent when that changes). */
export interface ApiLoadMessage {
  t: 'busy';
  busy: boolean;
}

/** The child's entry: compiled next to this file (dist/src/), or the TypeScript source under tsx (npm run dev). */
const ENTRY = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './jobs-main.ts' : './jobs-main.js', import.meta.url));

export interface JobProcessOptions {
  config: Pick<Config, 'jobsNice'>;
  database: Database;
  live: LiveMessages;
  log: JobLog;
}

/** How long stopping the job process waits for it to end (its jobs in flight: the runner's 4 s, then its pool) before it kills it. */
const STOP_TIMEOUT_MS = 7000;

export interface JobProcess {
  /** SIGTERM to the process (it takes no new job, ends those in flight or releases them for a retry) and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts the job process, and starts it again when it ends on its own (after 1 s, doubling up to
 * 30 s while it keeps failing before it is ready). It connects to the same database: on the
 * embedded one, to the server this process started.
 */
export function startJobProcess(options: JobProcessOptions): JobProcess {
  const { log } = options;
  const env = childEnvironment(options.database.kind === 'embedded' && options.database.listenUrl !== undefined ? { TASK_API_EMBEDDED_URL: options.database.listenUrl } : {});
  // Not the parent's inspector port (it is taken): the rest of its flags (tsx's loader, --cpu-prof) apply.
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--inspect'));
  let child: ChildProcess | undefined;
  let stopping = false;
  let failures = 0;
  let restart: NodeJS.Timeout | undefined;
  let warnedPriority = false;
  // The API's load as last told to the job process, and the utilization sample it was read from.
  let told = false;
  let last = performance.eventLoopUtilization();

  const spawn = () => {
    restart = undefined;
    const started = fork(ENTRY, [], { env, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = started;
    told = false;
    lowerPriority(started);
    let ready = false;
    started.on('message', (m: JobProcessMessage) => {
      if (m.t === 'message') options.live.message(m.u, m.e, m.d, m.s);
      else if (m.t === 'ready') {
        ready = true;
        failures = 0;
        // Told again from the next sample: anything sent before it listened is lost.
        told = false;
        log.debug({ jobs: 'process', pid: started.pid }, 'jobs: runner ready in its own process');
      }
    });
    started.on('error', (err) => log.error({ jobs: 'process', err: err.message }, 'jobs: the job process could not be started'));
    started.once('exit', (code, signal) => {
      if (child === started) child = undefined;
      if (stopping) return;
      if (!ready) failures++;
      const delay = Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
      log.warn({ jobs: 'process', code, signal, restartInMs: delay }, 'jobs: the job process ended; starting another (its jobs in flight are retried)');
      restart = setTimeout(spawn, delay);
      restart.unref();
    });
  };

  const lowerPriority = (p: ChildProcess) => {
    if (p.pid === undefined || options.config.jobsNice === 0) return;
    try {
      setPriority(p.pid, Math.min(19, getPriority() + options.config.jobsNice));
    } catch (err) {
      if (!warnedPriority) log.warn({ jobs: 'process', err: (err as Error).message }, 'jobs: the job process runs at the server\'s priority (the system refused a lower one)');
      warnedPriority = true;
    }
  };

  // The API's load, told to the job process when it changes: its jobs wait while the API is saturated.
  const sampler = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization >= BUSY_UTILIZATION;
    last = now;
    if (busy === told || child === undefined || !child.connected) return;
    told = busy;
    child.send({ t: 'busy', busy } satisfies ApiLoadMessage, () => {});
  }, LOAD_SAMPLE_MS);
  sampler.unref();

  spawn();
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        stopping = true;
        clearTimeout(restart);
        clearInterval(sampler);
        const p = child;
        if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_TIMEOUT_MS)));
        if ((await Promise.race([exited, late])) === 'late') {
          log.warn({ jobs: 'process' }, 'jobs: the job process did not stop in time; killed (its jobs in flight are retried)');
          p.kill('SIGKILL');
          await exited;
        }
        clearTimeout(timer);
      })();
      return stopped;
    },
  };
}
