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

/** Spawns dist/src/server.js on `port` with `dataDir`; resolves once /health answers. */
async function spawnApi(server, port, dataDir, secret, env) {
  const child = spawn(process.execPath, [server], {
    cwd: API_DIR,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir, BETTER_AUTH_SECRET: secret, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { child, log: '' };
  child.stdout.on('data', (d) => (proc.log += d));
  child.stderr.on('data', (d) => (proc.log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API exited (${child.exitCode}):\n${proc.log}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`API did not start:\n${proc.log}`);
    }
    await sleep(200);
  }
  return proc;
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * Starts dist/src/server.js of API_DIR on a free port with its own DATA_DIR; `stop()` ends it by pid.
 */
export async function startApi(env = {}) {
  const server = join(API_DIR, 'dist/src/server.js');
  if (!existsSync(server)) throw new Error(`${server} not found: run \`npm run build\` in ${API_DIR} (or set TASK_API_DIR)`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'task-client-api-'));
  chmodSync(dataDir, 0o711);
  const secret = randomBytes(24).toString('base64url');
  let proc;
  try {
    proc = await spawnApi(server, port, dataDir, secret, env);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { child } = proc;
  return {
    url: `http://127.0.0.1:${port}`,
    secret,
    dataDir,
    pid: child.pid,
    log: () => proc.log,
    token: (sub) => hs256(sub, secret),
    /** The embedded PostgreSQL's postmaster pid. */
    postmasterPid: () => Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]),
    async stop() {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A minimal WHATWG EventSource for Node (Node 20 has none): fetch, then the text/event-stream
 * fields the API sends (id, event, data, retry, comments). No reconnect of its own: the client's
 * subscription closes it on error and connects again with a fresh ticket. `TestEventSource.opened`
 * lists every instance, to check that none is left open.
 */
export class TestEventSource {
  static opened = [];
  onerror = null;
  readyState = 0;
  #listeners = new Map();
  #abort = new AbortController();

  constructor(url) {
    this.url = url;
    TestEventSource.opened.push(this);
    void this.#run();
  }

  addEventListener(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, []);
    this.#listeners.get(type).push(listener);
  }

  close() {
    this.readyState = 2;
    this.#abort.abort();
  }

  #dispatch(type, data, lastEventId) {
    for (const listener of this.#listeners.get(type) ?? []) listener({ type, data, lastEventId });
  }

  async #run() {
    try {
      const res = await fetch(this.url, { headers: { accept: 'text/event-stream' }, signal: this.#abort.signal });
      if (res.status !== 200 || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
        throw new Error(`event stream answered ${res.status} ${res.headers.get('content-type')}`);
      }
      this.readyState = 1;
      const decoder = new TextDecoder();
      let buffer = '';
      let lastEventId = '';
      let type = '';
      let data = [];
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (data.length > 0) this.#dispatch(type || 'message', data.join('\n'), lastEventId);
            type = '';
            data = [];
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') lastEventId = value;
          else if (field === 'event') type = value;
          else if (field === 'data') data.push(value);
        }
      }
      throw new Error('the event stream ended');
    } catch (err) {
      if (this.readyState === 2) return;
      this.readyState = 2;
      this.onerror?.({ type: 'error', error: err });
    }
  }
}

/** Resolves when `predicate()` is true (polled every 10 ms); rejects after `ms` with `what`. */
export async function until(predicate, what, ms = 5000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}
