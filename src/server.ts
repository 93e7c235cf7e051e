import cluster from 'node:cluster';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

/** Loads the config, then serves: in this process, or in WORKERS processes behind a primary. */
function start(): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (config.workers > 1 && cluster.isPrimary) {
    supervise(config.workers);
    return;
  }
  serve(config).catch((err: unknown) => {
    process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

/** Builds the app and listens; SIGTERM/SIGINT stop accepting, finish in-flight requests, close the pool, exit 0. */
async function serve(config: Config): Promise<void> {
  const app = await buildApp(config);
  for (const warning of config.warnings) app.log.warn(warning);

  let closing = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      app.log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  await app.listen({ host: config.host, port: config.port });
  app.log.info({ database: app.database.kind, docs: `http://${config.host}:${config.port}/docs` }, 'task API ready');
}

function log(level: number, msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, role: 'primary', ...extra, msg })}\n`);
}

/**
 * Cluster mode: the primary forks `n` workers that share the port (Node's round-robin), restarts a
 * worker that dies, and on SIGTERM/SIGINT passes the signal on and exits once every worker has.
 * Workers migrate under the advisory lock like separate instances, so start-up order does not matter.
 */
function supervise(n: number): void {
  let stopping = false;
  let restarts = 0;
  const started = Date.now();
  log(30, 'starting workers', { workers: n });
  for (let i = 0; i < n; i++) cluster.fork();

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    if (code === 1 && worker.exitedAfterDisconnect === false && restarts === 0 && Date.now() - started < 60_000) {
      // A worker that fails at start (bad database, port taken) would fail again: stop the whole thing.
      log(50, 'a worker failed to start; stopping', { code });
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    restarts++;
    log(40, 'worker died; starting another', { code, signal });
    cluster.fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(30, 'shutting down workers', { signal });
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

start();
