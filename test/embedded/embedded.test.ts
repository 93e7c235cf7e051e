/**
 * The embedded default as a user meets it: `node dist/src/server.js` with no database configured,
 * started, stopped, killed and restarted on one DATA_DIR, a second service on the same folder, a
 * full disk. Every process is stopped by its own pid; every wait is bounded.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { driverArgs, startEmbedded } from '../../src/db/embedded.js';
import { LOCK_FILE } from '../../src/db/data-dir.js';
import { api as apiOf, publicApi } from '../helpers/api.js';
import { signToken } from '../helpers/app.js';
import { cleanEnv, freePort, runNode, scratchDir, SERVER_JS, startServer, type Server } from '../helpers/process.js';

const SECRET = 'embedded-server-tests-secret-0123456789';
/** Written into titles while the disk is full: it must not reach any log line. */
const DISK_SECRET = 'private: account 1234-5678';
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function env(extra: Record<string, string> = {}): Record<string, string> {
  return cleanEnv({ BETTER_AUTH_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '0', MAX_TASKS_PER_LIST: '100000', ...extra });
}

async function client(server: Server, user = 'alice') {
  const as = await apiOf(server.url, user, { token: await signToken(user, { secret: SECRET }) });
  return {
    create: (title: string) => as.create({ title }),
    remind: (title: string, at: Date) => as.create({ title, reminders: [{ at: at.toISOString() }] }),
    list: async () => ((await as.list()).json() as { data: { id: number; title: string }[] }).data,
    query: (query: string) => as.list(`?${query}`),
  };
}

/** The postmaster's pid from DATA_DIR/postgres/postmaster.pid, if the file is there. */
function postmasterPid(dataDir: string): number | undefined {
  const file = join(dataDir, 'postgres', 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  return Number(readFileSync(file, 'utf8').split('\n')[0]);
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (exited, not yet reaped by init) is not alive.
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return lstatSync(path).isDirectory() ? [path, ...walk(path)] : [path];
  });
}

const started: Server[] = [];
async function start(cwd: string, extra: Record<string, string> = {}): Promise<Server> {
  const server = await startServer(cwd, env(extra));
  started.push(server);
  return server;
}
afterAll(async () => {
  for (const s of started) await s.stop('SIGTERM');
});

describe('the embedded PostgreSQL server (npm start with no database configured)', () => {
  it('serves from ./.data on a Unix socket in DATA_DIR, no TCP port, fsync on, and no file there is group- or world-writable', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const server = await start(cwd);
    const api = await client(server);
    expect((await api.create('Buy milk')).statusCode).toBe(201);
    // Fired by the job process (JOBS_PROCESS=separate), which reaches the embedded server through its socket.
    const reminded = await api.remind('Call back', new Date(Date.now() + 1000));
    expect(reminded.statusCode).toBe(201);
    // The first process on a database it just migrated: array parameters of types the migrations
    // created (task_priority[]) are encoded right on every pooled connection, opened before or after.
    const filtered = await Promise.all(Array.from({ length: 12 }, () => api.query('priority=none,high&tag=x&sort=priority')));
    expect(filtered.map((r) => r.statusCode)).toEqual(Array(12).fill(200));
    expect((filtered[0]!.json() as { data: unknown[] }).data).toEqual([]);
    const byPriority = (await api.query('priority=none')).json() as { data: { title: string }[] };
    expect(byPriority.data.map((t) => t.title)).toEqual(['Call back', 'Buy milk']);
    const dataDir = join(cwd, '.data');
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim()).toBe(String(server.child.pid));

    const sql = postgres(...driverArgs(`postgresql://postgres@localhost/postgres?host=${encodeURIComponent(join(dataDir, 'run'))}`, { max: 1 }));
    try {
      const rows = await sql<{ name: string; setting: string }[]>`
        select name, setting from pg_settings
        where name in ('listen_addresses', 'unix_socket_directories', 'unix_socket_permissions', 'fsync', 'synchronous_commit')
        order by name`;
      expect(Object.fromEntries(rows.map((r) => [r.name, r.setting]))).toEqual({
        fsync: 'on',
        listen_addresses: '',
        synchronous_commit: 'on',
        unix_socket_directories: join(dataDir, 'run'),
        unix_socket_permissions: '0700',
      });
      await waitUntil('the reminder to fire', async () => (await sql<{ n: number }[]>`select count(*)::int as n from reminder_firings`)[0]?.n === 1, 20_000);
    } finally {
      await sql.end();
    }
    const writable = walk(dataDir).filter((p) => (lstatSync(p).mode & 0o022) !== 0 && !lstatSync(p).isSymbolicLink());
    expect(writable).toEqual([]);
    expect(lstatSync(join(dataDir, 'run')).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(dataDir, 'postgres')).mode & 0o777).toBe(0o700);
  });

  it('refuses a second service on the same DATA_DIR at once, whatever its port, and the first keeps serving', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const first = await start(cwd);
    const api = await client(first);
    expect((await api.create('before')).statusCode).toBe(201);
    const pgBefore = postmasterPid(join(cwd, '.data'));
    const dataDir = join(cwd, '.data');

    for (const port of [await freePort(), Number(new URL(first.url).port)]) {
      const t0 = Date.now();
      const second = await runNode(SERVER_JS, [], cwd, env({ PORT: String(port) }));
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(second.code).toBe(1);
      expect(second.stdout).toBe('');
      expect(second.stderr).toBe(
        `Another task API service (pid ${first.child.pid}) uses DATA_DIR ${dataDir}: stop it first, or give this one another DATA_DIR (or a DATABASE_URL)\n`,
      );
    }
    expect(postmasterPid(dataDir)).toBe(pgBefore);
    expect((await api.create('after')).statusCode).toBe(201);
    expect((await api.list()).map((t) => t.title)).toEqual(['after', 'before']);
  });

  it('SIGTERM and SIGINT stop the server with the service and release the folder; the next start finds the data', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const dataDir = join(cwd, '.data');
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const server = await start(cwd);
      expect((await (await client(server)).create(`before ${signal}`)).statusCode).toBe(201);
      const pg = postmasterPid(dataDir);
      expect(alive(pg)).toBe(true);
      expect((await server.stop(signal)).code).toBe(0);
      expect(alive(pg)).toBe(false);
      expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    }
    const again = await start(cwd);
    expect((await (await client(again)).list()).map((t) => t.title)).toEqual(['before SIGINT', 'before SIGTERM']);
  });

  it('a start-up failure after the server started stops it again (here: a migration that cannot apply)', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const dataDir = join(cwd, '.data');
    const server = await start(cwd);
    expect((await server.stop('SIGTERM')).code).toBe(0);
    // Forget the applied migrations: the first one then fails on the existing table.
    const embedded = await startEmbedded({ dataDir, osUser: 'postgres', maxConnections: 20, log: { debug() {}, info() {}, warn() {}, error() {} } });
    const sql = postgres(...driverArgs(embedded.url, { max: 1, onnotice: () => {} }));
    await sql`delete from drizzle.__drizzle_migrations`;
    await sql.end();
    await embedded.stop();

    const failed = await runNode(SERVER_JS, [], cwd, env({ PORT: String(await freePort()) }));
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^Failed to start: database at embedded PostgreSQL in .* refused to start the service: relation "tasks(_id_seq)?" already exists\n$/);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  it('a port in use fails at once with one line, before the database is started', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const holder = await start(scratchDir('task-api-embedded-'));
    const res = await runNode(SERVER_JS, [], cwd, env({ PORT: new URL(holder.url).port }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Failed to start: port ${new URL(holder.url).port} on 127.0.0.1 is in use (another service, or an earlier npm start?): stop it or set PORT\n`,
    );
    expect(existsSync(join(cwd, '.data', 'postgres'))).toBe(false);
  });

  it('SIGKILL under write load: the server is stopped by the watchdog, and a restart finds every write that was answered 2xx', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const dataDir = join(cwd, '.data');
    const server = await start(cwd);
    const api = await client(server);
    const pg = postmasterPid(dataDir);
    const acknowledged: number[] = [];
    let killed = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !killed; i++) {
        try {
          const res = await api.create(`w${w}-${i}`);
          if (res.statusCode === 201) acknowledged.push((res.json() as { data: { id: number } }).data.id);
        } catch {
          // the connection died with the server: not acknowledged
        }
      }
    });
    await waitUntil('writes under way', () => acknowledged.length >= 200);
    server.child.kill('SIGKILL');
    killed = true;
    await Promise.all(writers);
    await waitUntil('the watchdog to stop the orphaned server', () => !alive(pg));

    const again = await start(cwd);
    const stored = new Set((await (await client(again)).list()).map((t) => t.id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(200);
  });

  it('recovers when the service, the watchdog and the server were all killed (stale lock, stale postmaster.pid)', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const dataDir = join(cwd, '.data');
    const server = await start(cwd);
    expect((await (await client(server)).create('survives')).statusCode).toBe(201);
    const pg = postmasterPid(dataDir) as number;
    const watchdogs = execFileSync('pgrep', ['-f', `task-api-watchdog ${pg}$`], { encoding: 'utf8' }).trim().split('\n').map(Number);
    expect(watchdogs).toHaveLength(1);
    for (const pid of [server.child.pid as number, ...watchdogs, pg]) process.kill(pid, 'SIGKILL');
    await waitUntil('everything gone', () => !alive(pg) && (server.child.exitCode !== null || server.child.signalCode !== null));
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(true);

    const again = await start(cwd);
    expect((await (await client(again)).list()).map((t) => t.title)).toEqual(['survives']);
  });

  it('WORKERS=2: one server, two Node processes, and SIGTERM stops all of them', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const dataDir = join(cwd, '.data');
    const server = await start(cwd, { WORKERS: '2' });
    const api = await client(server);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => api.create(`t${i}`)));
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    expect(await api.list()).toHaveLength(20);
    const pg = postmasterPid(dataDir);
    expect((await server.stop('SIGTERM')).code).toBe(0);
    expect(alive(pg)).toBe(false);
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
  });

  it.runIf(IS_ROOT)('as root without the OS user to run PostgreSQL as: one clear line, and no user is created', async () => {
    const cwd = scratchDir('task-api-embedded-');
    const res = await runNode(SERVER_JS, [], cwd, env({ PORT: String(await freePort()), EMBEDDED_POSTGRES_USER: 'no-such-user-here' }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Failed to start: PostgreSQL refuses to run as root, and there is no unprivileged OS user "no-such-user-here" to run the embedded database in ${join(cwd, '.data')} as: ` +
        'run the service as a normal user, set EMBEDDED_POSTGRES_USER to an existing user, or set DATABASE_URL to a PostgreSQL server\n',
    );
    expect(() => execFileSync('id', ['no-such-user-here'], { stdio: 'ignore' })).toThrow();
  });

  it.runIf(IS_ROOT && process.platform === 'linux')(
    'a full disk (a small tmpfs): fast 503s in the contract format, /ready 503, recovery when space returns, SIGTERM still ends it',
    async () => {
      const mount = scratchDir('task-api-fulldisk-');
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m,mode=0711', 'tmpfs', mount]);
      try {
        const cwd = scratchDir('task-api-embedded-');
        const dataDir = join(mount, 'data');
        // LOG_LEVEL=debug: every line the embedded server forwards is in the output too.
        const server = await start(cwd, { DATA_DIR: dataDir, LOG_LEVEL: 'debug' });
        const api = await client(server);
        const acknowledged: string[] = [];
        for (let i = 0; i < 5; i++) if ((await api.create(`ok ${i}`)).statusCode === 201) acknowledged.push(`ok ${i}`);

        const fill = (name: string) => {
          const chunk = Buffer.alloc(1 << 20);
          const file = join(mount, name);
          try {
            for (;;) writeFileSync(file, chunk, { flag: 'a' });
          } catch (err) {
            expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
          }
          return file;
        };
        let filler = fill('filler-1');
        const failures: { status: number; ms: number; body: Record<string, unknown> }[] = [];
        for (let i = 0; i < 300 && failures.length < 20; i++) {
          const t0 = performance.now();
          const title = `while full ${i} ${DISK_SECRET} ${'x'.repeat(150)}`;
          const res = await api.create(title);
          if (res.statusCode === 201) acknowledged.push(title);
          else failures.push({ status: res.statusCode, ms: performance.now() - t0, body: res.json() as Record<string, unknown> });
        }
        expect(failures.length).toBe(20);
        for (const f of failures) {
          expect([500, 503]).toContain(f.status);
          expect(Object.keys(f.body).sort()).toEqual(['code', 'detail', 'error']);
          expect(f.ms).toBeLessThan(2000);
        }
        const ready = await publicApi(server.url).ready();
        expect(ready.statusCode).toBe(503);
        expect(ready.json()).toEqual({ error: 'The database is unavailable', code: 'SERVICE_UNAVAILABLE', detail: 'The database is unavailable' });
        expect((await publicApi(server.url).health()).statusCode).toBe(200);

        rmSync(filler);
        await waitUntil('/ready 200 once space returns', async () => (await publicApi(server.url).ready()).statusCode === 200);
        expect((await api.create('after space returned')).statusCode).toBe(201);
        acknowledged.push('after space returned');

        filler = fill('filler-2');
        const t0 = Date.now();
        const { code, signal } = await server.stop('SIGTERM');
        expect(Date.now() - t0).toBeLessThan(10_000);
        expect(code ?? signal).not.toBeNull();
        rmSync(filler);
        // What users wrote never reached the log, the embedded server's forwarded lines included.
        expect(server.output()).not.toContain(DISK_SECRET);

        const again = await start(cwd, { DATA_DIR: dataDir });
        const titles = new Set((await (await client(again)).list()).map((t) => t.title));
        expect(acknowledged.filter((t) => !titles.has(t))).toEqual([]);
        expect((await again.stop('SIGTERM')).code).toBe(0);
      } finally {
        execFileSync('umount', ['-l', mount]);
        rmSync(mount, { recursive: true, force: true });
      }
    },
    90_000,
  );
});

