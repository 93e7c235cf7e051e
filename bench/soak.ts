// Soak: the built server under moderate mixed load for a long while. Does latency drift? Does
// memory grow? Do errors appear? Not part of `npm test`.
//
//   npm run soak -- --duration 300 [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
//
// Starts `node dist/src/server.js` on a free 127.0.0.1 port (on a scratch database created on the
// --database-url server and dropped afterwards, or on the embedded PostgreSQL in a temp dir),
// seeds users and tasks through the API, then drives autocannon at a fixed rate with a mix of
// list / get / put / toggle / create / delete. Every --sample seconds it prints requests, errors,
// p50/p99 and the server's RSS and CPU. At the end: errors, p99 drift (last window vs first), RSS
// drift, and bench/results/soak-<timestamp>.json. Exit code 1 if any request failed or the server
// died. Bounded: autocannon stops itself after --duration (and a request cap); a guard timer
// ends everything at duration + 120 s; all traffic goes to 127.0.0.1.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon, { type Instance, type RequestParams } from 'autocannon';
import { freePort, scratchDir, sleep, startServer, type Server } from '../test/helpers/process.js';
import { scratchDatabase, type ScratchDatabase } from '../test/helpers/scratch.js';
import { signToken } from '../test/helpers/tokens.js';
import { rssBytes, treeCpuSeconds } from './proc.js';
import { repoRoot } from './servers.js';
import { percentile } from './stats.js';

const SECRET = 'task-api-soak-secret-0123456789abcdefghij';
const MIX = { list: 55, get: 20, put: 10, toggle: 5, create: 5, delete: 5 } as const;
type Op = keyof typeof MIX;

const USAGE = `usage: npm run soak -- [--duration 300] [--database-url URL] [--rate 200] [--connections 16]
                        [--sample 10] [--users 20] [--tasks-per-user 20] [--out bench/results] [--keep-database]
  --duration        seconds of load (1..86400)                                default 300
  --database-url    a PostgreSQL server: a scratch database is created there  default: the embedded PostgreSQL
  --rate            requests per second, all connections together             default 200
  --connections     concurrent keep-alive connections                          default 16
  --sample          seconds per sample window                                  default 10
  --users, --tasks-per-user   seed data                                        default 20, 20
  --out             where the JSON goes                                        default bench/results
  --keep-database   do not drop the scratch database afterwards`;

interface Options {
  duration: number;
  databaseUrl: string | undefined;
  rate: number;
  connections: number;
  sample: number;
  users: number;
  tasksPerUser: number;
  outDir: string;
  keepDatabase: boolean;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '300' },
      'database-url': { type: 'string' },
      rate: { type: 'string', default: '200' },
      connections: { type: 'string', default: '16' },
      sample: { type: 'string', default: '10' },
      users: { type: 'string', default: '20' },
      'tasks-per-user': { type: 'string', default: '20' },
      out: { type: 'string', default: join(repoRoot(), 'bench/results') },
      'keep-database': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const int = (name: keyof typeof values, min: number, max: number): number => {
    const raw = String(values[name]);
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) throw new Error(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
    return n;
  };
  return {
    duration: int('duration', 1, 86_400),
    databaseUrl: values['database-url'],
    rate: int('rate', 1, 100_000),
    connections: int('connections', 1, 1024),
    sample: int('sample', 1, 3600),
    users: int('users', 1, 10_000),
    tasksPerUser: int('tasks-per-user', 1, 1000),
    outDir: values.out as string,
    keepDatabase: values['keep-database'] ?? false,
  };
}

interface User {
  id: string;
  auth: string;
  ids: number[];
  /** Tasks this run created: deletes take from here, so lists do not grow without bound. */
  created: number[];
}

interface Window {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  socketErrors: Record<string, number>;
  latencies: number[];
}
const newWindow = (): Window => ({ requests: 0, errors: 0, statuses: {}, socketErrors: {}, latencies: [] });
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);
const mb = (b: number) => round(b / 1024 / 1024, 1);
const out = (s = '') => process.stdout.write(`${s}\n`);

function pickOp(): Op {
  let r = Math.random() * 100;
  for (const [op, weight] of Object.entries(MIX) as [Op, number][]) {
    if (r < weight) return op;
    r -= weight;
  }
  return 'list';
}

async function seed(base: string, users: User[], tasksPerUser: number): Promise<void> {
  const jobs = users.flatMap((u) => Array.from({ length: tasksPerUser }, (_, i) => ({ u, i })));
  const worker = async () => {
    for (let job = jobs.pop(); job !== undefined; job = jobs.pop()) {
      const res = await fetch(`${base}/api/${job.u.id}/tasks`, {
        method: 'POST',
        headers: { authorization: job.u.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Soak task ${job.i}`, description: `Seeded for the soak test, number ${job.i}` }),
      });
      if (res.status !== 201) throw new Error(`seed: POST answered ${res.status}: ${await res.text()}`);
      job.u.ids.push(((await res.json()) as { data: { id: number } }).data.id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

function request(user: User, op: Op, seq: number): RequestParams & { op: Op } {
  const id = user.ids[Math.floor(Math.random() * user.ids.length)];
  const headers = { authorization: user.auth };
  const json = { ...headers, 'content-type': 'application/json' };
  const root = `/api/${user.id}/tasks`;
  switch (op) {
    case 'list':
      return { op, method: 'GET', path: root, headers };
    case 'get':
      return { op, method: 'GET', path: `${root}/${id}`, headers };
    case 'put':
      return { op, method: 'PUT', path: `${root}/${id}`, headers: json, body: JSON.stringify({ title: `Soak task renamed ${seq}`, description: `Updated at ${Date.now()}` }) };
    case 'toggle':
      return { op, method: 'PATCH', path: `${root}/${id}/complete`, headers };
    case 'create':
      return { op, method: 'POST', path: root, headers: json, body: JSON.stringify({ title: `Soak created ${seq}` }) };
    case 'delete':
      return { op, method: 'DELETE', path: `${root}/${user.created.shift()}`, headers };
  }
}

async function main(): Promise<number> {
  const opt = options(process.argv.slice(2));
  const startedAt = new Date();
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await Promise.resolve().then(fn).catch((e: unknown) => process.stderr.write(`cleanup: ${String(e)}\n`));
  };
  const guard = setTimeout(() => {
    process.stderr.write('soak: guard timer expired; stopping\n');
    void cleanup().finally(() => process.exit(1));
  }, (opt.duration + 120) * 1000 + opt.users * opt.tasksPerUser * 20);
  guard.unref();

  let scratch: ScratchDatabase | undefined;
  if (opt.databaseUrl !== undefined) {
    scratch = await scratchDatabase(opt.databaseUrl, { prefix: 'task_api_soak' });
    if (!opt.keepDatabase) cleanups.push(() => scratch?.drop());
  }
  const dataDir = scratchDir('task-api-soak-');
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  let server: Server;
  try {
    server = await startServer(dataDir, {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      NODE_ENV: 'production',
      BETTER_AUTH_SECRET: SECRET,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      DATA_DIR: join(dataDir, 'data'),
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
    }, 60_000);
  } catch (err) {
    await cleanup();
    throw err;
  }
  cleanups.push(async () => void (await server.stop('SIGTERM', 10_000)));
  out(`soak: server pid ${server.pid} on ${server.url}, database ${scratch?.name ?? 'embedded PostgreSQL'}`);

  const tag = Math.random().toString(36).slice(2, 8);
  const users: User[] = [];
  for (let u = 0; u < opt.users; u++) {
    const id = `soak_${tag}_${u}`;
    users.push({ id, auth: `Bearer ${await signToken(id, { secret: SECRET, expiresIn: 24 * 3600 + opt.duration })}`, ids: [], created: [] });
  }
  const seedStart = performance.now();
  await seed(server.url, users, opt.tasksPerUser);
  out(`soak: seeded ${opt.users} users x ${opt.tasksPerUser} tasks in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  let seq = 0;
  const windows: Record<string, unknown>[] = [];
  let win = newWindow();
  const totals = newWindow();
  let lastCpu = treeCpuSeconds(server.pid);
  let lastAt = performance.now();
  const loadStart = performance.now();
  let finished = false;

  const instance: Instance = autocannon({
    url: server.url,
    connections: opt.connections,
    duration: opt.duration,
    maxOverallRequests: Math.ceil(opt.rate * opt.duration * 1.2) + 100,
    timeout: 10,
    ...({ overallRate: opt.rate } as object),
    requests: [
      {
        setupRequest: (req, context) => {
          const user = users[Math.floor(Math.random() * users.length)] as User;
          let op = pickOp();
          if (op === 'delete' && user.created.length === 0) op = 'get';
          context.op = op;
          context.user = user;
          const { op: _op, ...params } = request(user, op, ++seq);
          return { ...req, ...params, body: params.body as string };
        },
        onResponse: (status, body, context) => {
          if (context.op === 'create' && status === 201) {
            try {
              (context.user as User).created.push((JSON.parse(body) as { data: { id: number } }).data.id);
            } catch {
              // a malformed 201 shows up as an error in the window counts
            }
          }
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    for (const w of [win, totals]) {
      w.requests++;
      w.statuses[statusCode] = (w.statuses[statusCode] ?? 0) + 1;
      if (statusCode < 200 || statusCode > 299) w.errors++;
      w.latencies.push(responseTime);
    }
  });
  instance.on('reqError', (e: { code?: string; message?: string }) => {
    const key = e?.code ?? e?.message ?? 'error';
    for (const w of [win, totals]) {
      w.requests++;
      w.errors++;
      w.socketErrors[key] = (w.socketErrors[key] ?? 0) + 1;
    }
  });
  const stopEarly = (signal: string) => {
    process.stderr.write(`soak: ${signal}: stopping early\n`);
    instance.stop();
  };
  process.once('SIGINT', stopEarly);
  process.once('SIGTERM', stopEarly);
  void server.exited.then(() => {
    if (!finished) {
      process.stderr.write('soak: the server exited during the load\n');
      instance.stop();
    }
  });

  const sample = () => {
    const now = performance.now();
    const cpu = treeCpuSeconds(server.pid);
    const seconds = (now - lastAt) / 1000;
    const sorted = Float64Array.from(win.latencies).sort();
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
      max: round(sorted.at(-1) ?? Number.NaN),
      rssMB: mb(rssBytes(server.pid)),
      cpuPct: round(((cpu - lastCpu) / seconds) * 100, 1),
    };
    windows.push(w);
    out(`t=${String(w.t).padStart(6)}s  req=${String(w.requests).padStart(6)}  rps=${String(w.rps).padStart(7)}  err=${w.errors}  p50=${w.p50} ms  p99=${w.p99} ms  max=${w.max} ms  rss=${w.rssMB} MB  cpu=${w.cpuPct} %`);
    win = newWindow();
    lastCpu = cpu;
    lastAt = now;
  };
  const ticker = setInterval(sample, opt.sample * 1000);
  await instance;
  finished = true;
  clearInterval(ticker);
  if (win.requests > 0 && performance.now() - lastAt > 1000) sample();

  type W = { seconds: number; p99: number; rssMB: number };
  const full = (windows as unknown as W[]).filter((w) => w.seconds >= opt.sample * 0.9);
  const first = full[0];
  const last = full.at(-1);
  const median = (xs: number[]) => xs.filter(Number.isFinite).sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const all = Float64Array.from(totals.latencies).sort();
  const elapsed = (performance.now() - loadStart) / 1000;
  const alive = !server.hasExited;
  const notable = server.logLines().filter((l) => (l.level ?? 0) >= 40).length + server.stderr().split('\n').filter(Boolean).length;
  const exit = await server.stop('SIGTERM', 10_000);
  await sleep(0);
  const summary = {
    durationS: round(elapsed, 1),
    requests: totals.requests,
    errors: totals.errors,
    statuses: totals.statuses,
    socketErrors: totals.socketErrors,
    rps: round(totals.requests / elapsed, 1),
    p50: round(percentile(all, 50)),
    p99: round(percentile(all, 99)),
    max: round(all.at(-1) ?? Number.NaN),
    p99First: first?.p99 ?? null,
    p99Last: last?.p99 ?? null,
    p99MedianFirst3: round(median(full.slice(0, 3).map((w) => w.p99))),
    p99MedianLast3: round(median(full.slice(-3).map((w) => w.p99))),
    rssFirstMB: first?.rssMB ?? null,
    rssLastMB: last?.rssMB ?? null,
    rssPeakMB: round(Math.max(...(windows as unknown as W[]).map((w) => w.rssMB)), 1),
    serverAlive: alive,
    serverExit: exit,
    serverWarnOrErrorLines: notable,
  };
  await cleanup();
  clearTimeout(guard);

  out('');
  out(`soak: ${summary.requests} requests in ${summary.durationS} s (${summary.rps}/s), errors ${summary.errors}${summary.errors > 0 ? ` ${JSON.stringify({ statuses: summary.statuses, socket: summary.socketErrors })}` : ''}`);
  out(`soak: latency p50 ${summary.p50} ms, p99 ${summary.p99} ms, max ${summary.max} ms`);
  out(`soak: p99 first window ${summary.p99First} ms, last ${summary.p99Last} ms; median of first 3 ${summary.p99MedianFirst3} ms, of last 3 ${summary.p99MedianLast3} ms`);
  out(`soak: RSS ${summary.rssFirstMB} MB -> ${summary.rssLastMB} MB, peak ${summary.rssPeakMB} MB`);
  out(`soak: server ${alive ? 'stayed up' : 'DIED'}; exit after SIGTERM ${JSON.stringify(exit)}; warn/error lines ${notable}`);

  mkdirSync(opt.outDir, { recursive: true });
  const file = join(opt.outDir, `soak-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const { databaseUrl: _omit, ...safe } = opt;
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), node: process.version, options: { ...safe, database: scratch ? 'postgres' : 'embedded' }, mix: MIX, summary, windows }, null, 2)}\n`,
  );
  out(`soak: wrote ${file}`);
  return summary.errors === 0 && alive && exit.code === 0 ? 0 : 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
