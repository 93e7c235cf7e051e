// Ceiling processes, each run as its own child (`node dist/bench/ceilings.js <mode>`):
//   http  bare node:http answering a fixed list body: what HTTP alone costs
//   pg    raw node:http + postgres.js running our list SQL: no framework, auth or validation
//   db    the list SQL driven straight through postgres.js, no HTTP: what the database alone costs
// Configuration comes from the environment (set by bench/harness.ts), results of `db` go to
// stdout as one JSON line.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { LIST_MESSAGE, LIST_SQL } from './sql.js';
import { LatencyRecorder, type LatencySummary } from './stats.js';
import { postgresCpuSeconds } from './proc.js';

export interface DbLoopResult {
  queries: number;
  errors: number;
  durationS: number;
  qps: number;
  latencyMs: LatencySummary;
  rowsPerQuery: number;
  /** CPU of the driver process (postgres.js client) during the measured phase, 100 = one core. */
  driverCpuPct: number;
  /** CPU of every local `postgres` process during the measured phase (null if not measurable). */
  postgresCpuPct: number | null;
}

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`ceilings: ${name} is required`);
  return v;
};

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  const server = createServer({ keepAliveTimeout: 65_000 }, handler);
  server.listen(Number(env('PORT')), env('HOST', '127.0.0.1'));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

function httpCeiling(): void {
  const body = readFileSync(env('CEILING_BODY_FILE'), 'utf8');
  listen((req, res) => {
    if (req.url === '/ready') return send(res, 200, '{"status":"ready"}');
    send(res, 200, body);
  });
}

function pgCeiling(): void {
  const sql = postgres(env('DATABASE_URL'), { max: Number(env('CEILING_POOL_MAX', '10')), prepare: true, onnotice: () => {} });
  const prefix = '/api/';
  listen((req, res) => {
    const url = req.url ?? '/';
    if (url === '/ready') return send(res, 200, '{"status":"ready"}');
    const end = url.indexOf('/tasks', prefix.length);
    if (!url.startsWith(prefix) || end < 0) return send(res, 404, '{"error":"Not found","code":"NOT_FOUND"}');
    const userId = decodeURIComponent(url.slice(prefix.length, end));
    sql.unsafe(LIST_SQL, [userId], { prepare: true }).then(
      (rows) => send(res, 200, JSON.stringify({ data: rows, message: LIST_MESSAGE })),
      () => send(res, 500, '{"error":"Internal server error","code":"INTERNAL_ERROR"}'),
    );
  });
}

async function dbLoop(): Promise<void> {
  const concurrency = Number(env('CEILING_CONCURRENCY'));
  const durationMs = Number(env('CEILING_DURATION_MS'));
  const warmupMs = Number(env('CEILING_WARMUP_MS', '0'));
  const maxQueries = Number(env('CEILING_MAX_QUERIES', '2000000'));
  const userId = env('CEILING_USER');
  const sql = postgres(env('DATABASE_URL'), { max: Number(env('CEILING_POOL_MAX', '10')), prepare: true, onnotice: () => {} });

  const lat = new LatencyRecorder(maxQueries);
  let n = 0;
  let errors = 0;
  let rows = 0;
  let recording = false;
  let deadline = Date.now() + warmupMs;

  const worker = async (): Promise<void> => {
    while (Date.now() < deadline && n < maxQueries) {
      const t0 = performance.now();
      try {
        const r = await sql.unsafe(LIST_SQL, [userId], { prepare: true });
        if (recording) {
          lat.record(performance.now() - t0);
          n++;
          rows += r.length;
        }
      } catch {
        if (recording) errors++;
      }
    }
  };
  const runPhase = async (ms: number): Promise<number> => {
    const t0 = performance.now();
    deadline = Date.now() + ms;
    await Promise.all(Array.from({ length: concurrency }, worker));
    return (performance.now() - t0) / 1000;
  };

  if (warmupMs > 0) await runPhase(warmupMs);
  recording = true;
  const cpu0 = process.cpuUsage();
  const pg0 = postgresCpuSeconds();
  const durationS = await runPhase(durationMs);
  const cpu = process.cpuUsage(cpu0);
  const pgCpu = postgresCpuSeconds() - pg0;
  await sql.end({ timeout: 2 });

  const result: DbLoopResult = {
    queries: n,
    errors,
    durationS,
    qps: n / durationS,
    latencyMs: lat.summary(),
    rowsPerQuery: n ? rows / n : 0,
    driverCpuPct: ((cpu.user + cpu.system) / 1e6 / durationS) * 100,
    postgresCpuPct: (pgCpu / durationS) * 100,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const mode = process.argv[2];
  if (mode === 'http') httpCeiling();
  else if (mode === 'pg') pgCeiling();
  else if (mode === 'db') {
    dbLoop().catch((err: unknown) => {
      process.stderr.write(`ceilings db: ${String(err)}\n`);
      process.exit(1);
    });
  } else {
    process.stderr.write('usage: ceilings.js http|pg|db\n');
    process.exit(2);
  }
}
