import cluster from 'node:cluster';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig, tokenModes, type Config } from './config.js';
import { DataDirInUseError, lockDataDir, type DataDirLock } from './db/data-dir.js';
import type { EmbeddedServer } from './db/embedded.js';
import { startEmbeddedServer } from './db/open.js';
import { prettyLogStream } from './lib/pretty-log.js';
import { loggableError } from './lib/request-log.js';

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
  const fail = (err: unknown) => {
    process.stderr.write(`${err instanceof DataDirInUseError ? '' : 'Failed to start: '}${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
  if (config.workers > 1 && cluster.isPrimary) {
    supervise(config).catch(fail);
    return;
  }
  serve(config).catch(fail);
}

/**
 * Before anything is opened: the DATA_DIR lock (one service per folder, whatever its port), then
 * the port itself, so that a second start fails at once with the reason, not after a migration.
 */
async function claim(config: Config): Promise<DataDirLock | undefined> {
  const lock =
    config.databaseUrl === undefined && config.embeddedUrl === undefined
      ? lockDataDir(config.dataDir, { traversable: typeof process.getuid === 'function' && process.getuid() === 0 })
      : undefined;
  try {
    await assertPortFree(config.host, config.port);
  } catch (err) {
    lock?.release();
    throw err;
  }
  return lock;
}

/** The accept queue's length: room for a burst up to the connection bound (at least Node's 511). */
function listenBacklog(config: Config): number {
  return Math.max(511, Math.min(config.maxConnections, 65_535));
}

async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`port ${port} on ${host} is in use (another service, or an earlier npm start?): stop it or set PORT`)
          : err,
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** Builds the app and listens; SIGTERM/SIGINT stop accepting, finish in-flight requests, close the pool, exit 0. */
async function serve(config: Config): Promise<void> {
  const lock = cluster.isWorker ? undefined : await claim(config);
  // The app (every route, the job queue, the push and calendar libraries) is loaded once the
  // DATA_DIR is ours: a second service on the same folder is refused before it pays for that.
  const { buildApp, serverUrl } = await import('./app.js');
  let app: FastifyInstance;
  try {
    app = await buildApp(config, lock ? { dataDirLock: lock } : {});
  } catch (err) {
    lock?.release();
    throw err;
  }
  for (const warning of config.warnings) app.log.warn(warning);
  const modes = tokenModes(config);
  for (const m of modes) app.log.info({ tokenMode: m.mode, on: m.on }, m.line);

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
        app.log.error({ err: loggableError(err) }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  try {
    // A burst of new connections waits in the kernel's accept queue: Node's 511 overflowed under
    // 2,000 at once (about 1,000 drops), and a connection dropped there is accepted a second or
    // more later, its request retransmitted. The kernel caps it at net.core.somaxconn (4,096).
    await app.listen({ host: config.host, port: config.port, backlog: listenBacklog(config) });
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
  const address = app.server.address();
  const url = serverUrl({ ...config, publicUrl: undefined, port: typeof address === 'object' && address ? address.port : config.port });
  const database = app.database.kind === 'embedded' ? app.database.where : `PostgreSQL at ${app.database.where}`;
  const tokens = modes.filter((m) => m.on).map((m) => m.mode);
  app.log.info(
    { url, docs: `${url}/docs`, database, tokens },
    `task API ready at ${url} (docs ${url}/docs; database: ${database}; tokens: ${tokens.join(', ')})`,
  );
}

/** Where the primary's lines go: standard output, through pino-pretty when logs are pretty. */
let primaryOut: NodeJS.WritableStream = process.stdout;

function log(level: number, msg: string, extra: Record<string, unknown> = {}): void {
  primaryOut.write(`${JSON.stringify({ level, time: Date.now(), pid: process.pid, role: 'primary', ...extra, msg })}\n`);
}

const primaryLog = {
  debug: () => {},
  info: (obj: object, msg: string) => log(30, msg, obj as Record<string, unknown>),
  warn: (obj: object, msg: string) => log(40, msg, obj as Record<string, unknown>),
  error: (obj: object, msg: string) => log(50, msg, obj as Record<string, unknown>),
};

/**
 * Cluster mode: the primary forks `n` workers that share the port (Node's round-robin), restarts a
 * worker that dies, and on SIGTERM/SIGINT passes the signal on and exits once every worker has.
 * Workers migrate under the advisory lock like separate instances, so start-up order does not matter.
 * On the embedded default the primary runs the one PostgreSQL server and the workers connect to it.
 */
async function supervise(config: Config): Promise<void> {
  const n = config.workers;
  if (config.logFormat === 'pretty') primaryOut = await prettyLogStream();
  const lock = await claim(config);
  let embedded: EmbeddedServer | undefined;
  if (lock) {
    try {
      embedded = await startEmbeddedServer(config, primaryLog, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }
  const exit = (code: number) => {
    void (embedded?.stop() ?? Promise.resolve()).finally(() => process.exit(code));
  };
  let stopping = false;
  let restarts = 0;
  const started = Date.now();
  log(30, 'starting workers', { workers: n });
  const env = embedded ? { TASK_API_EMBEDDED_URL: embedded.url } : {};
  for (let i = 0; i < n; i++) cluster.fork(env);

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) exit(process.exitCode === 1 ? 1 : 0);
      return;
    }
    if (code === 1 && worker.exitedAfterDisconnect === false && restarts === 0 && Date.now() - started < 60_000) {
      // A worker that fails at start (bad database, port taken) would fail again: stop the whole thing.
      log(50, 'a worker failed to start; stopping', { code });
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      process.exitCode = 1;
      if (Object.keys(cluster.workers ?? {}).length === 0) exit(1);
      return;
    }
    restarts++;
    log(40, 'worker died; starting another', { code, signal });
    cluster.fork(env);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(30, 'shutting down workers', { signal });
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => exit(1), 15_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

start();
