// npm run bench:write-cost: what one write costs PostgreSQL and the server, in CPU time.
//
// One client sends its requests one after another (no two at once, so nothing waits on a lock and
// the load of the machine changes the CPU time little): N creates, N toggles, N updates (title and
// description), N moves; and N creates in batches of 100 (POST /tasks/batch, not atomic and atomic). Before and after each phase it reads the CPU time of every PostgreSQL
// backend connected to the scratch database (/proc/<pid>/stat: what the database did for those
// requests, commits included) and of the server's process, and reports both per request.
//
//   npm run bench:write-cost -- [--n 1000] [--rounds 3] [--phases create,toggle,update,move] [--against <checkout>]
//
// --against runs another checkout of this repository (built: its dist/src/server.js) the same
// way, round after round alternating with this one, each on a scratch database of its own, and
// prints the ratio this / that. Set BENCH_DATABASE_URL (default: the local server's postgres
// database); the server must be on this machine (its backends' /proc is read).
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import type { Server } from '../test/helpers/process.js';
import { startBenchServers, type BenchServers } from './burst.js';
import { cpuSeconds, treeCpuSeconds } from './proc.js';
import { signToken } from './seed.js';
import { createScratchDatabase, DEFAULT_PG_SERVER, repoRoot } from './servers.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const N = Number(flag('n', '1000'));
const ROUNDS = Number(flag('rounds', '3'));
const against = flag('against', '');
const serverUrl = process.env.BENCH_DATABASE_URL ?? DEFAULT_PG_SERVER;

const ALL_PHASES = ['create', 'toggle', 'update', 'move', 'batch', 'batch-atomic'] as const;
type Phase = (typeof ALL_PHASES)[number];
const PHASES = flag('phases', ALL_PHASES.join(',')).split(',') as Phase[];
for (const p of PHASES) if (!ALL_PHASES.includes(p)) throw new Error(`--phases: ${p} is not one of ${ALL_PHASES.join(', ')}`);
interface Cost {
  pgUs: number;
  serverUs: number;
  ms: number;
}

async function backendsCpu(admin: postgres.Sql, db: string): Promise<Map<number, number>> {
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${db}`;
  return new Map(rows.map((r) => [r.pid, cpuSeconds(r.pid)]));
}

async function measure(checkout: string, label: string): Promise<Record<Phase, Cost | null>> {
  const scratch = await createScratchDatabase(serverUrl, 'wcost');
  if (scratch === null) throw new Error(`cannot create a scratch database on ${serverUrl}`);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  let started: BenchServers | undefined;
  try {
    started = await startBenchServers(scratch.url, 1, {}, join(checkout, 'dist', 'src', 'server.js'));
    const server = started.servers[0] as Server;
    const user = `wcost-${label}`;
    const token = await signToken(user);
    const base = `${server.url}/api/${user}/tasks`;
    const request = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const send = async (method: string, path: string, body?: unknown): Promise<{ data: { id: number } }> => {
      const res = await request(method, path, body);
      const json = (await res.json()) as { data: { id: number } };
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };
    /** Whether the checkout has a route (another checkout may be older than the batch or the move). */
    const has = async (method: string, path: string, body: unknown) => {
      const res = await request(method, path, body);
      await res.arrayBuffer();
      return res.status < 300;
    };
    // Warm: the Inbox, the connections, the statements' plans.
    const ids: number[] = [];
    for (let i = 0; i < 100; i++) ids.push((await send('POST', '', { title: `Warm ${i}`, description: 'warm' })).data.id);
    for (const id of ids.slice(0, 20)) await send('PATCH', `/${id}/complete`);
    for (const id of ids.slice(0, 20)) await send('PUT', `/${id}`, { title: 'w', description: 'w' });
    const batches = await has('POST', '/batch', { operations: [{ op: 'create', task: { title: 'warm' } }] });
    const moves = await has('POST', `/${ids[0]}/move`, {});
    const out = {} as Record<Phase, Cost | null>;
    for (const phase of PHASES) {
      if ((phase === 'move' && !moves) || (phase.startsWith('batch') && !batches)) {
        out[phase] = null;
        continue;
      }
      const pg0 = await backendsCpu(admin, scratch.name);
      const s0 = treeCpuSeconds(server.pid);
      const t0 = performance.now();
      const batched = phase === 'batch' || phase === 'batch-atomic';
      // A batch phase: N creates in POST /tasks/batch requests of 100 (costs per task created).
      for (let i = 0; batched && i < N; i += 100) {
        const operations = Array.from({ length: Math.min(100, N - i) }, (_, k) => ({ op: 'create', task: { title: `Task ${i + k}`, description: 'Created by the write-cost bench' } }));
        await send('POST', '/batch', phase === 'batch' ? { operations } : { atomic: true, operations });
      }
      for (let i = 0; !batched && i < N; i++) {
        const id = ids[i % ids.length] as number;
        if (phase === 'create') await send('POST', '', { title: `Task ${i}`, description: 'Created by the write-cost bench' });
        else if (phase === 'toggle') await send('PATCH', `/${id}/complete`);
        else if (phase === 'update') await send('PUT', `/${id}`, { title: `Updated ${i}`, description: `Round ${i}` });
        else await send('POST', `/${id}/move`, { after_id: ids[(i + 7) % ids.length] === id ? undefined : ids[(i + 7) % ids.length] });
      }
      const ms = performance.now() - t0;
      const pg1 = await backendsCpu(admin, scratch.name);
      let pg = 0;
      for (const [pid, after] of pg1) pg += after - (pg0.get(pid) ?? 0);
      out[phase] = { pgUs: (pg / N) * 1e6, serverUs: ((treeCpuSeconds(server.pid) - s0) / N) * 1e6, ms: ms / N };
    }
    return out;
  } finally {
    await started?.stop();
    await admin.end();
    await scratch.drop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const targets: [string, string][] = [['this', repoRoot()]];
if (against !== '') targets.push(['that', resolve(against)]);
const results = new Map<string, Record<Phase, Cost | null>[]>(targets.map(([l]) => [l, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [label, dir] of targets) {
    results.get(label)?.push(await measure(dir, label));
    process.stderr.write(`write-cost: round ${r + 1}/${ROUNDS} of ${label} done\n`);
  }
}

console.log(`\nwrite cost, ${N} requests per phase, one at a time, median of ${ROUNDS} rounds (${new Date().toISOString()})`);
for (const [label, dir] of targets) console.log(`  ${label}: ${dir}`);
console.log('\ntarget  write         pg µs/req  server µs/req  ms/req   (batch: per task created)');
const summary = new Map<string, Record<Phase, Cost | null>>();
for (const [label] of targets) {
  const runs = results.get(label) ?? [];
  const s = {} as Record<Phase, Cost | null>;
  for (const phase of PHASES) {
    const got = runs.map((x) => x[phase]).filter((x): x is Cost => x !== null);
    s[phase] = got.length === 0 ? null : { pgUs: median(got.map((c) => c.pgUs)), serverUs: median(got.map((c) => c.serverUs)), ms: median(got.map((c) => c.ms)) };
    const c = s[phase];
    if (c !== null) console.log(`${label.padEnd(6)}  ${phase.padEnd(12)}  ${c.pgUs.toFixed(0).padStart(9)}  ${c.serverUs.toFixed(0).padStart(13)}  ${c.ms.toFixed(2).padStart(6)}`);
  }
  summary.set(label, s);
}
if (targets.length === 2) {
  console.log('\nratio this/that  write         pg cpu  server cpu');
  for (const phase of PHASES) {
    const a = summary.get('this')?.[phase];
    const b = summary.get('that')?.[phase];
    if (a && b) console.log(`                 ${phase.padEnd(12)}  ${(a.pgUs / b.pgUs).toFixed(2).padStart(6)}x  ${(a.serverUs / b.serverUs).toFixed(2).padStart(9)}x`);
  }
}
