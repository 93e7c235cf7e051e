/**
 * The job process (JOBS_PROCESS=separate, the default): started by the server's process with
 * `fork` (src/background.ts), at a lower OS priority. It reads the same configuration, connects to
 * the same database (the embedded one through TASK_API_EMBEDDED_URL), runs the job runner, and
 * sends what jobs have for the event streams to its parent. It stops on SIGTERM (jobs in flight
 * end, or are released for a retry) and when its parent is gone (the IPC channel closes).
 */
import { pino, type Logger } from 'pino';
import type { ApiLoadMessage, JobProcessMessage } from './background.js';
import { startJobs } from './background.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Database } from './db/client.js';
import { openDatabase } from './db/open.js';
import type { JobRunner } from './jobs/runner.js';
import { prettyLogStream } from './lib/pretty-log.js';

const send = (m: JobProcessMessage) => {
  // The parent may be gone (then 'disconnect' stops this process): nothing to deliver to.
  if (process.connected) process.send?.(m, undefined, {}, () => {});
};

// Whether the API's process is saturated (it says so when that changes): jobs about to start wait.
let apiBusy = false;
process.on('message', (m: ApiLoadMessage) => {
  if (m.t === 'busy') apiBusy = m.busy;
});

let database: Database | undefined;
let runner: JobRunner | undefined;
let stopping: Promise<void> | undefined;

/** Takes no new job, ends those in flight (or releases them), closes the pool, exits 0. */
function stop(): void {
  stopping ??= (async () => {
    await runner?.stop().catch(() => {});
    await database?.close().catch(() => {});
    process.exit(0);
  })();
}
process.once('SIGTERM', stop);
// Ctrl-C in a terminal reaches the whole process group: the server's process stops this one itself
// (SIGTERM), after its requests; stopping on SIGINT too would look like a crash to it.
process.on('SIGINT', () => {});
process.once('disconnect', stop);
// Gone while this module's imports loaded: its 'disconnect' had no listener yet.
if (!process.connected) stop();

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    // The parent read the same configuration and started; it changed since (a .env edited)?
    process.stderr.write(`job process: configuration error: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const log: Logger = pino(
    { level: config.logLevel, base: { pid: process.pid, role: 'jobs' } },
    config.logFormat === 'pretty' ? await prettyLogStream() : pino.destination({ dest: 1, sync: true }),
  );
  // Its own pool: one connection per job in flight and one to spare (the runner's queue has its own).
  database = await openDatabase({ ...config, databasePoolMax: config.jobsConcurrency + 1 }, log, undefined, { applicationName: 'task-api-jobs', migrated: true });
  if (stopping) return;
  runner = await startJobs({
    config,
    database,
    live: () => ({ message: (u, e, d, s) => send({ t: 'message', u: [...u], e, d, ...(s === undefined ? {} : { s }) }) }),
    log,
    apiBusy: () => apiBusy,
  });
  if (stopping) {
    await runner.stop();
    return;
  }
  send({ t: 'ready' });
}

main().catch((err: unknown) => {
  process.stderr.write(`job process: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
