// What the one-off benches of version 3 (reminders.ts, shared.ts, webhooks.ts) share: production
// server processes of ours on one scratch database of the external PostgreSQL, each in a temporary
// folder of its own, with the bench's token secret and the rate limit off; a percentile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type Server } from '../test/helpers/process.js';
import { BENCH_SECRET } from './seed.js';

export interface BenchServers {
  servers: Server[];
  /** Stops every server (SIGTERM) and removes their folders. */
  stop(): Promise<void>;
}

/**
 * `count` production servers of ours on `databaseUrl`, `env` added to each one's environment;
 * `script`: another checkout's built server (default: this one's).
 */
/** `--env NAME=VALUE` options (repeatable) as an environment for the servers, e.g. `--env JOBS_PROCESS=inline`. */
export function envOptions(pairs: readonly string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`--env takes NAME=VALUE (got "${pair}")`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

export async function startBenchServers(databaseUrl: string, count: number, env: Record<string, string> = {}, script?: string): Promise<BenchServers> {
  const dirs: string[] = [];
  const servers: Server[] = [];
  const stop = async () => {
    for (const s of servers) await s.stop('SIGTERM');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'task-api-bench-'));
      dirs.push(dir);
      servers.push(
        await startServer(
          dir,
          {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: process.env.HOME ?? '/root',
            NODE_ENV: 'production',
            HOST: '127.0.0.1',
            // startServer waits for the "ready" line, which is logged at info.
            LOG_LEVEL: 'info',
            DATABASE_URL: databaseUrl,
            DATA_DIR: dir,
            BETTER_AUTH_SECRET: BENCH_SECRET,
            BETTER_AUTH_URL: 'http://127.0.0.1:9',
            RATE_LIMIT_PER_MINUTE: '0',
            ...env,
          },
          180_000,
          script === undefined ? {} : { script },
        ),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { servers, stop };
}

/** The p-th percentile of `xs` (nearest rank below), NaN when empty. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** What the benches read of an answer's body. */
export interface Body {
  data: { id: number; token: string; results: { data: { id: number } }[] };
}
export interface Answer {
  status: number;
  json: Body | null;
}
export interface User {
  id: string;
  token: string;
}

/** A request of `user` to `/api/<user>` + `path` on `base`, its status and JSON body. */
export async function call(base: string, user: User, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}/api/${user.id}${path}`, {
    method,
    headers: { authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json().catch(() => null)) as Body | null };
}

/** The body of an answer that must have `status`; else an error saying `what`. */
export async function expect(what: string, p: Promise<Answer>, status: number): Promise<Body> {
  const r = await p;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json as Body;
}
