import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { Config } from '../config.js';
import { createDatabase, describeUrl, type Database } from './client.js';
import type { DataDirLock } from './data-dir.js';
import { driverArgs, startEmbedded, type EmbeddedLog, type EmbeddedServer } from './embedded.js';
import { errorCode, isDatabaseUnavailable } from './errors.js';
import { migrate } from './migrate.js';

export class StartupError extends Error {
  override name = 'StartupError';
}

export type DatabaseConfig = Pick<
  Config,
  | 'env'
  | 'databaseUrl'
  | 'embeddedUrl'
  | 'dataDir'
  | 'embeddedUser'
  | 'databasePrepare'
  | 'databasePoolMax'
  | 'databaseTimeoutMs'
  | 'queryBudgetMs'
  | 'databaseConnectRetryMs'
  | 'databaseDirectUrl'
  | 'workers'
  | 'jobsConcurrency'
>;

/** Below this much free space in DATA_DIR the embedded database is not ready (a WAL segment is 16 MB). */
const MIN_FREE_BYTES = 32 * 1024 * 1024;

/**
 * Connections the embedded server allows: every worker's pool and listener, its job runner's pool
 * (JOBS_CONCURRENCY + 2) and, in the job process, the jobs' own (JOBS_CONCURRENCY + 1), tools, and
 * headroom.
 */
export function embeddedMaxConnections(config: Pick<Config, 'workers' | 'databasePoolMax'> & Partial<Pick<Config, 'jobsConcurrency'>>): number {
  const jobs = config.jobsConcurrency === undefined ? 0 : 2 * config.jobsConcurrency + 3;
  return Math.max(100, config.workers * (config.databasePoolMax + 2 + jobs) + 20);
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
export async function openDatabase(
  config: DatabaseConfig,
  log: EmbeddedLog,
  lock?: DataDirLock,
  options: { applicationName?: string; /** The caller's parent migrated it (the job process): no migration run again. */ migrated?: boolean } = {},
): Promise<Database> {
  const { migrated, ...connection } = options;
  if (!driverPatched()) {
    log.warn(
      {},
      "postgres.js is not the patched one (node_modules/postgres is not vendor/postgres-3.4.9-patched.tgz, which package.json names): the server slows down under steady load and can crash when the database restarts; run npm ci",
    );
  }
  let embedded: EmbeddedServer | undefined;
  let url: string;
  if (config.databaseUrl !== undefined) url = config.databaseUrl;
  else if (config.embeddedUrl !== undefined) url = config.embeddedUrl;
  else {
    embedded = await startEmbeddedServer(config, log, lock);
    url = embedded.url;
  }
  const isEmbedded = config.databaseUrl === undefined;
  const connect = () =>
    createDatabase({
      url,
      kind: isEmbedded ? 'embedded' : 'external',
      where: isEmbedded ? `embedded PostgreSQL in ${config.dataDir}` : describeUrl(url),
      // Our own server needs no pooler workaround.
      prepare: isEmbedded ? true : config.databasePrepare,
      poolMax: config.databasePoolMax,
      timeoutMs: config.databaseTimeoutMs,
      budgetMs: config.queryBudgetMs,
      ...(embedded ? { onClose: () => (embedded as EmbeddedServer).stop() } : {}),
      ...(isEmbedded ? { readyCheck: () => enoughSpace(config.dataDir) } : {}),
      listenUrl: isEmbedded ? url : config.databaseDirectUrl,
      ...connection,
    });
  const database = connect();
  if (migrated === true) return database;
  let applied: string[];
  try {
    applied = await migrateWhenReachable(database, config, log);
  } catch (err) {
    if (!(err instanceof MissingDatabaseError) || !err.created) {
      await database.close().catch(() => {});
      throw err;
    }
    // Created just now (development): connect again, and migrate it.
    try {
      applied = await migrateWhenReachable(database, config, log);
    } catch (again) {
      await database.close().catch(() => {});
      throw again;
    }
  }
  if (applied.length === 0) return database;
  // The driver learns the database's types (the array types it must encode, task_priority[]
  // among them) when a connection opens: a connection opened before the migrations created them
  // would send such a parameter wrongly. Start again with connections that know them.
  await database.sql.end({ timeout: 5 });
  return connect();
}

/**
 * Whether the driver is the vendored one, patched (patches/postgres-3.4.9-*.patch: its queue, and a
 * connection closed under a transaction; src/ is what `import` loads).
 */
function driverPatched(): boolean {
  try {
    const file = (name: string) => readFileSync(fileURLToPath(new URL(`./${name}`, import.meta.resolve('postgres'))), 'utf8');
    return (
      file('queue.js').includes('task-api patch: patches/postgres-3.4.9-queue.patch') &&
      file('connection.js').includes('task-api patch: patches/postgres-3.4.9-closed-connection.patch')
    );
  } catch {
    return true; // not where we look: say nothing rather than something wrong
  }
}

/** DATABASE_URL names a database that does not exist (SQLSTATE 3D000). */
class MissingDatabaseError extends StartupError {
  constructor(
    message: string,
    readonly created: boolean,
  ) {
    super(message);
  }
}

/** A word as the shell takes it. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The createdb command line for the database of `url`, run as the URL's user or as `admin` (for
 * `owner`); no password in it (createdb asks for one).
 */
export function createdbCommand(url: string, options: { admin?: string; owner?: string } = {}): string {
  const u = new URL(url);
  const socket = u.searchParams.get('host');
  const host = socket?.startsWith('/') ? socket : u.hostname.replace(/^\[|\]$/g, '');
  const user = options.admin ?? (decodeURIComponent(u.username) || 'postgres');
  const name = decodeURIComponent(u.pathname.slice(1));
  const ssl = u.searchParams.get('sslmode');
  return [
    ...(ssl && ssl !== 'disable' ? [`PGSSLMODE=${shellWord(ssl)}`] : []),
    'createdb',
    '-h',
    shellWord(host || 'localhost'),
    '-p',
    u.port || '5432',
    '-U',
    shellWord(user),
    ...(options.owner ? ['-O', shellWord(options.owner)] : []),
    shellWord(name),
  ].join(' ');
}

/**
 * DATABASE_URL's database does not exist. Ask its server, through the maintenance database
 * `postgres` with the same credentials, whether this user may create databases: in development it
 * creates it and says so; otherwise the message gives the exact command, for this user or, without
 * the right, for an administrator.
 */
async function missingDatabase(url: string, where: string, env: Config['env'], log: EmbeddedLog): Promise<MissingDatabaseError> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  const user = decodeURIComponent(u.username) || 'postgres';
  const maintenance = new URL(url);
  maintenance.pathname = name === 'postgres' ? '/template1' : '/postgres';
  maintenance.searchParams.delete('pgbouncer');
  let canCreate: boolean | undefined;
  const sql = postgres(...driverArgs(maintenance.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5, prepare: false }));
  try {
    const [row] = await sql<{ may: boolean; me: string }[]>`select (rolcreatedb or rolsuper) as may, current_user as me from pg_roles where rolname = current_user`;
    canCreate = row?.may === true;
    if (canCreate && env === 'development') {
      await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`);
      log.warn({ database: where }, `database "${name}" did not exist at ${where}: created it (NODE_ENV=development; elsewhere the service only says how)`);
      return new MissingDatabaseError('created', true);
    }
  } catch (err) {
    // Created by another instance meanwhile: fine, use it.
    if ((err as { code?: unknown }).code === '42P04') return new MissingDatabaseError('created', true);
    canCreate = undefined;
  } finally {
    await sql.end({ timeout: 2 }).catch(() => {});
  }
  const head = `database at ${where} does not exist`;
  if (canCreate === true) {
    return new MissingDatabaseError(
      `${head}; the user ${user} may create it:  ${createdbCommand(url)}  (with NODE_ENV=development the service creates it itself), or fix DATABASE_URL`,
      false,
    );
  }
  if (canCreate === false) {
    return new MissingDatabaseError(
      `${head}, and the user ${user} may not create databases: an administrator can, with  ${createdbCommand(url, { admin: 'postgres', owner: user })}  or fix DATABASE_URL`,
      false,
    );
  }
  return new MissingDatabaseError(`${head}: create it with  ${createdbCommand(url)}  or fix DATABASE_URL`, false);
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
async function migrateWhenReachable(database: Database, config: DatabaseConfig, log: EmbeddedLog): Promise<string[]> {
  const started = Date.now();
  const deadline = started + config.databaseConnectRetryMs;
  for (let delay = 250, attempt = 1; ; attempt++, delay = Math.min(delay * 2, 4000)) {
    try {
      const applied = await migrate(database.db);
      if (applied.length > 0) log.info({ applied }, 'migrations applied');
      return applied;
    } catch (err) {
      const left = deadline - Date.now();
      if (errorCode(err) === '3D000' && config.databaseUrl !== undefined) {
        throw await missingDatabase(config.databaseUrl, database.where, config.env, log);
      }
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
  // A transaction pooler (a plain PgBouncer) refuses the statement_timeout we send at connect.
  if (code === '08P01' && /unsupported startup parameter/.test(first ?? '')) {
    return `database at ${database.where} answered "${first}": this looks like a transaction pooler (PgBouncer): add ?pgbouncer=true to DATABASE_URL or set DATABASE_PREPARE=false`;
  }
  return `database at ${database.where} refused to start the service: ${first}`;
}
