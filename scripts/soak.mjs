#!/usr/bin/env node
// Soak test: the built server under moderate mixed load for a long while. Does latency drift? Does
// memory grow? Do errors appear? Not part of `npm test`.
//
//   npm run build
//   node scripts/soak.mjs --duration 300 [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
//
// Starts `node dist/src/server.js` on a free 127.0.0.1 port (on a scratch database created on the
// --database-url server and dropped afterwards, or on embedded PGlite in a temp dir), seeds users
// and tasks through the API, then drives autocannon at a fixed rate with a mix of list / get / put /
// toggle / create / delete. Every --sample seconds it prints requests, errors, p50/p99 and the
// server's RSS and CPU. At the end: errors total, p99 drift (last window vs first), RSS drift, and
// bench/results/soak-<timestamp>.json. Exit code 1 if any request failed or the server died.
//
// Bounded: autocannon stops itself after --duration (and --max-requests), a guard timer ends
// everything at duration + 120 s, all traffic goes to 127.0.0.1.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SignJWT } from 'jose';
import postgres from 'postgres';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_JS = join(ROOT, 'dist/src/server.js');
const SECRET = 'task-api-soak-secret-0123456789abcdefghij';
const out = (s = '') => process.stdout.write(`${s}\n`);
const err = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const USAGE = `usage: node scripts/soak.mjs [--duration 300] [--database-url URL] [--rate 200] [--connections 16]
                              [--sample 10] [--users 20] [--tasks-per-user 20] [--out bench/results] [--keep-database]
  --duration        seconds of load (1..86400)                                default 300
  --database-url    a PostgreSQL server: a scratch database is created there  default: embedded PGlite
  --rate            requests per second, all connections together             default 200
  --connections     concurrent keep-alive connections                          default 16
  --sample          seconds per sample window                                  default 10
  --users, --tasks-per-user   seed data                                        default 20, 20
  --out             where the JSON goes                                        default bench/results
  --keep-database   do not drop the scratch database afterwards`;

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        duration: { type: 'string', default: '300' },
        'database-url': { type: 'string' },
        rate: { type: 'string', default: '200' },
        connections: { type: 'string', default: '16' },
        sample: { type: 'string', default: '10' },
        users: { type: 'string', default: '20' },
        'tasks-per-user': { type: 'string', default: '20' },
        out: { type: 'string', default: join(ROOT, 'bench/results') },
        'keep-database': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    err(`${e.message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    out(USAGE);
    process.exit(0);
  }
  const int = (name, min, max) => {
    const v = Number(parsed[name]);
    if (!Number.isInteger(v) || v < min || v > max) {
      err(`--${name} must be a whole number from ${min} to ${max} (got "${parsed[name]}")\n${USAGE}`);
      process.exit(2);
    }
    return v;
  };
  const databaseUrl = parsed['database-url'];
  if (databaseUrl !== undefined) {
    const u = new URL(databaseUrl);
    if (!['postgres:', 'postgresql:'].includes(u.protocol)) {
      err('--database-url must be a postgres:// or postgresql:// URL');
      process.exit(2);
    }
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(u.hostname)) {
      err('--database-url must point at this machine (127.0.0.1): the soak test is local only');
      process.exit(2);
    }
  }
  return {
    duration: int('duration', 1, 86_400),
    databaseUrl,
    rate: int('rate', 1, 100_000),
    connections: int('connections', 1, 1000),
    sample: int('sample', 1, 3600),
    users: int('users', 1, 10_000),
    tasksPerUser: int('tasks-per-user', 1, 1000),
    outDir: parsed.out,
    keepDatabase: parsed['keep-database'],
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function token(sub) {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('24h')
    .sign(new TextEncoder().encode(SECRET));
}

/** VmRSS (bytes) and CPU ticks (utime + stime) of a process, from /proc. */
function procStats(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rss, ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return { rss: NaN, ticks: NaN };
  }
}
const TICKS_PER_S = 100; // Linux USER_HZ

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const round = (x, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const mb = (b) => round(b / 1024 / 1024, 1);

async function main() {
  const opt = options();
  if (!existsSync(SERVER_JS)) {
    err('dist/src/server.js is missing: run `npm run build` first');
    process.exit(2);
  }
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  let finished = false;
  // Hard bound on everything, whatever happens.
  const guard = setTimeout(
    () => {
      err('soak: guard timer expired; stopping');
      void cleanup().finally(() => process.exit(1));
    },
    (opt.duration + 120) * 1000 + opt.users * opt.tasksPerUser * 20,
  );
  guard.unref();

  // --- Database ----------------------------------------------------------------------------------
  let databaseUrl;
  let databaseName;
  if (opt.databaseUrl !== undefined) {
    databaseName = `task_api_soak_${randomBytes(4).toString('hex')}`;
    const admin = postgres(opt.databaseUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${databaseName}`);
    await admin.end({ timeout: 5 });
    const u = new URL(opt.databaseUrl);
    u.pathname = `/${databaseName}`;
    databaseUrl = u.toString();
    if (!opt.keepDatabase) {
      cleanups.push(async () => {
        const a = postgres(opt.databaseUrl, { max: 1, onnotice: () => {} });
        await a.unsafe(`drop database if exists ${databaseName} with (force)`);
        await a.end({ timeout: 5 });
      });
    }
  }

  // --- Server ------------------------------------------------------------------------------------
  const dataDir = mkdtempSync(join(tmpdir(), 'task-api-soak-'));
  cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    HOST: '127.0.0.1',
    PORT: String(port),
    NODE_ENV: 'production',
    BETTER_AUTH_SECRET: SECRET,
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'warn',
    DATA_DIR: dataDir,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  };
  const server = spawn(process.execPath, [SERVER_JS], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const serverLog = [];
  let notable = 0;
  const keep = (d) => {
    for (const line of d.toString().split('\n')) {
      if (line.trim() === '') continue;
      serverLog.push(line);
      if (serverLog.length > 200) serverLog.shift();
      if (/"level":(4|5|6)0/.test(line) || !line.startsWith('{')) notable++;
    }
  };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  let serverExit;
  const exited = new Promise((resolve) =>
    server.once('exit', (code, signal) => {
      serverExit = { code, signal };
      resolve(serverExit);
    }),
  );
  cleanups.push(async () => {
    if (serverExit !== undefined) return;
    server.kill('SIGTERM');
    const t = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  });
  const stopOnSignal = (signal) => {
    err(`soak: ${signal}: stopping early`);
    finished = true;
    instance?.stop();
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);

  for (let i = 0; ; i++) {
    if (serverExit !== undefined) throw new Error(`the server exited (${JSON.stringify(serverExit)}) before it was ready:\n${serverLog.join('\n')}`);
    try {
      const r = await fetch(`${base}/ready`);
      if (r.status === 200) break;
    } catch {
      // not yet
    }
    if (i > 600) throw new Error(`the server was not ready in 60 s:\n${serverLog.join('\n')}`);
    await sleep(100);
  }
  out(`soak: server pid ${server.pid} on ${base}, database ${databaseName ?? 'embedded PGlite'}`);

  // --- Seed --------------------------------------------------------------------------------------
  const tag = randomBytes(3).toString('hex');
  const users = [];
  for (let u = 0; u < opt.users; u++) {
    const id = `soak_${tag}_${u}`;
    users.push({ id, auth: `Bearer ${await token(id)}`, ids: [], created: [] });
  }
  const seedStart = performance.now();
  const jobs = users.flatMap((u) => Array.from({ length: opt.tasksPerUser }, (_, i) => ({ u, i })));
  const seedWorker = async () => {
    for (let job = jobs.pop(); job !== undefined; job = jobs.pop()) {
      const res = await fetch(`${base}/api/${job.u.id}/tasks`, {
        method: 'POST',
        headers: { authorization: job.u.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Soak task ${job.i}`, description: `Seeded for the soak test, number ${job.i}` }),
      });
      if (res.status !== 201) throw new Error(`seed: POST answered ${res.status}: ${await res.text()}`);
      job.u.ids.push((await res.json()).data.id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, seedWorker));
  out(`soak: seeded ${opt.users} users x ${opt.tasksPerUser} tasks in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  // --- Load --------------------------------------------------------------------------------------
  // 55 % list, 20 % get, 10 % put, 5 % toggle, 5 % create, 5 % delete (of tasks this run created:
  // creates and deletes balance, so lists do not grow without bound).
  let seq = 0;
  const pickOp = () => {
    const r = Math.random() * 100;
    return r < 55 ? 'list' : r < 75 ? 'get' : r < 85 ? 'put' : r < 90 ? 'toggle' : r < 95 ? 'create' : 'delete';
  };
  const setupRequest = (req, context) => {
    const u = users[Math.floor(Math.random() * users.length)];
    const id = u.ids[Math.floor(Math.random() * u.ids.length)];
    let op = pickOp();
    if (op === 'delete' && u.created.length === 0) op = 'get';
    context.op = op;
    context.user = u;
    const headers = { authorization: u.auth };
    const root = `/api/${u.id}/tasks`;
    switch (op) {
      case 'list':
        return { ...req, method: 'GET', path: root, headers, body: undefined };
      case 'get':
        return { ...req, method: 'GET', path: `${root}/${id}`, headers, body: undefined };
      case 'put':
        return {
          ...req,
          method: 'PUT',
          path: `${root}/${id}`,
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `Soak task renamed ${++seq}`, description: `Updated at ${Date.now()}` }),
        };
      case 'toggle':
        return { ...req, method: 'PATCH', path: `${root}/${id}/complete`, headers, body: undefined };
      case 'create':
        return {
          ...req,
          method: 'POST',
          path: root,
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `Soak created ${++seq}` }),
        };
      default: {
        const victim = u.created.shift();
        return { ...req, method: 'DELETE', path: `${root}/${victim}`, headers, body: undefined };
      }
    }
  };
  const onResponse = (status, body, context) => {
    if (context.op === 'create' && status === 201) {
      try {
        context.user.created.push(JSON.parse(body).data.id);
      } catch {
        // counted as an error below if the status was not 2xx
      }
    }
  };

  const windows = [];
  let win = { requests: 0, errors: 0, statuses: {}, socketErrors: {}, latencies: [] };
  const totals = { requests: 0, errors: 0, statuses: {}, socketErrors: {}, latencies: [] };
  let lastStats = procStats(server.pid);
  let lastAt = performance.now();
  const loadStart = performance.now();

  instance = autocannon({
    url: base,
    connections: opt.connections,
    overallRate: opt.rate,
    duration: opt.duration,
    maxOverallRequests: Math.ceil(opt.rate * opt.duration * 1.2) + 100,
    timeout: 10,
    requests: [{ setupRequest, onResponse }],
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    for (const w of [win, totals]) {
      w.requests++;
      w.statuses[statusCode] = (w.statuses[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode > 299) w.errors++;
      w.latencies.push(responseTime);
    }
  });
  instance.on('reqError', (e) => {
    const key = e?.code ?? e?.message ?? 'error';
    for (const w of [win, totals]) {
      w.requests++;
      w.errors++;
      w.socketErrors[key] = (w.socketErrors[key] ?? 0) + 1;
    }
  });
  const done = new Promise((resolve) => instance.once('done', resolve));

  const sample = () => {
    const now = performance.now();
    const stats = procStats(server.pid);
    const seconds = (now - lastAt) / 1000;
    const cpu = ((stats.ticks - lastStats.ticks) / TICKS_PER_S / seconds) * 100;
    const sorted = win.latencies.sort((a, b) => a - b);
    const w = {
      t: round((now - loadStart) / 1000, 1),
      seconds: round(seconds, 2),
      requests: win.requests,
      rps: round(win.requests / seconds, 1),
      errors: win.errors,
      statuses: win.statuses,
      socketErrors: win.socketErrors,
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? NaN),
      rssMB: mb(stats.rss),
      cpuPct: round(cpu, 1),
    };
    windows.push(w);
    out(
      `t=${String(w.t).padStart(6)}s  req=${String(w.requests).padStart(6)}  rps=${String(w.rps).padStart(7)}  err=${w.errors}  ` +
        `p50=${w.p50} ms  p99=${w.p99} ms  max=${w.max} ms  rss=${w.rssMB} MB  cpu=${w.cpuPct} %`,
    );
    win = { requests: 0, errors: 0, statuses: {}, socketErrors: {}, latencies: [] };
    lastStats = stats;
    lastAt = now;
  };
  const ticker = setInterval(sample, opt.sample * 1000);
  const serverDied = exited.then(() => {
    if (!finished) {
      err('soak: the server exited during the load');
      instance.stop();
    }
  });

  await done;
  finished = true;
  clearInterval(ticker);
  if (win.requests > 0 && performance.now() - lastAt > 1000) sample();
  void serverDied;

  // --- Summary -----------------------------------------------------------------------------------
  const full = windows.filter((w) => w.seconds >= opt.sample * 0.9);
  const first = full[0] ?? windows[0];
  const last = full.at(-1) ?? windows.at(-1);
  const median = (xs) => {
    const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return s.length === 0 ? NaN : s[Math.floor(s.length / 2)];
  };
  const head = full.slice(0, 3);
  const tail = full.slice(-3);
  const allSorted = totals.latencies.sort((a, b) => a - b);
  const summary = {
    durationS: round((performance.now() - loadStart) / 1000, 1),
    requests: totals.requests,
    errors: totals.errors,
    statuses: totals.statuses,
    socketErrors: totals.socketErrors,
    rps: round(totals.requests / ((performance.now() - loadStart) / 1000), 1),
    p50: round(percentile(allSorted, 50)),
    p99: round(percentile(allSorted, 99)),
    max: round(allSorted.at(-1) ?? NaN),
    p99First: first?.p99 ?? null,
    p99Last: last?.p99 ?? null,
    p99DriftMs: round((last?.p99 ?? NaN) - (first?.p99 ?? NaN)),
    p99DriftPct: round((((last?.p99 ?? NaN) - (first?.p99 ?? NaN)) / (first?.p99 ?? NaN)) * 100, 1),
    p99MedianFirst3: round(median(head.map((w) => w.p99))),
    p99MedianLast3: round(median(tail.map((w) => w.p99))),
    rssFirstMB: first?.rssMB ?? null,
    rssLastMB: last?.rssMB ?? null,
    rssPeakMB: round(Math.max(...windows.map((w) => w.rssMB ?? NaN)), 1),
    rssDriftMB: round((last?.rssMB ?? NaN) - (first?.rssMB ?? NaN), 1),
    rssDriftPct: round((((last?.rssMB ?? NaN) - (first?.rssMB ?? NaN)) / (first?.rssMB ?? NaN)) * 100, 1),
    serverAlive: serverExit === undefined,
    serverNotableLogLines: notable,
  };

  await cleanup(); // stops the server (SIGTERM), drops the scratch database, removes the temp dir
  summary.serverExit = serverExit ?? null;
  clearTimeout(guard);

  out('');
  out(`soak: ${summary.requests} requests in ${summary.durationS} s (${summary.rps}/s), errors ${summary.errors}` +
    (summary.errors > 0 ? ` ${JSON.stringify({ statuses: summary.statuses, socket: summary.socketErrors })}` : ''));
  out(`soak: latency p50 ${summary.p50} ms, p99 ${summary.p99} ms, max ${summary.max} ms`);
  out(`soak: p99 drift: first window ${summary.p99First} ms -> last window ${summary.p99Last} ms (${summary.p99DriftMs >= 0 ? '+' : ''}${summary.p99DriftMs} ms, ${summary.p99DriftPct} %); median of first 3 ${summary.p99MedianFirst3} ms, of last 3 ${summary.p99MedianLast3} ms`);
  out(`soak: RSS drift: ${summary.rssFirstMB} MB -> ${summary.rssLastMB} MB (${summary.rssDriftMB >= 0 ? '+' : ''}${summary.rssDriftMB} MB, ${summary.rssDriftPct} %), peak ${summary.rssPeakMB} MB`);
  out(`soak: server ${summary.serverAlive ? 'stayed up' : 'DIED'}; exit after SIGTERM ${JSON.stringify(summary.serverExit)}; warn/error log lines ${notable}`);

  mkdirSync(opt.outDir, { recursive: true });
  const file = join(opt.outDir, `soak-${stamp}.json`);
  const { databaseUrl: _omit, ...safeOptions } = opt;
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        node: process.version,
        options: { ...safeOptions, database: databaseName === undefined ? 'pglite' : 'postgres' },
        mix: { list: 55, get: 20, put: 10, toggle: 5, create: 5, delete: 5 },
        summary,
        windows,
        serverLogTail: serverLog.slice(-50),
      },
      null,
      2,
    )}\n`,
  );
  out(`soak: wrote ${file}`);
  const ok = summary.errors === 0 && summary.serverAlive && summary.serverExit?.code === 0;
  process.exit(ok ? 0 : 1);
}

/** The autocannon run, once started (stopped early by SIGINT/SIGTERM or a dead server). */
let instance;
/** Undo steps, run last-in first-out: stop the server, drop the scratch database, remove temp dirs. */
const cleanups = [];
async function cleanup() {
  while (cleanups.length > 0) {
    try {
      await cleanups.pop()();
    } catch (e) {
      err(`cleanup: ${e.message}`);
    }
  }
}

main().catch(async (e) => {
  err(`soak: ${e?.stack ?? e}`);
  await cleanup();
  process.exit(1);
});
