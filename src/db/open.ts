import { statfs } from 'node:fs/promises';
import type { Config } from '../config.js';
import { createDatabase, describeUrl, type Database } from './client.js';
import type { DataDirLock } from './data-dir.js';
import { startEmbedded, type EmbeddedLog, type EmbeddedServer } from './embedded.js';
import { errorCode, isDatabaseUnavailable } from './errors.js';
import { migrate } from './migrate.js';

export class StartupError extends Error {
  override name = 'StartupError';
}

export type DatabaseConfig = Pick<
  Config,
  | 'databaseUrl'
  | 'embeddedUrl'
  | 'dataDir'
  | 'embeddedUser'
  | 'databasePrepare'
  | 'databasePoolMax'
  | 'databaseTimeoutMs'
  | 'databaseConnectRetryMs'
  | 'databaseDirectUrl'
  | 'workers'
>;

/** Below this much free space in DATA_DIR the embedded database is not ready (a WAL segment is 16 MB). */
const MIN_FREE_BYTES = 32 * 1024 * 1024;

/** Connections the embedded server allows: every worker's pool and listener, tools, and headroom. */
export function embeddedMaxConnections(config: Pick<Config, 'workers' | 'databasePoolMax'>): number {
  return Math.max(100, config.workers * (config.databasePoolMax + 2) + 20);
}

/** Starts the embedded server in DATA_DIR (under `lock` if the caller took it already). */
export async function startEmbeddedServer(config: DatabaseConfig, log: EmbeddedLog, lock?: DataDirLock): Promise<EmbeddedServer> {
  try {
    return await startEmbedded({
      dataDir: config.dataDir,
      osUser: config.embeddedUser,
      maxConnections: embeddedMaxConnections(config),
      log,
      ...(lock ? { lock } : {}),
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'DataDirInUseError') throw err;
    throw new StartupError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * The database the config names, migrated and ready: DATABASE_URL; or, unset, the embedded server
 * (started here, stopped when the database is closed; in a cluster worker, the primary's).
 */
export async function openDatabase(config: DatabaseConfig, log: EmbeddedLog, lock?: DataDirLock): Promise<Database> {
  let embedded: EmbeddedServer | undefined;
  let url: string;
  if (config.databaseUrl !== undefined) url = config.databaseUrl;
  else if (config.embeddedUrl !== undefined) url = config.embeddedUrl;
  else {
    embedded = await startEmbeddedServer(config, log, lock);
    url = embedded.url;
  }
  const isEmbedded = config.databaseUrl === undefined;
  const database = createDatabase({
    url,
    kind: isEmbedded ? 'embedded' : 'external',
    where: isEmbedded ? `embedded PostgreSQL in ${config.dataDir}` : describeUrl(url),
    // Our own server needs no pooler workaround.
    prepare: isEmbedded ? true : config.databasePrepare,
    poolMax: config.databasePoolMax,
    timeoutMs: config.databaseTimeoutMs,
    ...(embedded ? { onClose: () => (embedded as EmbeddedServer).stop() } : {}),
    ...(isEmbedded ? { readyCheck: () => enoughSpace(config.dataDir) } : {}),
    listenUrl: isEmbedded ? url : config.databaseDirectUrl,
  });
  try {
    await migrateWhenReachable(database, config, log);
  } catch (err) {
    await database.close().catch(() => {});
    throw err;
  }
  return database;
}

async function enoughSpace(dir: string): Promise<void> {
  const s = await statfs(dir);
  if (s.bavail * s.bsize < MIN_FREE_BYTES) throw new Error(`less than ${MIN_FREE_BYTES >> 20} MB free in ${dir}`);
}

/**
 * Applies migrations, which is also the first contact with the database. An unreachable database
 * is retried with backoff for DATABASE_CONNECT_RETRY_MS (a database starting next to us, a network
 * blip), then start-up fails with one line. Anything retrying cannot mend (bad credentials, no such
 * database, a host name that does not resolve) fails at once.
 */
async function migrateWhenReachable(database: Database, config: DatabaseConfig, log: EmbeddedLog): Promise<void> {
  const started = Date.now();
  const deadline = started + config.databaseConnectRetryMs;
  for (let delay = 250, attempt = 1; ; attempt++, delay = Math.min(delay * 2, 4000)) {
    try {
      const applied = await migrate(database.db);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
      return;
    } catch (err) {
      const left = deadline - Date.now();
      const retry = isDatabaseUnavailable(err) && errorCode(err) !== 'ENOTFOUND';
      if (!retry || left <= 0) {
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        throw new StartupError(describeFailure(database, err, retry ? { attempt, seconds } : undefined));
      }
      const wait = Math.min(delay, left);
      log.warn({ attempt, retryInMs: wait, reason: errorCode(err) ?? 'error' }, 'database unreachable; retrying');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** One line, naming where (host and port, never the password), why, and what to do. */
function describeFailure(database: Database, err: unknown, retried: { attempt: number; seconds: number } | undefined): string {
  const code = errorCode(err);
  if (retried) {
    return `database unreachable at ${database.where} after ${retried.attempt} attempts over ${retried.seconds} s (${code ?? 'error'})`;
  }
  if (code === 'ENOTFOUND') {
    return `database host not found: ${database.where} does not resolve; check the host name in DATABASE_URL`;
  }
  const cause = (err as { cause?: { message?: unknown } }).cause?.message ?? (err as Error).message;
  const first = String(cause).split('\n')[0];
  if (code === '3D000') {
    const name = database.where.split('/').at(-1) ?? '';
    return `database at ${database.where} does not exist: create it with  createdb ${name}  (or psql -c 'create database ${name}'), or fix DATABASE_URL`;
  }
  return `database at ${database.where} refused to start the service: ${first}`;
}
