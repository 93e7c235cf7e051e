// The noisy neighbour: one user runs expensive searches as fast as they can (32 loops, a one- or
// two-letter q over 30,000 tasks, a new parameter each time so the list cache never answers, the rate
// limit off), while another user reads one task of theirs. Reports the other user's latency, quiet and
// under attack. Target (docs/SECURITY.md, API4): their p99 stays within 2x of its quiet value or 50 ms,
// whichever is larger.
//
//   npm run bench:noisy [-- --seconds 10 --loops 32 --tasks 30000 --database-url postgresql://... --env NAME=value]
import { parseArgs } from 'node:util';
import { scratchDir, startServer, cleanEnv, sleep } from '../test/helpers/process.js';
import { connect } from '../test/helpers/scratch.js';
import { BENCH_SECRET, signToken } from './seed.js';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';
import { summarize, type LatencySummary } from './stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    loops: { type: 'string', default: '32' },
    tasks: { type: 'string', default: '30000' },
    'database-url': { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const seconds = Number(values.seconds);
const loops = Number(values.loops);
const tasks = Number(values.tasks);

async function main(): Promise<void> {
  const serverUrl = values['database-url'] ?? DEFAULT_PG_SERVER;
  const scratch = await createScratchDatabase(serverUrl, 'task_api_noisy_');
  if (scratch === null) throw new Error(`cannot create a database on ${serverUrl}`);
  const dataDir = scratchDir('task-api-noisy-');
  const server = await startServer(dataDir, cleanEnv({ DATABASE_URL: scratch.url, BETTER_AUTH_SECRET: BENCH_SECRET, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info', ...Object.fromEntries(values.env.map((e) => e.split('=', 2) as [string, string])) }));
  try {
    const attacker = `noisy-a-${Date.now()}`;
    const victim = `noisy-v-${Date.now()}`;
    const [attackerAuth, victimAuth] = [`Bearer ${await signToken(attacker)}`, `Bearer ${await signToken(victim)}`];
    const created = await fetch(`${server.url}/api/${victim}/tasks`, {
      method: 'POST',
      headers: { authorization: victimAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'mine' }),
    });
    const victimTask = ((await created.json()) as { data: { id: number } }).data.id;
    // The attacker's tasks, written directly (the API would take minutes): titles and descriptions of words.
    const sql = connect(scratch.url);
    await sql.unsafe(
      `with s as (insert into user_changes (user_id, seq, task_count) values ($1, $2::int, $2::int) returning seq)
       insert into tasks (user_id, title, description, change_seq)
       select $1, 'task ' || md5(g::text), 'notes on ' || md5((g * 7)::text), g from generate_series(1, $2::int) g`,
      [attacker, tasks],
    );
    await sql.unsafe('vacuum analyze tasks');
    await sql.end();

    const victimLoop = async (until: number): Promise<LatencySummary & { n: number }> => {
      const ms: number[] = [];
      while (performance.now() < until) {
        const t0 = performance.now();
        const res = await fetch(`${server.url}/api/${victim}/tasks/${victimTask}`, { headers: { authorization: victimAuth } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`victim read: ${res.status}`);
        ms.push(performance.now() - t0);
        await sleep(5);
      }
      return { ...summarize(Float64Array.from(ms)), n: ms.length };
    };

    await victimLoop(performance.now() + 1000); // warm-up
    const quiet = await victimLoop(performance.now() + seconds * 1000);

    let stop = false;
    const statuses = new Map<number, number>();
    let n = 0;
    const letters = 'abcdef0123456789';
    const attack = Array.from({ length: loops }, async () => {
      while (!stop) {
        const q = letters[n % letters.length]! + (n % 2 === 0 ? '' : letters[(n >> 1) % letters.length]!);
        const res = await fetch(`${server.url}/api/${attacker}/tasks?q=${q}&limit=50&nocache=${n++}`, { headers: { authorization: attackerAuth } });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    });
    await sleep(1000);
    const loud = await victimLoop(performance.now() + seconds * 1000);
    stop = true;
    await Promise.all(attack);

    const target = Math.max(2 * quiet.p99, 50);
    const line = (name: string, s: LatencySummary & { n: number }) => `  ${name.padEnd(13)} p50 ${s.p50.toFixed(2)} ms   p99 ${s.p99.toFixed(2)} ms   max ${s.max.toFixed(2)} ms   (${s.n} reads)`;
    console.log(`noisy neighbour: ${loops} loops of one-/two-letter searches over ${tasks} tasks, ${seconds} s each phase`);
    console.log(line('quiet', quiet));
    console.log(line('under attack', loud));
    console.log(`  attacker's answers: ${[...statuses].map(([s, c]) => `${c} x ${s}`).join(', ')}`);
    console.log(`  target: p99 under attack <= max(2 x quiet p99, 50 ms) = ${target.toFixed(2)} ms: ${loud.p99 <= target ? 'holds' : 'MISSED'}`);
    if (loud.p99 > target) process.exitCode = 1;
  } finally {
    await server.stop('SIGTERM');
    await scratch.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
