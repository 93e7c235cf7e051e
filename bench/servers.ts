// Child processes for the bench: our server, the reference system, the ceiling servers.
// Also: free ports, readiness polling, throwaway databases.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

/** The repository root: the nearest folder above this file holding package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('bench: cannot find the repository root (package.json) above ' + import.meta.url);
}

/**
 * How to run a sibling bench module (e.g. 'ceiling-server') as a child: the compiled .js when
 * running from dist/, or the .ts through tsx when running from source (vitest).
 */
export function benchModuleCommand(name: string): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return [process.execPath, '--import', 'tsx', join(dirname(here), `${name}.ts`)];
  return [process.execPath, join(dirname(here), `${name}.js`)];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ChildSpec {
  name: string;
  command: string[];
  cwd?: string;
  env: Record<string, string | undefined>;
  port: number;
  /** GET path that answers 200 once the process can serve. */
  readyPath: string;
  readyTimeoutMs: number;
}

/** Lines of a child's output worth reporting (5xx tracebacks, pool timeouts, errors). */
const NOTABLE = /error|exception|traceback|timeout|queuepool|fatal|warn/i;

export class Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  private tail: string[] = [];
  private notable = new Map<string, number>();
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private exitPromise: Promise<void>;

  private constructor(readonly spec: ChildSpec) {
    const [cmd, ...args] = spec.command;
    if (!cmd) throw new Error(`${spec.name}: empty command`);
    // detached: own process group, so a stuck server and its workers can be killed together.
    this.proc = spawn(cmd, args, {
      cwd: spec.cwd,
      env: spec.env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (this.proc.pid === undefined) throw new Error(`${spec.name}: spawn failed (${cmd})`);
    this.pid = this.proc.pid;
    live.add(this);
    this.exitPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = { code, signal };
        live.delete(this);
        resolve();
      });
      this.proc.on('error', (err) => {
        this.record(`spawn error: ${err.message}`);
        this.exited ??= { code: -1, signal: null };
        live.delete(this);
        resolve();
      });
    });
    let partial = '';
    const onData = (buf: Buffer): void => {
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.record(line);
    };
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
  }

  private record(line: string): void {
    if (!line) return;
    this.tail.push(line);
    if (this.tail.length > 60) this.tail.shift();
    if (NOTABLE.test(line)) {
      const key = line.replace(/\d+/g, 'N').slice(0, 160);
      this.notable.set(key, (this.notable.get(key) ?? 0) + 1);
    }
  }

  static async start(spec: ChildSpec): Promise<Child> {
    const child = new Child(spec);
    const t0 = Date.now();
    const url = `http://127.0.0.1:${spec.port}${spec.readyPath}`;
    while (Date.now() - t0 < spec.readyTimeoutMs) {
      if (child.exited) {
        throw new Error(`${spec.name} exited during start (${JSON.stringify(child.exited)}):\n${child.outputTail()}`);
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) {
          child.startupMs = Date.now() - t0;
          return child;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    await child.stop();
    throw new Error(`${spec.name} not ready at ${url} after ${spec.readyTimeoutMs} ms:\n${child.outputTail()}`);
  }

  startupMs = 0;

  get hasExited(): boolean {
    return this.exited !== null;
  }

  outputTail(lines = 30): string {
    return this.tail.slice(-lines).map((l) => `  | ${l}`).join('\n');
  }

  /** Output lines matching error-ish words, with counts (digits folded to N). */
  notableLines(): Record<string, number> {
    return Object.fromEntries(this.notable);
  }

  /** SIGTERM, then SIGKILL to the whole process group after graceMs. Returns how it ended. */
  async stop(graceMs = 5000): Promise<'exited' | 'sigterm' | 'sigkill'> {
    if (this.exited) {
      return 'exited';
    }
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timedOut = await Promise.race([this.exitPromise.then(() => false), sleep(graceMs).then(() => true)]);
    if (!timedOut) {
      killGroup(this.pid); // workers left behind by a supervisor that exited first
      return 'sigterm';
    }
    killGroup(this.pid);
    await Promise.race([this.exitPromise, sleep(2000)]);
    return 'sigkill';
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // group already empty
  }
}

const live = new Set<Child>();

/** Last resort on harness exit (Ctrl-C, crash): kill every child group we started. */
export function killAllChildrenSync(): void {
  for (const c of live) killGroup(c.pid);
  live.clear();
}

// ---------------------------------------------------------------------------------------------
// Throwaway PostgreSQL databases

export const DEFAULT_PG_SERVER = 'postgresql://postgres@127.0.0.1:5432/postgres';

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}

/** The URL in the form SQLAlchemy 1.4 accepts (it refuses the `postgres://` scheme). */
export function sqlalchemyUrl(url: string): string {
  return url.replace(/^postgres:\/\//, 'postgresql://');
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * Creates a database with a random name on the server of `serverUrl`. Returns its URL and a
 * dropper, or null when the server refuses (then the caller uses serverUrl itself).
 */
export async function createScratchDatabase(
  serverUrl: string,
  prefix: string,
): Promise<{ url: string; name: string; drop: () => Promise<void> } | null> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await admin.unsafe(`create database "${name}"`);
  } catch {
    await admin.end({ timeout: 2 });
    return null;
  }
  await admin.end({ timeout: 2 });
  return {
    url: withDatabase(serverUrl, name),
    name,
    drop: async () => {
      const a = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end({ timeout: 2 });
      }
    },
  };
}
