// A burst of webhook deliveries (issues 27 and 29): the delivery rate of one instance to a local
// receiver, and what the burst does to list-50 and mixed meanwhile. One server process (production
// settings, WEBHOOKS_ALLOW_PRIVATE=true so that it may post to 127.0.0.1) on a fresh database of the
// external PostgreSQL (created and dropped here), and an HTTP receiver in this process that answers
// 200 at once and records each `webhook-id`.
//
// --endpoints users each have --per-endpoint tasks, made before their webhook (`["*"]`) is registered.
// A burst: each of them renames all their tasks in atomic batches of 100, so --endpoints x
// --per-endpoint `task.updated` events are recorded within a few seconds, then delivered, one endpoint
// at a time in change order, by the instance's job runner (JOBS_CONCURRENCY). Two bursts: the first
// with list-50 measured during it (autocannon, 8 connections, 10 s), the second with mixed (list
// reads, creates and toggles of 20 other users); each is compared with the same load measured quiet,
// before. Reported per burst: events delivered, each exactly once (distinct webhook-ids), the
// delivery rate (events per second from the first delivery to the last), the lag from the event's
// `timestamp` to its arrival (p50, p99), and the load's requests per second quiet and during. About
// 2 minutes with the defaults.
//
//   npm run bench:webhooks [-- --database-url postgresql://postgres@127.0.0.1:5432/postgres] [--endpoints 100] [--per-endpoint 100] [--concurrency 4] [--env NAME=VALUE ...]
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import autocannon, { type Request } from 'autocannon';
import type { Server } from '../test/helpers/process.js';
import { call, envOptions, pct, startBenchServers, type Body } from './burst.js';
import { signToken } from './seed.js';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string' },
    endpoints: { type: 'string', default: '100' },
    'per-endpoint': { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '4' },
    // The server's environment beyond the bench's (repeatable): e.g. --env JOBS_PROCESS=inline.
    env: { type: 'string', multiple: true },
  },
});
const ENDPOINTS = Number(values.endpoints);
const PER_ENDPOINT = Number(values['per-endpoint']);
const EVENTS = ENDPOINTS * PER_ENDPOINT;
const MIXED_USERS = 20;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- the receiver

interface Arrival {
  id: string;
  at: number;
  lagMs: number;
}
let arrivals: Arrival[] = [];
const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    let lagMs = NaN;
    try {
      lagMs = at - Date.parse((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { timestamp: string }).timestamp);
    } catch {
      // counted without a lag
    }
    arrivals.push({ id: String(req.headers['webhook-id']), at, lagMs });
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

// ---------------------------------------------------------------- helpers

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i] as T);
  }));
}

async function load(requests: Request[], url: string): Promise<{ rps: number; p99: number; non2xx: number }> {
  const result = await autocannon({ url, connections: 8, duration: 10, requests });
  return { rps: Math.round(result.requests.average), p99: result.latency.p99, non2xx: result.non2xx };
}

// ---------------------------------------------------------------- the run

const scratch = await createScratchDatabase(values['database-url'] ?? DEFAULT_PG_SERVER, 'task_api_webhooks_');
if (scratch === null) throw new Error('cannot create a database on the external PostgreSQL');
const bench = await startBenchServers(scratch.url, 1, {
  MAX_TASKS_PER_USER: '100000',
  WEBHOOKS_ALLOW_PRIVATE: 'true',
  JOBS_CONCURRENCY: values.concurrency as string,
  ...envOptions(values.env),
}).catch(async (err: unknown) => {
  receiver.close();
  await scratch.drop();
  throw err;
});
try {
  const base = (bench.servers[0] as Server).url;

  // The readers: list-50's user and mixed's users, 50 tasks each, no webhooks.
  const reader = { id: 'reader', token: await signToken('reader') };
  const mixers = await Promise.all(Array.from({ length: MIXED_USERS }, async (_, i) => ({ id: `mix${i}`, token: await signToken(`mix${i}`), ids: [] as number[] })));
  for (const u of [reader, ...mixers]) {
    const { status, json } = await call(base, u, 'POST', `/tasks/batch`, {
      atomic: true,
      operations: Array.from({ length: 50 }, (_, k) => ({ op: 'create', task: { title: `read ${k}` } })),
    });
    if (status !== 200) throw new Error(`seeding ${u.id}: ${status}`);
    if ('ids' in u) (u.ids as number[]).push(...(json as Body).data.results.map((r) => r.data.id));
  }

  // The endpoints' users: their tasks first, then the webhook (so that seeding sends nothing).
  const owners = await Promise.all(Array.from({ length: ENDPOINTS }, async (_, i) => ({ id: `hook${i}`, token: await signToken(`hook${i}`), ids: [] as number[] })));
  const seeded = Date.now();
  await pool(owners, 16, async (u) => {
    for (let made = 0; made < PER_ENDPOINT; made += 100) {
      const n = Math.min(100, PER_ENDPOINT - made);
      const { status, json } = await call(base, u, 'POST', `/tasks/batch`, {
        atomic: true,
        operations: Array.from({ length: n }, (_, k) => ({ op: 'create', task: { title: `task ${made + k}` } })),
      });
      if (status !== 200) throw new Error(`seeding ${u.id}: ${status}`);
      u.ids.push(...(json as Body).data.results.map((r) => r.data.id));
    }
    const hook = await call(base, u, 'POST', `/webhooks`, { url: receiverUrl, events: ['*'] });
    if (hook.status !== 201) throw new Error(`webhook of ${u.id}: ${hook.status} ${JSON.stringify(hook.json)}`);
  });
  console.log(`${ENDPOINTS} endpoints with ${PER_ENDPOINT} tasks each, ${MIXED_USERS + 1} readers: seeded in ${((Date.now() - seeded) / 1000).toFixed(1)} s; JOBS_CONCURRENCY ${values.concurrency}`);

  const list50: Request[] = [{ method: 'GET', path: `/api/${reader.id}/tasks?limit=50`, headers: { authorization: `Bearer ${reader.token}` } }];
  // mixed: per user in turn, a page of 50, a create, a toggle of one of their tasks, another page.
  let created = 0;
  const mixed: Request[] = mixers.flatMap((u, i) => {
    const auth = { authorization: `Bearer ${u.token}` };
    return [
      { method: 'GET', path: `/api/${u.id}/tasks?limit=50`, headers: auth },
      { method: 'POST', path: `/api/${u.id}/tasks`, headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ title: `mixed ${i}-${created++}` }) },
      { method: 'PATCH', path: `/api/${u.id}/tasks/${u.ids[i % u.ids.length]}/complete`, headers: auth },
      { method: 'GET', path: `/api/${u.id}/tasks?limit=50&sort=title`, headers: auth },
    ] as Request[];
  });

  const quiet = { list50: await load(list50, base), mixed: await load(mixed, base) };
  arrivals = []; // the mixed users have no webhooks: nothing arrives; start clean anyway

  let burstNo = 0;
  async function burst(during: Request[]) {
    burstNo++;
    arrivals = [];
    const started = Date.now();
    await pool(owners, 8, async (u) => {
      for (let k = 0; k < u.ids.length; k += 100) {
        const { status } = await call(base, u, 'POST', `/tasks/batch`, {
          atomic: true,
          operations: u.ids.slice(k, k + 100).map((id) => ({ op: 'update', id, task: { title: `burst ${burstNo} of ${id}` } })),
        });
        if (status !== 200) throw new Error(`burst of ${u.id}: ${status}`);
      }
    });
    const written = Date.now();
    const atStart = arrivals.length;
    const measured = await load(during, base);
    const inWindow = arrivals.length - atStart;
    const deadline = Date.now() + 300_000;
    while (arrivals.length < EVENTS && Date.now() < deadline) await sleep(200);
    await sleep(2000); // anything sent twice would come now
    const ids = new Set(arrivals.map((a) => a.id));
    const first = Math.min(...arrivals.map((a) => a.at));
    const last = Math.max(...arrivals.map((a) => a.at));
    const lags = arrivals.map((a) => a.lagMs).filter((l) => Number.isFinite(l));
    return {
      written: ((written - started) / 1000).toFixed(1),
      delivered: arrivals.length,
      distinct: ids.size,
      rate: Math.round(arrivals.length / ((last - first) / 1000)),
      p50: pct(lags, 50),
      p99: pct(lags, 99),
      inWindow,
      measured,
    };
  }

  const one = await burst(list50);
  const two = await burst(mixed);
  for (const [name, b, q] of [['list-50', one, quiet.list50], ['mixed', two, quiet.mixed]] as const) {
    console.log(
      `burst with ${name}: ${EVENTS} events written in ${b.written} s; delivered ${b.delivered} (${b.distinct} distinct webhook-ids, ${b.delivered - b.distinct} twice), ` +
        `${b.rate} events/s from the first to the last; lag p50 ${b.p50} ms, p99 ${b.p99} ms`,
    );
    console.log(
      `  ${name} (8 connections, 10 s): quiet ${q.rps} req/s (p99 ${q.p99} ms); during the burst ${b.measured.rps} req/s (p99 ${b.measured.p99} ms), ` +
        `${((b.measured.rps / q.rps) * 100).toFixed(0)}%; ${b.inWindow} deliveries arrived within those 10 s; non-2xx ${b.measured.non2xx}`,
    );
  }
} finally {
  await bench.stop();
  receiver.close();
  await scratch.drop();
}
