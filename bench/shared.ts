// A shared list of 5 members (issues 23 and 29): what a write to it costs, and how long it takes to
// reach every member's event stream. Two server processes on one fresh database of the external
// PostgreSQL (created and dropped here; change notifications between them by PostgreSQL NOTIFY on the
// direct URL). The owner makes a list and invites four editors through the API; they accept. Each
// member opens one event stream, members in turn on instance A and B, and --others more streams of
// other users (10 each) are open, split between the two instances.
//
// 1. Latency: --writes creates, spread over --seconds, by the members in turn, each sent to the
//    instance of its writer's stream; for each, the time from sending it to its `upsert` on each of
//    the 5 streams. Reported: to the last member's stream (p50, p99, max) and to the writer's own.
//    The same for a private list (one member, one stream) for comparison.
// 2. Cost: --cost creates and as many toggles of those tasks, one after another, in the private list
//    and in the shared one, with no stream open; the CPU of every PostgreSQL backend of the database
//    (from /proc: the server must be local) per write, and the shared/private ratio.
//
// About 1.5 minutes with the defaults.
//
//   npm run bench:shared [-- --database-url postgresql://postgres@127.0.0.1:5432/postgres] [--others 1000] [--writes 300] [--seconds 15] [--cost 500]
import { readFileSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { call, expect, pct, startBenchServers, type User } from './burst.js';
import { signToken } from './seed.js';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';
import { sseParser } from './streams.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    others: { type: 'string', default: '1000' },
    writes: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '15' },
    cost: { type: 'string', default: '500' },
  },
});
const OTHERS = Number(values.others);
const WRITES = Number(values.writes);
const SECONDS = Number(values.seconds);
const COST = Number(values.cost);
const MEMBERS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ms = (x: number) => x.toFixed(1);

/** One event stream; `onUpsert(title, at)` for each task upsert. Resolves once the stream said `ready`. */
function openStream(base: string, user: User, onUpsert: (title: string, at: number) => void, opened: ClientRequest[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`/api/${user.id}/tasks/events`, base), { headers: { authorization: `Bearer ${user.token}`, accept: 'text/event-stream' }, agent: false });
    opened.push(req);
    const timer = setTimeout(() => reject(new Error(`no ready event within 30 s for ${user.id}`)), 30_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer);
        reject(new Error(`GET events of ${user.id} -> ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('error', () => {});
      res.on(
        'data',
        sseParser((type, data) => {
          if (type === 'ready') {
            clearTimeout(timer);
            resolve();
          } else if (type === 'upsert') {
            const m = /"title":"([^"]*)"/.exec(data);
            if (m) onUpsert(m[1] as string, performance.now());
          }
        }),
      );
    });
    req.end();
  });
}

/** CPU seconds (user + system) of every PostgreSQL backend connected to `db` now. */
async function backendsCpu(sql: postgres.Sql, db: string): Promise<number> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${db} and pid <> pg_backend_pid()`;
  let total = 0;
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

const scratch = await createScratchDatabase(values['database-url'] ?? DEFAULT_PG_SERVER, 'task_api_shared_');
if (scratch === null) throw new Error('cannot create a database on the external PostgreSQL');
// Every stream of this bench comes from 127.0.0.1.
const bench = await startBenchServers(scratch.url, 2, { MAX_CONNECTIONS_PER_IP: '0' }).catch(async (err: unknown) => {
  await scratch.drop();
  throw err;
});
const opened: ClientRequest[] = [];
const sql = postgres(scratch.url, { max: 1, onnotice: () => {} });
try {
  const bases = bench.servers.map((s) => s.url) as [string, string];

  // The shared list: the owner's, four editors invited and accepted through the API.
  const members: User[] = await Promise.all(Array.from({ length: MEMBERS }, async (_, i) => ({ id: `member${i}`, token: await signToken(`member${i}`) })));
  const owner = members[0] as User;
  const shared = (await expect('list', call(bases[0], owner, 'POST', '/lists', { name: 'Shared' }), 201)).data.id as number;
  for (const m of members.slice(1)) {
    const inv = (await expect('invitation', call(bases[0], owner, 'POST', `/lists/${shared}/invitations`, { role: 'editor' }), 201)).data;
    await expect('accept', call(bases[1], m, 'POST', `/invitations/${inv.token}/accept`), 200);
  }
  const loner: User = { id: 'loner', token: await signToken('loner') };
  const privateList = (await expect('private list', call(bases[0], loner, 'POST', '/lists', { name: 'Mine' }), 201)).data.id as number;

  // The other streams: 10 per user, half on each instance.
  const othersT0 = performance.now();
  const others: User[] = await Promise.all(Array.from({ length: Math.ceil(OTHERS / 10) }, async (_, i) => ({ id: `other${i}`, token: await signToken(`other${i}`) })));
  const readies: Promise<void>[] = [];
  for (let i = 0; i < OTHERS; i++) {
    readies.push(openStream(bases[i % 2] as string, others[i % others.length] as User, () => {}, opened));
    if (i % 100 === 99) await sleep(20);
  }
  await Promise.all(readies);
  console.log(`${OTHERS} other streams open in ${((performance.now() - othersT0) / 1000).toFixed(1)} s, half on each instance`);

  // 1. Latency.
  async function latency(users: User[], listId: number, label: string) {
    const seen = new Map<string, number[]>(); // title -> arrival per member
    const sent = new Map<string, { at: number; writer: number }>();
    await Promise.all(
      users.map((u, i) =>
        openStream(bases[i % 2] as string, u, (title, at) => {
          if (!sent.has(title)) return;
          const arr = seen.get(title) ?? Array(users.length).fill(NaN);
          arr[i] = at;
          seen.set(title, arr);
        }, opened),
      ),
    );
    await sleep(500);
    const gap = (SECONDS * 1000) / WRITES;
    const t0 = performance.now();
    const inFlight: Promise<unknown>[] = [];
    for (let k = 0; k < WRITES; k++) {
      const wait = t0 + k * gap - performance.now();
      if (wait > 1) await sleep(wait);
      const writer = k % users.length;
      const title = `${label} write ${k}`;
      sent.set(title, { at: performance.now(), writer });
      inFlight.push(expect('write', call(bases[writer % 2] as string, users[writer] as User, 'POST', '/tasks', { title, list_id: listId }), 201));
    }
    await Promise.all(inFlight);
    const deadline = performance.now() + 5000;
    const complete = () => [...seen.values()].filter((a) => a.every((x) => Number.isFinite(x))).length;
    while (complete() < WRITES && performance.now() < deadline) await sleep(50);
    const last: number[] = [];
    const own: number[] = [];
    let missing = 0;
    for (const [title, { at, writer }] of sent) {
      const arr = seen.get(title) ?? [];
      missing += users.length - arr.filter((x) => Number.isFinite(x)).length;
      if (arr.length === users.length && arr.every((x) => Number.isFinite(x))) last.push(Math.max(...arr) - at);
      if (Number.isFinite(arr[writer])) own.push((arr[writer] as number) - at);
    }
    console.log(
      `${label} (${users.length} member${users.length > 1 ? 's' : ''}, streams on both instances): ${WRITES} creates over ${SECONDS} s; to the last member's stream p50 ${ms(pct(last, 50))} ms, ` +
        `p99 ${ms(pct(last, 99))} ms, max ${ms(Math.max(...last))} ms; to the writer's own p50 ${ms(pct(own, 50))} ms, p99 ${ms(pct(own, 99))} ms; events missing ${missing}`,
    );
  }
  await latency([loner], privateList, 'private');
  await latency(members, shared, 'shared');

  // 2. Cost, with every stream closed.
  for (const req of opened) req.destroy();
  await sleep(1000);
  async function cost(user: User, listId: number): Promise<{ create: number; toggle: number }> {
    const ids: number[] = [];
    let before = await backendsCpu(sql, scratch!.name);
    for (let k = 0; k < COST; k++) ids.push((await expect('create', call(bases[0], user, 'POST', '/tasks', { title: `cost ${k}`, list_id: listId }), 201)).data.id);
    const create = ((await backendsCpu(sql, scratch!.name)) - before) / COST;
    before = await backendsCpu(sql, scratch!.name);
    for (const id of ids) await expect('toggle', call(bases[0], user, 'PATCH', `/tasks/${id}/complete`), 200);
    const toggle = ((await backendsCpu(sql, scratch!.name)) - before) / COST;
    return { create, toggle };
  }
  const mine = await cost(loner, privateList);
  const ours = await cost(owner, shared);
  const us = (s: number) => `${Math.round(s * 1e6)} µs`;
  console.log(`PostgreSQL CPU per write (${COST} of each, one after another, all backends of the database, no stream open):`);
  console.log(`  create: private ${us(mine.create)}, ${MEMBERS} members ${us(ours.create)} (${(ours.create / mine.create).toFixed(2)}x; ${us((ours.create - mine.create) / (MEMBERS - 1))} per member beyond the first)`);
  console.log(`  toggle: private ${us(mine.toggle)}, ${MEMBERS} members ${us(ours.toggle)} (${(ours.toggle / mine.toggle).toFixed(2)}x; ${us((ours.toggle - mine.toggle) / (MEMBERS - 1))} per member beyond the first)`);
} finally {
  for (const req of opened) req.destroy();
  await sql.end({ timeout: 5 });
  await bench.stop();
  await scratch.drop();
}
