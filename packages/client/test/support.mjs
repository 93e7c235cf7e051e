// Test support: free ports, the real API as a child process, HS256 tokens signed with its secret.
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The API checkout: TASK_API_DIR, else the repository root (built with `npm run build` there). */
export const API_DIR = resolve(process.env.TASK_API_DIR ?? fileURLToPath(new URL('../../..', import.meta.url)));

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function hs256(sub, secret, ttlSeconds = 3600) {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b({ alg: 'HS256', typ: 'JWT' });
  const now = Math.floor(Date.now() / 1000);
  const body = b({ sub, iat: now, exp: now + ttlSeconds });
  return `${head}.${body}.${createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')}`;
}

/** Starts dist/src/server.js of API_DIR on a free port with its own DATA_DIR; `stop()` ends it by pid. */
export async function startApi(env = {}) {
  const server = join(API_DIR, 'dist/src/server.js');
  if (!existsSync(server)) throw new Error(`${server} not found: run \`npm run build\` in ${API_DIR} (or set TASK_API_DIR)`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'task-client-api-'));
  chmodSync(dataDir, 0o711);
  const secret = randomBytes(24).toString('base64url');
  const child = spawn(process.execPath, [server], {
    cwd: API_DIR,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, BETTER_AUTH_SECRET: secret, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`API did not start:\n${log}`);
    await sleep(200);
  }
  return {
    url,
    secret,
    dataDir,
    pid: child.pid,
    log: () => log,
    token: (sub) => hs256(sub, secret),
    /** The embedded PostgreSQL's postmaster pid. */
    postmasterPid: () => Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Does the API serve the version-2 feature at this path (an OpenAPI path key)? */
export async function apiHas(api, path) {
  const doc = await (await fetch(`${api.url}/openapi.json`)).json();
  return Object.hasOwn(doc.paths ?? {}, path);
}
