// Scenario definitions and the autocannon runner.
import autocannon, { type Request, type RequestParams } from 'autocannon';
import type { SeedData } from './seed.js';
import { ProcSampler, postgresCpuSeconds, systemBusySeconds } from './proc.js';
import { LatencyRecorder, type LatencySummary } from './stats.js';
import { seededRandom } from '../test/helpers/random.js';

export const SCENARIO_NAMES = [
  'list-50',
  'list-304',
  'get-one',
  'create',
  'update',
  'toggle',
  'mixed',
  'rejected',
  'list-filtered',
  'search',
  'page-deep',
  'create-batch',
  'create-batch-atomic',
  'all-tasks',
  'all-tasks-due',
  'all-filtered',
  'list-position',
  'streams',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Version-3 reads across lists: they need the lists accounts (seedLists). */
export const LISTS_SCENARIOS: ReadonlySet<ScenarioName> = new Set(['all-tasks', 'all-tasks-due', 'all-filtered', 'list-position']);
/** Version-2 and -3 scenarios: ours only (the reference has no ETag, filters, pages, batches, lists or streams). */
export const V2_SCENARIOS: ReadonlySet<ScenarioName> = new Set([
  'list-304',
  'list-filtered',
  'search',
  'page-deep',
  'create-batch',
  'create-batch-atomic',
  ...LISTS_SCENARIOS,
  'streams',
]);
/** Tasks one request of the create-batch scenario creates (compare its req/s x this with create's req/s). */
export const BATCH_SIZE = 100;
/** Scenarios that need the big accounts (seedBig). */
export const BIG_SCENARIOS: ReadonlySet<ScenarioName> = new Set(['list-filtered', 'search', 'page-deep']);
/** Run by the streams phase (bench/streams.ts), not by autocannon here. */
export const STREAMS = 'streams';

export interface ScenarioDef {
  name: ScenarioName | 'warmup';
  /** Status codes that count as success (anything else, and socket errors/timeouts, is an error). */
  expect: (status: number) => boolean;
  requests: Request[];
}

/** Mixed: 80 % reads (60 list + 20 get-one), 20 % writes (10 PUT + 5 toggle + 5 create). */
export const MIXED_WEIGHTS = { list: 60, get: 20, update: 10, toggle: 5, create: 5 } as const;
const PLAN_SIZE = 4096; // power of two: the request index wraps with a mask

const is2xx = (s: number): boolean => s >= 200 && s < 300;
const JSON_CT = 'application/json';


/**
 * A request whose method/path/headers/body come from a precomputed table, walked by one counter
 * shared by all connections (so concurrent requests hit different rows). Each table entry owns
 * its headers object: autocannon adds Content-Length to it.
 */
function rotating(ops: RequestParams[]): Request {
  let i = 0;
  return {
    setupRequest: (req) => {
      const op = ops[i++ % ops.length] as RequestParams;
      req.method = op.method;
      req.path = op.path;
      req.headers = op.headers;
      req.body = op.body;
      return req;
    },
  };
}

const auth = (token: string, withBody = false): Record<string, string> =>
  withBody ? { authorization: `Bearer ${token}`, 'content-type': JSON_CT } : { authorization: `Bearer ${token}` };

function updateBody(n: number): string {
  return JSON.stringify({ title: `Updated task ${n}`, description: `Updated by the bench, round ${n}` });
}

function mixedPlan(seed: SeedData): RequestParams[] {
  const rand = seededRandom(0x5eed); // both systems get the same sequence of mixed requests
  const users = seed.users.filter((u) => u.taskIds.length > 0);
  if (users.length === 0) throw new Error('mixed: no seeded users');
  const w = MIXED_WEIGHTS;
  const ops: RequestParams[] = [];
  for (let k = 0; k < PLAN_SIZE; k++) {
    const user = users[Math.floor(rand() * users.length)]!;
    const id = user.taskIds[Math.floor(rand() * user.taskIds.length)]!;
    const base = `/api/${user.id}/tasks`;
    const r = rand() * 100;
    if (r < w.list) ops.push({ method: 'GET', path: base, headers: auth(user.token) });
    else if (r < w.list + w.get) ops.push({ method: 'GET', path: `${base}/${id}`, headers: auth(user.token) });
    else if (r < w.list + w.get + w.update)
      ops.push({ method: 'PUT', path: `${base}/${id}`, headers: auth(user.token, true), body: updateBody(k) });
    else if (r < w.list + w.get + w.update + w.toggle)
      ops.push({ method: 'PATCH', path: `${base}/${id}/complete`, headers: auth(user.token) });
    else
      ops.push({
        method: 'POST',
        path: base,
        headers: auth(user.token, true),
        body: JSON.stringify({ title: `Mixed task ${k}`, description: 'Created by the mixed scenario' }),
      });
  }
  return ops;
}

const bigData = (seed: SeedData, name: string) => {
  if (!seed.big) throw new Error(`${name}: the big accounts were not seeded`);
  return seed.big;
};

const listsData = (seed: SeedData, name: string) => {
  if (!seed.lists) throw new Error(`${name}: the lists accounts were not seeded`);
  return seed.lists;
};

/** A scenario autocannon runs (all but `streams`). */
export function buildScenario(name: Exclude<ScenarioName, 'streams'> | 'warmup', seed: SeedData): ScenarioDef {
  const L = seed.listUser;
  const base = `/api/${L.id}/tasks`;
  const perTask = (f: (id: number, n: number) => RequestParams): RequestParams[] => L.taskIds.map((id, n) => f(id, n));
  switch (name) {
    case 'list-50':
      return { name, expect: is2xx, requests: [{ method: 'GET', path: base, headers: auth(L.token) }] };
    case 'list-304': {
      // The same list, polled with the ETag of its last answer: nothing changed, so 304, no body.
      if (!seed.listEtag) throw new Error('list-304: the list has no ETag');
      return { name, expect: (s) => s === 304, requests: [{ method: 'GET', path: base, headers: { ...auth(L.token), 'if-none-match': seed.listEtag } }] };
    }
    case 'list-filtered': {
      const big = bigData(seed, name);
      return { name, expect: is2xx, requests: [{ method: 'GET', path: `/api/${big.filtered.id}/tasks?${big.filteredQuery}`, headers: auth(big.filtered.token) }] };
    }
    case 'search': {
      const big = bigData(seed, name);
      return { name, expect: is2xx, requests: [{ method: 'GET', path: `/api/${big.deep.id}/tasks?q=${big.searchWord}&limit=50`, headers: auth(big.deep.token) }] };
    }
    case 'page-deep': {
      const big = bigData(seed, name);
      const path = (c: string) => `/api/${big.deep.id}/tasks?limit=50&cursor=${c}`;
      return { name, expect: is2xx, requests: [rotating(big.deepCursors.map((c) => ({ method: 'GET', path: path(c), headers: auth(big.deep.token) })))] };
    }
    case 'all-tasks':
    case 'all-tasks-due':
    case 'all-filtered': {
      // The page of 50 across the 20 lists of one user (no list_id): newest first, by due date, filtered.
      const { many } = listsData(seed, name);
      const query = name === 'all-tasks' ? 'limit=50' : name === 'all-tasks-due' ? 'sort=due_at&limit=50' : 'status=pending&priority=high,medium&tag=work&sort=due_at&limit=50';
      return { name, expect: is2xx, requests: [{ method: 'GET', path: `/api/${many.user.id}/tasks?${query}`, headers: auth(many.user.token) }] };
    }
    case 'list-position': {
      // The first page of one 10,000-task list in its manual order.
      const { long } = listsData(seed, name);
      return { name, expect: is2xx, requests: [{ method: 'GET', path: `/api/${long.user.id}/tasks?list_id=${long.listId}&sort=position&limit=50`, headers: auth(long.user.token) }] };
    }
    case 'get-one':
      return {
        name,
        expect: is2xx,
        requests: [rotating(perTask((id) => ({ method: 'GET', path: `${base}/${id}`, headers: auth(L.token) })))],
      };
    case 'create':
      return {
        name,
        expect: is2xx,
        requests: [
          {
            method: 'POST',
            path: `/api/${seed.createUser.id}/tasks`,
            headers: auth(seed.createUser.token, true),
            body: JSON.stringify({ title: 'Bench task', description: 'Created by the create scenario' }),
          },
        ],
      };
    case 'create-batch':
    case 'create-batch-atomic': {
      // 100 creates in one POST /tasks/batch (each its own statement and commit; atomic: one
      // transaction): the same tasks as 100 requests of `create`.
      const operations = Array.from({ length: BATCH_SIZE }, () => ({ op: 'create', task: { title: 'Bench task', description: 'Created by the create-batch scenario' } }));
      const body = JSON.stringify(name === 'create-batch' ? { operations } : { atomic: true, operations });
      return { name, expect: is2xx, requests: [{ method: 'POST', path: `/api/${seed.createUser.id}/tasks/batch`, headers: auth(seed.createUser.token, true), body }] };
    }
    case 'update':
      return {
        name,
        expect: is2xx,
        requests: [
          rotating(perTask((id, n) => ({ method: 'PUT', path: `${base}/${id}`, headers: auth(L.token, true), body: updateBody(n) }))),
        ],
      };
    case 'toggle':
      return {
        name,
        expect: is2xx,
        requests: [rotating(perTask((id) => ({ method: 'PATCH', path: `${base}/${id}/complete`, headers: auth(L.token) })))],
      };
    case 'mixed':
    case 'warmup':
      return { name, expect: is2xx, requests: [rotating(mixedPlan(seed))] };
    case 'rejected':
      return { name, expect: (s) => s === 401, requests: [{ method: 'GET', path: base, headers: auth(seed.badToken) }] };
  }
}

export interface LoadOptions {
  connections: number;
  durationS: number;
  /** Hard cap on requests per scenario (the run also ends at durationS, whichever comes first). */
  maxRequests: number;
  /** Per-request timeout, seconds. */
  timeoutS: number;
}

export interface ScenarioResult {
  name: string;
  durationS: number;
  responses: number;
  rps: number;
  latencyMs: LatencySummary;
  /** Socket errors + timeouts + responses with an unexpected status. */
  errors: number;
  socketErrors: number;
  timeouts: number;
  unexpectedStatus: number;
  statusCounts: Record<string, number>;
  peakRssMB: number | null;
  serverCpuPct: number | null;
  /** Server CPU time per response, microseconds: steadier than req/s on a shared host. */
  serverCpuUsPerReq: number | null;
  postgresCpuPct: number | null;
  benchCpuPct: number;
  /** CPU used by everything else on the host during the run (noise indicator), 100 = one core. */
  otherCpuPct: number;
}

export interface RunContext {
  label: string;
  baseUrl: string;
  /** Server pid to sample (RSS, CPU) together with its descendants. */
  pid?: number;
  /** More instances of the same system: the connections are split evenly over all of them. */
  extra?: ReadonlyArray<{ baseUrl: string; pid: number }>;
  /** Sample the CPU of every local `postgres` process too. */
  measurePostgres: boolean;
  progress: boolean;
}

const MB = 1024 * 1024;

export async function runScenario(ctx: RunContext, def: ScenarioDef, load: LoadOptions): Promise<ScenarioResult> {
  const lat = new LatencyRecorder(load.maxRequests + load.connections);
  const statusCounts: Record<string, number> = {};
  let unexpected = 0;
  let reqErrors = 0;
  const urls = [ctx.baseUrl, ...(ctx.extra ?? []).map((e) => e.baseUrl)];
  const pids = [...(ctx.pid ? [ctx.pid] : []), ...(ctx.extra ?? []).map((e) => e.pid)];
  const samplers = pids.map((pid) => new ProcSampler(pid));
  const pg0 = ctx.measurePostgres ? postgresCpuSeconds() : 0;
  const cpu0 = process.cpuUsage();
  const sys0 = systemBusySeconds();
  const t0 = performance.now();
  for (const sampler of samplers) sampler.start();

  const share = Math.max(1, Math.floor(load.connections / urls.length));
  const instances = urls.map((url) =>
    autocannon({
      url,
      connections: share,
      duration: load.durationS,
      maxOverallRequests: Math.max(Math.ceil(load.maxRequests / urls.length), share),
      timeout: load.timeoutS,
      requests: def.requests,
    }),
  );
  const instance = instances[0] as (typeof instances)[number];
  let lastResponseAt = 0;
  for (const one of instances) {
    one.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      lastResponseAt = performance.now();
      lat.record(ms);
      statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      if (!def.expect(status)) unexpected++;
    });
    one.on('reqError', () => reqErrors++);
  }

  let elapsed = 0;
  let lastCount = 0;
  const tty = ctx.progress && process.stderr.isTTY;
  if (ctx.progress) {
    instance.on('tick', () => {
      elapsed++;
      const rate = lat.count - lastCount;
      lastCount = lat.count;
      if (!tty || elapsed > load.durationS) return; // autocannon emits one last tick at stop
      const rss = samplers.length ? `  rss ${(samplers.reduce((a, x) => a + x.current(), 0) / MB).toFixed(0)} MB` : '';
      process.stderr.write(
        `\r  ${ctx.label.padEnd(10)} ${def.name.padEnd(9)} ${String(elapsed).padStart(3)}/${load.durationS} s ` +
          `${rate.toLocaleString('en-US').padStart(8)} req/s  errors ${unexpected + reqErrors}${rss}   `,
      );
    });
  }
  // Belt and braces: autocannon stops itself at `duration`; this fires only if it does not.
  const guard = setTimeout(() => instances.forEach((one) => one.stop()), (load.durationS + load.timeoutS + 5) * 1000);
  const results = await Promise.all(instances);
  clearTimeout(guard);
  const result = { errors: results.reduce((a, r) => a + r.errors, 0), timeouts: results.reduce((a, r) => a + r.timeouts, 0) };

  const t1 = performance.now();
  // Rates use the time to the last response: with --max-requests the load ends before autocannon
  // notices (it checks once a second).
  const durationS = ((lastResponseAt > t0 ? lastResponseAt : t1) - t0) / 1000;
  const wallS = (t1 - t0) / 1000;
  const stopped = samplers.map((x) => x.stop());
  // Peak RSS of all instances together: the sum of each one's peak (an upper bound).
  const proc = stopped.length
    ? { peakRssBytes: stopped.reduce((a, x) => a + x.peakRssBytes, 0), cpuSeconds: stopped.reduce((a, x) => a + x.cpuSeconds, 0) }
    : null;
  const cpu = process.cpuUsage(cpu0);
  const pgCpu = ctx.measurePostgres ? postgresCpuSeconds() - pg0 : null;
  const sysCpu = systemBusySeconds() - sys0;
  if (tty) process.stderr.write('\r\x1b[K');

  const socketErrors = result.errors - result.timeouts;
  const out: ScenarioResult = {
    name: def.name,
    durationS,
    responses: lat.count,
    rps: lat.count / durationS,
    latencyMs: lat.summary(),
    errors: result.errors + unexpected,
    socketErrors,
    timeouts: result.timeouts,
    unexpectedStatus: unexpected,
    statusCounts,
    peakRssMB: proc ? proc.peakRssBytes / MB : null,
    serverCpuPct: proc ? (proc.cpuSeconds / wallS) * 100 : null,
    serverCpuUsPerReq: proc && lat.count ? (proc.cpuSeconds * 1e6) / lat.count : null,
    postgresCpuPct: pgCpu === null ? null : (pgCpu / wallS) * 100,
    benchCpuPct: ((cpu.user + cpu.system) / 1e6 / wallS) * 100,
    otherCpuPct: 0,
  };
  const known = (proc?.cpuSeconds ?? 0) + (pgCpu ?? 0) + (cpu.user + cpu.system) / 1e6;
  out.otherCpuPct = Math.max(0, ((sysCpu - known) / wallS) * 100);
  if (ctx.progress) {
    process.stderr.write(
      `  ${ctx.label.padEnd(10)} ${def.name.padEnd(9)} ${out.rps.toFixed(0).padStart(7)} req/s  ` +
        `p50 ${out.latencyMs.p50.toFixed(2)} ms  p99 ${out.latencyMs.p99.toFixed(2)} ms  errors ${out.errors}` +
        (out.peakRssMB !== null ? `  rss ${out.peakRssMB.toFixed(0)} MB` : '') +
        '\n',
    );
  }
  return out;
}
