// Child processes for the bench: our server, the reference system, the ceiling servers, with
// readiness polled over HTTP. Ports, processes and scratch databases come from test/helpers/.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../src/lib/project-root.js';
import { spawnProcess, sleep, type Proc } from '../test/helpers/process.js';
import { scratchDatabase } from '../test/helpers/scratch.js';

export { freePort, sleep } from '../test/helpers/process.js';

/** The repository root: the nearest folder above this file holding package.json. */
export function repoRoot(): string {
  return projectRoot(dirname(fileURLToPath(import.meta.url)));
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
  readonly proc: Proc;
  readonly pid: number;
  private tail: string[] = [];
  private notable = new Map<string, number>();

  private constructor(readonly spec: ChildSpec) {
    // detached: own process group, so a stuck server and its workers can be killed together.
    this.proc = spawnProcess({ command: spec.command, ...(spec.cwd ? { cwd: spec.cwd } : {}), env: spec.env, detached: true, onLine: (l) => this.record(l) });
    this.pid = this.proc.pid;
    live.add(this);
    void this.proc.exited.then(() => live.delete(this));
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
      if (child.proc.hasExited) {
        throw new Error(`${spec.name} exited during start (${JSON.stringify(await child.proc.exited)}):\n${child.outputTail()}`);
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
    return this.proc.hasExited;
  }

  outputTail(lines = 30): string {
    return this.tail.slice(-lines).map((l) => `  | ${l}`).join('\n');
  }

  /** Output lines matching error-ish words, with counts (digits folded to N). */
  notableLines(): Record<string, number> {
    return Object.fromEntries(this.notable);
  }

  /** SIGTERM to the process, then SIGKILL to the whole group after graceMs. Returns how it ended. */
  async stop(graceMs = 5000): Promise<'exited' | 'sigterm' | 'sigkill'> {
    if (this.proc.hasExited) return 'exited';
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timedOut = await Promise.race([this.proc.exited.then(() => false), sleep(graceMs).then(() => true)]);
    killGroup(this.pid); // workers left behind by a supervisor that exited first, or the stuck process itself
    if (!timedOut) return 'sigterm';
    await Promise.race([this.proc.exited, sleep(2000)]);
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
export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<{ url: string; name: string; drop: () => Promise<void> } | null> {
  try {
    return await scratchDatabase(serverUrl, { prefix });
  } catch {
    return null;
  }
}
