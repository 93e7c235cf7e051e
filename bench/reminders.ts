// A burst of reminders (issue 25): 10,000 reminders due within one minute, for 1,000 users, two server
// processes on one fresh database of the external PostgreSQL (created and dropped here). Each task is
// created through the API with one `{"at": ...}` reminder, spread evenly over the minute. Reported:
// how many fired and how many times each (exactly once: one row per instant in reminder_firings,
// fired by whichever instance took the job), the lateness (fired_at - fire_at: p50, p99, max), and
// list-50 (autocannon, 10 s, 8 connections: as fast as it goes) before the burst and 20 s into it. On a
// small machine that read load takes CPU from the jobs: --no-read measures the lateness alone. About
// 3 minutes.
//
//   npm run bench:reminders [-- --database-url postgresql://postgres@127.0.0.1:5432/postgres] [--users 1000] [--per-user 10] [--no-read] [--lead 90] [--env NAME=VALUE ...]
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import postgres from 'postgres';
import type { Server } from '../test/helpers/process.js';
import { envOptions, pct, startBenchServers } from './burst.js';
import { signToken } from './seed.js';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    users: { type: 'string', default: '1000' },
    'per-user': { type: 'string', default: '10' },
    // Without list-50 at full speed during the burst (on 2 cores it takes the CPU the jobs need): the lateness alone.
    'no-read': { type: 'boolean', default: false },
    // Seconds from the first create to the first due reminder: the seeding and the quiet list-50 (12 s) must fit in it.
    lead: { type: 'string', default: '90' },
    // The servers' environment beyond the bench's (repeatable): e.g. --env JOBS_PROCESS=inline.
    env: { type: 'string', multiple: true },
  },
});
const USERS = Number(values.users);
const PER_USER = Number(values['per-user']);
const TOTAL = USERS * PER_USER;
const WINDOW_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function list50(url: string, user: string, token: string): Promise<{ rps: number; p99: number }> {
  const result = await autocannon({
    url: `${url}/api/${user}/tasks?limit=50`,
    headers: { authorization: `Bearer ${token}` },
    connections: 8,
    duration: 10,
  });
  return { rps: Math.round(result.requests.average), p99: result.latency.p99 };
}

const scratch = await createScratchDatabase(values['database-url'] ?? DEFAULT_PG_SERVER, 'task_api_reminders_');
if (scratch === null) throw new Error('cannot create a database on the external PostgreSQL');
const bench = await startBenchServers(scratch.url, 2, { MAX_TASKS_PER_USER: '100000', ...envOptions(values.env) }).catch(async (err: unknown) => {
  await scratch.drop();
  throw err;
});
try {
  const [a, b] = bench.servers as [Server, Server];

  // The reader of list-50: a user of their own with 50 tasks and no reminders.
  const reader = 'reader';
  const readerToken = await signToken(reader);
  for (let i = 0; i < 50; i++) {
    await fetch(`${a.url}/api/${reader}/tasks`, { method: 'POST', headers: { authorization: `Bearer ${readerToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: `read ${i}` }) });
  }

  // The reminders: created through the API (two instances, 32 at a time), due in [start, start + 60 s).
  const tokens = await Promise.all(Array.from({ length: USERS }, (_, u) => signToken(`u${u}`)));
  const start = Date.now() + Number(values.lead) * 1000;
  const createdAt = Date.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: 32 }, async (_, w) => {
      for (let n = next++; n < TOTAL; n = next++) {
        const u = n % USERS;
        const fireAt = new Date(start + Math.floor((n / TOTAL) * WINDOW_MS)).toISOString();
        const res = await fetch(`${(w % 2 ? b : a).url}/api/u${u}/tasks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[u]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `remind ${n}`, reminders: [{ at: fireAt }] }),
        });
        if (res.status !== 201) failed++;
        await res.arrayBuffer();
      }
    }),
  );
  console.log(`${TOTAL} tasks with a reminder created in ${((Date.now() - createdAt) / 1000).toFixed(1)} s (${failed} failed); due from ${new Date(start).toISOString()} over 60 s`);
  if (Date.now() > start - 12_000) throw new Error('seeding took too long: the burst would start before the quiet measurement; try fewer --users');

  const quiet = await list50(a.url, reader, readerToken);
  await sleep(Math.max(0, start - Date.now()) + 20_000);
  const during = values['no-read'] ? null : await list50(a.url, reader, readerToken);
  await sleep(Math.max(0, start + WINDOW_MS + 30_000 - Date.now()));

  const sql = postgres(scratch.url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ late_ms: number }[]>`select extract(epoch from (fired_at - fire_at)) * 1000 as late_ms from reminder_firings`;
    const [dup] = await sql<{ n: number }[]>`select count(*)::int as n from (select task_id from reminder_firings group by task_id having count(*) > 1) d`;
    const [waiting] = await sql<{ n: number }[]>`select count(*)::int as n from graphile_worker.jobs where task_identifier = 'task.reminder'`;
    const late = rows.map((r) => Number(r.late_ms));
    console.log(`fired: ${rows.length} of ${TOTAL}; tasks fired more than once: ${dup?.n}; reminder jobs left: ${waiting?.n}`);
    console.log(`lateness: p50 ${pct(late, 50).toFixed(0)} ms, p99 ${pct(late, 99).toFixed(0)} ms, max ${Math.max(...late).toFixed(0)} ms; none early: ${late.every((l) => l >= 0)}`);
    console.log(
      `list-50 (8 connections, 10 s): quiet ${quiet.rps} req/s (p99 ${quiet.p99} ms)` +
        (during === null ? '; not measured during the burst (--no-read)' : `; during the burst ${during.rps} req/s (p99 ${during.p99} ms), ${((during.rps / quiet.rps) * 100).toFixed(0)}%`),
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
} finally {
  await bench.stop();
  await scratch.drop();
}
