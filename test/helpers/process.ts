/**
 * Processes, ports and folders for the tests, the bench and the soak (no Vitest in here: bench/
 * imports it too). Every wait is bounded; every process is stopped by its own pid (or group).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { projectRoot } from '../../src/lib/project-root.js';

export const ROOT = projectRoot();
export const SERVER_JS = join(ROOT, 'dist/src/server.js');
export const TOKEN_JS = join(ROOT, 'dist/src/cli/token.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `intervalMs` until it returns true, or throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      if (await check()) return performance.now() - start;
    } catch {
      // not yet
    }
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A port nobody listens on right now (on 127.0.0.1). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A new empty folder under the system's temp dir that the embedded PostgreSQL's OS user (when run
 * as root) may enter, as it may enter a project folder.
 */
export function scratchDir(prefix = 'task-api-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}

/** Where Node and OpenSSL find extra certificate authorities; passed on by cleanEnv. */
const TRUST_ENV = ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

/** The environment of a fresh machine: no project variables at all (the machine's trusted certificate authorities kept). */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  // The certificate authorities this machine trusts (a TLS-inspecting proxy's, say): without them a
  // child `npm pack` cannot reach the registry (SELF_SIGNED_CERT_IN_CHAIN) and retries until killed.
  const trust = Object.fromEntries(TRUST_ENV.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]));
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...trust, ...extra };
}


export interface LogLine {
  level?: number;
  msg?: string;
  reqId?: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything it wrote, stdout and stderr interleaved. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Its stdout as JSON lines (other lines skipped). */
  logLines(): LogLine[];
  readonly exited: Promise<Exit>;
  readonly hasExited: boolean;
  /** Sends `signal` (to its group when detached) and waits, bounded: SIGKILL if it outlives `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

export interface SpawnOptions {
  command: string[];
  cwd?: string;
  env: Record<string, string | undefined>;
  /** Its own process group: stop() then signals the whole group (a supervisor and its workers). */
  detached?: boolean;
  /** Called with each line of output. */
  onLine?: (line: string) => void;
}

/** Starts a process and records its output. */
export function spawnProcess(options: SpawnOptions): Proc {
  const [cmd, ...args] = options.command;
  if (cmd === undefined) throw new Error('spawnProcess: empty command');
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  if (child.pid === undefined) throw new Error(`spawn failed: ${cmd}`);
  let out = '';
  let stdout = '';
  let stderr = '';
  let partial = '';
  const feed = (text: string) => {
    if (!options.onLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
    feed(d.toString());
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
    stderr += d.toString();
    feed(d.toString());
  });
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) => {
    // 'close', not 'exit': all of its output has been read by then.
    child.once('close', (code, signal) => resolve((exit = { code, signal })));
    child.once('error', () => resolve((exit ??= { code: -1, signal: null })));
  });
  const signalIt = (signal: NodeJS.Signals) => {
    try {
      if (options.detached) process.kill(-(child.pid as number), signal);
      else child.kill(signal);
    } catch {
      // gone
    }
  };
  return {
    child,
    pid: child.pid,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    logLines: () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as LogLine];
          } catch {
            return [];
          }
        }),
    exited,
    get hasExited() {
      return exit !== undefined;
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (exit !== undefined) return exit;
      signalIt(signal);
      const timer = setTimeout(() => signalIt('SIGKILL'), timeoutMs);
      const result = await exited;
      clearTimeout(timer);
      if (options.detached) signalIt('SIGKILL'); // anything its group left behind
      return result;
    },
  };
}

export interface Server extends Proc {
  port: number;
  url: string;
}

/**
 * Starts `node dist/src/server.js` (or `options.script`; on `env.PORT`, or a free port; through
 * `options.prefix` if given) and resolves once it logs
 * "task API ready" (LOG_LEVEL must let info through). One that does not come up in time is
 * killed, not left behind.
 */
export async function startServer(cwd: string, env: Record<string, string>, timeoutMs = 30_000, options: { prefix?: string[]; script?: string } = {}): Promise<Server> {
  const script = options.script ?? SERVER_JS;
  if (!existsSync(script)) throw new Error('run `npm run build` first (npm test does)');
  const port = env.PORT ? Number(env.PORT) : await freePort();
  // `prefix` runs the server through another command, e.g. ['prlimit', '--nofile=1024'].
  const proc = spawnProcess({ command: [...(options.prefix ?? []), process.execPath, script], cwd, env: { ...env, PORT: String(port) } });
  const server: Server = Object.assign(proc, { port, url: `http://127.0.0.1:${port}` });
  const started = performance.now();
  while (!proc.stdout().includes('task API ready')) {
    if (proc.hasExited) throw new Error(`server exited with ${JSON.stringify(await proc.exited)} before it was ready:\n${proc.output()}`);
    if (performance.now() - started > timeoutMs) {
      await proc.stop('SIGKILL');
      throw new Error(`server not ready in ${timeoutMs} ms:\n${proc.output()}`);
    }
    await sleep(20);
  }
  return server;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

/** Runs a command to completion, killing it (SIGKILL) if it outlives `timeoutMs`. */
export async function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  const started = performance.now();
  const proc = spawnProcess({ command: [cmd, ...args], ...(opts.cwd ? { cwd: opts.cwd } : {}), env: opts.env ?? (process.env as Record<string, string>) });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.stop('SIGKILL');
  }, opts.timeoutMs ?? 30_000);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  return { code, signal, stdout: proc.stdout(), stderr: proc.stderr(), ms: performance.now() - started, timedOut };
}

/** Runs `cmd` and throws with its output unless it exits 0. */
export async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/**
 * Runs a node script to completion. The server (SERVER_JS) gets a free port unless `env.PORT` names
 * one: never the default 8000, where a developer's `npm start` may be running.
 */
export async function runNode(script: string, args: string[], cwd: string, env: Record<string, string>): Promise<RunResult> {
  const withPort = script === SERVER_JS && env.PORT === undefined ? { ...env, PORT: String(await freePort()) } : env;
  return run(process.execPath, [script, ...args], { cwd, env: withPort, timeoutMs: 60_000 });
}
