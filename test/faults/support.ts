/**
 * Helpers for the fault, load and security tests: a private PostgreSQL cluster, a private PgBouncer,
 * scratch databases on the shared server, bounded child processes, and a keep-alive HTTP client
 * that records when each request started and how it ended (status, or the socket error).
 *
 * Everything talks to 127.0.0.1 only. Every wait is bounded. Every process started here is
 * stopped by its own id (or its own process group), never by name.
 */
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { freePort, ROOT, run, runOk, sleep, startServer, waitFor, type Server } from '../helpers/process.js';
import { signToken } from '../helpers/tokens.js';
import { routes } from '../helpers/api.js';
import { ErrorCode } from '../../src/errors.js';

export { freePort, run, runOk, sleep, startServer, waitFor, type Server };
export { scratchDatabase, type ScratchDatabase } from '../helpers/scratch.js';

/** The secret every server process of these tests gets (40 characters, so production accepts it). */
export const FAULT_SECRET = 'fault-and-security-tests-secret-01234567';

/** An HS256 token for `sub`, signed with FAULT_SECRET. */
export function faultToken(sub: string, expiresIn = 3600): Promise<string> {
  return signToken(sub, { secret: FAULT_SECRET, expiresIn });
}


export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** [cmd, args] that run `cmd` as the postgres OS user when we are root (initdb, postgres and pgbouncer refuse root). */
export function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return IS_ROOT ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function postgresUid(): { uid: number; gid: number } | undefined {
  if (!IS_ROOT) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A temp directory owned by the postgres OS user when we are root. */
export function tempDirForPostgres(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const owner = postgresUid();
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

// --- A private PostgreSQL cluster ----------------------------------------------------------------

/** Where initdb and pg_ctl are: PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
export function findPgBin(): string | undefined {
  const candidates = [process.env.PG_BIN, ...['18', '17', '16', '15', '14', '13'].map((v) => `/usr/lib/postgresql/${v}/bin`)];
  return candidates.find((d): d is string => d !== undefined && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl')));
}

/**
 * A throwaway PostgreSQL cluster in a temp dir, on its own port, run as the postgres OS user. Trust
 * auth on 127.0.0.1 only, its socket in its own dir. `destroy()` stops it (immediate) and removes it.
 */
export class PgCluster {
  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PgCluster> {
    const bin = findPgBin();
    if (bin === undefined) throw new Error('no PostgreSQL binaries (initdb, pg_ctl): set PG_BIN');
    const dir = tempDirForPostgres('task-api-pgcluster-');
    const port = await freePort();
    const cluster = new PgCluster(bin, dir, port);
    const data = join(dir, 'data');
    try {
      await runOk(...asPostgresUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']), {
        timeoutMs: 60_000,
      });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    const conf = [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'max_connections = 50',
      'fsync = off',
      'full_page_writes = off',
      "shared_buffers = '32MB'",
      'logging_collector = off',
    ].join('\n');
    const confFile = join(data, 'postgresql.conf');
    writeFileSync(confFile, `${readFileSync(confFile, 'utf8')}\n# task-api fault tests\n${conf}\n`);
    return cluster;
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private pgCtl(args: string[], timeoutMs = 30_000) {
    return runOk(...asPostgresUser(join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), ...args]), { timeoutMs });
  }

  /** Starts it and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.pgCtl(['-l', join(this.dir, 'server.log'), '-w', '-t', '30', 'start']);
  }

  /** Stops it: 'fast' rolls back open transactions and disconnects clients, then checkpoints. */
  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pgCtl(['-m', mode, '-w', '-t', '30', 'stop']);
  }

  async running(): Promise<boolean> {
    const r = await run(...asPostgresUser(join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), 'status']), { timeoutMs: 10_000 });
    return r.code === 0;
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, 'server.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops it if it runs (immediate), then removes its directory. Never throws. */
  async destroy(): Promise<void> {
    try {
      if (await this.running()) await this.stop('immediate');
    } catch {
      // fall through to removal; the process, if any, dies with its data dir gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// --- Reading what was stored ---------------------------------------------------------------------

export interface TaskRowLite {
  id: number;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
}

/** Every task row, read directly (not through the API). */
export async function readAllTasks(url: string): Promise<TaskRowLite[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const rows = await sql<TaskRowLite[]>`select id, user_id, title, description, completed from tasks order by id`;
    return rows.map((r) => ({ ...r, id: Number(r.id) }));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** How many migrations the bookkeeping table holds, and how many the project ships. */
export async function migrationCounts(url: string): Promise<{ applied: number; shipped: number }> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ n: string }[]>`select count(*)::text as n from drizzle.__drizzle_migrations`;
    const journal = JSON.parse(readFileSync(join(ROOT, 'drizzle', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    return { applied: Number(row?.n), shipped: journal.entries.length };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

// --- The server as a process ---------------------------------------------------------------------

/** The environment a server of these tests gets: nothing from ours but PATH and HOME. LOG_LEVEL info: readiness is its "task API ready" line. */
export function serverEnv(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    BETTER_AUTH_SECRET: FAULT_SECRET,
    // Nothing listens on port 9 (discard): never a developer's `next dev` on 3000.
    BETTER_AUTH_URL: 'http://127.0.0.1:9',
    LOG_LEVEL: 'info',
    RATE_LIMIT_PER_MINUTE: '0',
    ...extra,
  };
}

// --- A recording HTTP client ---------------------------------------------------------------------

export interface Exchange {
  method: string;
  path: string;
  /** performance.now() when the request was handed to the socket layer, and when it ended. */
  startedAt: number;
  endedAt: number;
  ms: number;
  /** The status, or undefined when no response came (see `error`). */
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: string;
  /** The socket error code (ECONNREFUSED, ECONNRESET, ...) when no response came. */
  error?: string;
  /** Whether the request went out on a reused keep-alive socket. */
  reused?: boolean;
}

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets, keepAliveMsecs: 1000 });
}

/** One request; never throws: a failure is an Exchange with `error`. Bounded by `timeoutMs`. */
export function send(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; agent?: Agent; timeoutMs?: number } = {},
): Promise<Exchange> {
  const url = new URL(path, base);
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (e: Partial<Exchange>) => {
      if (settled) return;
      settled = true;
      const endedAt = performance.now();
      resolve({ method, path, startedAt, endedAt, ms: endedAt - startedAt, ...e });
    };
    const headers: Record<string, string | number> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body);
    const req = httpRequest(
      { host: '127.0.0.1', port: Number(url.port), method, path: url.pathname + url.search, headers, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket }));
        res.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message, reused: req.reusedSocket }));
      },
    );
    req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message, reused: req.reusedSocket }));
    req.end(opts.body);
  });
}

/** The body as JSON, or undefined. */
export function jsonOf(e: Exchange): unknown {
  try {
    return e.body === undefined ? undefined : JSON.parse(e.body);
  } catch {
    return undefined;
  }
}

/** A short description of an exchange, for assertion messages. */
export function describeExchange(e: Exchange): string {
  return `${e.method} ${e.path} -> ${e.status ?? e.error} in ${e.ms.toFixed(0)} ms${e.body ? `: ${e.body.slice(0, 200)}` : ''}`;
}

/**
 * A tiny API client for one user against one server, for the fault tests: its paths come from the
 * test client's routes (test/helpers/api.ts), its transport is `send`, which never throws (a
 * refused or cut connection is an Exchange with `error`), times each call and says whether a
 * pooled socket was reused: what the faults assert on, and what fetch does not expose.
 */
export async function apiClient(base: string, user: string, agent?: Agent, timeoutMs = 15_000) {
  const token = await faultToken(user);
  const auth = { authorization: `Bearer ${token}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const root = routes.tasks(user);
  const withAgent = { timeoutMs, ...(agent ? { agent } : {}) };
  return {
    token,
    root,
    list: (query = '') => send(base, 'GET', `${root}${query}`, { headers: auth, ...withAgent }),
    create: (body: unknown) => send(base, 'POST', root, { headers: json, body: JSON.stringify(body), ...withAgent }),
    get: (id: number) => send(base, 'GET', routes.task(user, id), { headers: auth, ...withAgent }),
    put: (id: number, body: unknown) => send(base, 'PUT', routes.task(user, id), { headers: json, body: JSON.stringify(body), ...withAgent }),
    del: (id: number) => send(base, 'DELETE', routes.task(user, id), { headers: auth, ...withAgent }),
    toggle: (id: number) => send(base, 'PATCH', routes.complete(user, id), { headers: auth, ...withAgent }),
  };
}

/** The contract's error codes with their status (API.md, Errors): the catalog itself. */
export const CONTRACT_ERRORS: Record<string, number> = { ...ErrorCode };

/** Undefined if `body` is exactly {error: string, code: <contract code matching status>}, else why not. */
export function contractErrorProblem(status: number, body: string | undefined): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return `body is not JSON: ${JSON.stringify((body ?? '').slice(0, 200))}`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return `body is not an object: ${body}`;
  const keys = Object.keys(parsed).sort();
  if (keys.join(',') !== 'code,detail,error') return `body keys are ${keys.join(',')}, not code,detail,error: ${body?.slice(0, 200)}`;
  const { error, code, detail } = parsed as { error: unknown; code: unknown; detail: unknown };
  if (detail !== error) return `detail must repeat error: ${body?.slice(0, 200)}`;
  if (typeof error !== 'string' || typeof code !== 'string') return `error and code must be strings: ${body?.slice(0, 200)}`;
  if (!(code in CONTRACT_ERRORS)) return `code ${code} is not in the contract`;
  if (CONTRACT_ERRORS[code] !== status) return `code ${code} goes with ${CONTRACT_ERRORS[code]}, not ${status}`;
  return undefined;
}

/** A private PgBouncer (transaction pooling) in front of host:port. `stop()` kills its process group. */
export interface PgBouncer {
  port: number;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

export function findPgBouncer(): string | undefined {
  return ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find((p) => existsSync(p));
}

export async function startPgBouncer(
  binary: string,
  upstream: { host: string; port: number },
  opts: { poolSize?: number; ignoreStartupParameters?: string[] } = {},
): Promise<PgBouncer> {
  const dir = tempDirForPostgres('task-api-pgbouncer-');
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const auth = join(dir, 'userlist.txt');
  const logfile = join(dir, 'pgbouncer.log');
  writeFileSync(auth, '"postgres" ""\n');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${upstream.host} port=${upstream.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${auth}`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 4}`,
      'max_client_conn = 200',
      'server_reset_query =',
      `ignore_startup_parameters = ${['extra_float_digits', ...(opts.ignoreStartupParameters ?? [])].join(',')}`,
      `logfile = ${logfile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'admin_users = postgres',
      '',
    ].join('\n'),
  );
  const owner = postgresUid();
  if (owner) for (const f of [ini, auth]) chownSync(f, owner.uid, owner.gid);
  const [cmd, args] = asPostgresUser(binary, [ini]);
  // Own process group: stop() signals the group, so runuser and pgbouncer go together.
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    try {
      return `${out}${readFileSync(logfile, 'utf8')}`;
    } catch {
      return out;
    }
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-(child.pid as number), 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(
      'pgbouncer to accept connections',
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        const sql = postgres(`postgresql://postgres@127.0.0.1:${port}/postgres`, { max: 1, prepare: false, connect_timeout: 2, onnotice: () => {} });
        try {
          await sql`select 1`;
          return true;
        } finally {
          await sql.end({ timeout: 1 });
        }
      },
      15_000,
      150,
    );
  } catch (err) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer did not come up: ${(err as Error).message}\n${log()}`, { cause: err });
  }
  return {
    port,
    dir,
    log,
    async stop() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A healthy Better Auth stand-in on 127.0.0.1 that knows no one: an empty JWKS, and get-session
 * answering null (what Better Auth answers for an unknown session token). With it, a token the
 * server cannot verify is a 401, not a 503 "auth server unreachable".
 */
export async function startStubAuthServer(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const path = (req.url ?? '').split('?')[0];
    const body = path === '/api/auth/jwks' ? '{"keys":[]}' : path === '/api/auth/get-session' ? 'null' : undefined;
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
