/**
 * Open connections are bounded per peer address and in all (MAX_CONNECTIONS_PER_IP,
 * MAX_CONNECTIONS): going over a bound first closes the oldest idle keep-alive connection, or
 * refuses one that has sent nothing for 1 s; when none is idle, the newcomer's request is a 503
 * in the contract's format with Retry-After and Connection: close. A connection whose request may
 * still be on its way is never closed unanswered: a burst from one address against the server
 * process reads 200s and 503s, no resets. Over real sockets (app.inject has none).
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testConfig } from '../../src/config.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { burst, closed, openSocket, rawRequest, type BurstOutcome } from '../helpers/raw-http.js';
import { join } from 'node:path';
import { run, scratchDir, sleep, startServer } from '../helpers/process.js';
import { faultToken, serverEnv, type Server } from '../faults/support.js';
import { drivers, freshDatabase, type TestDatabase } from '../helpers/databases.js';
import { api } from '../helpers/api.js';

const GET_HEALTH = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
const GET_HEALTH_KEEP_ALIVE = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
/** A request whose body never comes: in flight until the socket goes. */
const HANGING = 'POST /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{';
const TOO_MANY = 'Too many open connections; retry shortly';

describe('connection limits (per IP 3, in all 5)', () => {
  let t: TestApp;
  let port: number;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    t = await buildTestApp('embedded', { maxConnectionsPerIp: 3, maxConnections: 5 });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await sleep(50); // the server sees the closes
  });
  afterAll(async () => t?.close());

  const open = async (from = '127.0.0.1') => {
    const s = await openSocket(port, from);
    sockets.push(s);
    return s;
  };
  /** A keep-alive connection whose one request was answered: idle. */
  const keptAlive = async (from = '127.0.0.1') => {
    const s = await open(from);
    const answered = new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.write(GET_HEALTH_KEEP_ALIVE);
    await answered;
    await sleep(10); // the server has seen the response finish
    return s;
  };
  const hanging = async (from = '127.0.0.1') => {
    const s = await open(from);
    s.write(HANGING);
    await sleep(30); // parsed: a request in flight
    return s;
  };

  it('one address over its bound: its oldest idle keep-alive connection is closed, the newcomer is served', async () => {
    const first = await keptAlive();
    await keptAlive();
    await keptAlive();
    const served = rawRequest(port, GET_HEALTH);
    await closed(first);
    expect((await served).status).toBe(200);
  });

  it('one address over its bound: its oldest connection silent for 1 s is refused in the newcomer\'s place, and its late request reads the 503', async () => {
    const first = await open();
    await open();
    await open();
    await sleep(1100);
    expect((await rawRequest(port, GET_HEALTH)).status).toBe(200);
    expect(first.destroyed).toBe(false);
    const late = await rawRequest(port, GET_HEALTH, { socket: first });
    expect({ status: late.status, body: late.body }).toEqual({ status: 503, body: { error: TOO_MANY, code: 'SERVICE_UNAVAILABLE', detail: TOO_MANY } });
    expect(late.headers).toMatchObject({ 'retry-after': '1', connection: 'close' });
  });

  it('one address over its bound: connections silent for less than 1 s are not closed for room, the newcomer is refused', async () => {
    const first = await open();
    await open();
    await open();
    const refused = await rawRequest(port, GET_HEALTH);
    expect(refused.status).toBe(503);
    // The first one's request, however late, is answered.
    expect(first.destroyed).toBe(false);
    expect((await rawRequest(port, GET_HEALTH, { socket: first })).status).toBe(200);
  });

  it('one address over its bound with nothing idle: 503 in the contract format, Retry-After, Connection: close', async () => {
    for (let i = 0; i < 3; i++) await hanging();
    const res = await rawRequest(port, GET_HEALTH);
    expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: { error: TOO_MANY, code: 'SERVICE_UNAVAILABLE', detail: TOO_MANY } });
    expect(res.headers).toMatchObject({ 'retry-after': '1', connection: 'close', 'x-content-type-options': 'nosniff' });
    expect(res.headers['x-request-id']).toBeDefined();
    // Another address is not affected.
    expect((await rawRequest(port, GET_HEALTH, { localAddress: '127.0.0.2' })).status).toBe(200);
  });

  it('in all: over the bound, an idle connection of anyone is closed first; with nothing idle, 503', async () => {
    for (let i = 0; i < 3; i++) await hanging('127.0.0.1');
    const idleOne = await keptAlive('127.0.0.2');
    await hanging('127.0.0.2');
    // 5 open, one of them idle: the newcomer from a third address closes it and is served.
    const served = rawRequest(port, GET_HEALTH, { localAddress: '127.0.0.3' });
    await closed(idleOne);
    expect((await served).status).toBe(200);
    // One silent for 1 s is refused in the newcomer's place: its late request reads the 503.
    const silentOne = await open('127.0.0.3');
    await sleep(1100);
    expect((await rawRequest(port, GET_HEALTH, { localAddress: '127.0.0.5' })).status).toBe(200);
    expect((await rawRequest(port, GET_HEALTH, { socket: silentOne })).status).toBe(503);
    await hanging('127.0.0.3');
    // 5 open, all busy.
    const refused = await rawRequest(port, GET_HEALTH, { localAddress: '127.0.0.4' });
    expect({ status: refused.status, code: (refused.body as { code: string }).code }).toEqual({ status: 503, code: 'SERVICE_UNAVAILABLE' });
  });

  it('a connection accepted over the bound that sends nothing is closed within seconds', async () => {
    for (let i = 0; i < 3; i++) await hanging();
    const silent = await open();
    const started = Date.now();
    await closed(silent);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('keep-alive lasts 65 s by default, longer than a load balancer idle timeout of 60 s', () => {
    expect(t.app.server.keepAliveTimeout).toBe(65_000);
  });
});

describe('the server process with 1,024 file descriptors (the defaults: 896 in all, 256 per address)', () => {
  it('1,100 idle keep-alive connections from one client: everyone else still gets in', async () => {
    const dir = scratchDir('task-api-conns-');
    const server = await startServer(dir, serverEnv({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'info' }), 30_000, { prefix: ['prlimit', '--nofile=1024'] });
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 1100; i += 100) {
        const batch = await Promise.allSettled(Array.from({ length: 100 }, () => openSocket(server.port, '127.0.0.9')));
        for (const r of batch) if (r.status === 'fulfilled') sockets.push(r.value);
      }
      // The 1,100 send nothing: 256 hold the address's bound, the others are refused and closed.
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => rawRequest(server.port, GET_HEALTH, { localAddress: `127.0.1.${i + 1}` }).catch((e: Error) => e.message)));
      expect(answers.map((a) => (typeof a === 'string' ? a : a.status))).toEqual(Array(40).fill(200));
      const task = await (await api(server.url, 'alice', { token: await faultToken('alice') })).list();
      expect(task.statusCode).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      await server.stop('SIGTERM');
    }
  }, 60_000);
});

/** What the connections of a burst that sent a request read, counted by kind. */
function tally(outcomes: BurstOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { sent, answer, failure } of outcomes) {
    if (!sent) continue;
    let kind = answer === undefined ? `no answer: ${failure}` : String(answer.status);
    if (answer?.status === 503) kind += ` ${(answer.body as { code?: string }).code} retry-after=${answer.headers['retry-after']} connection=${answer.headers.connection}`;
    if (answer !== undefined && failure !== undefined) kind += `, then ${failure}`;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
const REFUSED = '503 SERVICE_UNAVAILABLE retry-after=1 connection=close';

describe.each(drivers)('a burst of new connections from one address, against the server process [%s]', (driver) => {
  let fresh: TestDatabase;
  let small: Server;
  let defaults: Server;
  beforeAll(async () => {
    fresh = await freshDatabase(driver);
    const env = (extra: Record<string, string> = {}) => serverEnv({ DATA_DIR: join(scratchDir('task-api-burst-'), 'data'), DATABASE_URL: fresh.url, ...extra });
    [small, defaults] = await Promise.all([startServer(scratchDir('task-api-burst-'), env({ MAX_CONNECTIONS_PER_IP: '3', MAX_CONNECTIONS: '64' })), startServer(scratchDir('task-api-burst-'), env())]);
  });
  afterAll(async () => {
    await Promise.all([small?.stop('SIGTERM'), defaults?.stop('SIGTERM')]);
    await fresh?.drop();
  });

  it('300 at once over a bound of 3 per address, 100 silent ones among them: each reads a 200 or the 503, none is reset or closed unanswered', async () => {
    const outcomes = await burst(small.port, GET_HEALTH, { sockets: 400, silentEvery: 4 });
    // Each reads one of the two (how many of each depends on how fast the machine serves them).
    expect(Object.keys(tally(outcomes)).filter((kind) => kind !== '200' && kind !== REFUSED)).toEqual([]);
    expect(outcomes.filter((o) => !o.sent && o.answer !== undefined)).toEqual([]);
  });

  it('300 at once from 100 addresses over a bound of 64 in all: each reads a 200 or the 503', async () => {
    const outcomes = (await Promise.all(Array.from({ length: 100 }, (_, i) => burst(small.port, GET_HEALTH, { sockets: 3, localAddress: `127.0.2.${i + 1}` })))).flat();
    expect(Object.keys(tally(outcomes)).filter((kind) => kind !== '200' && kind !== REFUSED)).toEqual([]);
    expect(outcomes).toHaveLength(300);
  });

  it('the accept queue holds a burst: the listen backlog is MAX_CONNECTIONS (at least 511), up to net.core.somaxconn', async (ctx) => {
    // A listening socket's Send-Q in ss is its backlog. Node's own 511 overflowed under 2,000 at once.
    const ss = await run('ss', ['-ltn', `sport = :${defaults.port}`], { timeoutMs: 5000 }).catch(() => undefined);
    if (ss?.code !== 0) return ctx.skip('ss is not installed');
    const [, , backlog] = (ss.stdout.trim().split('\n')[1] ?? '').split(/\s+/);
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    expect(Number(backlog)).toBe(Math.min(somaxconn, Math.max(511, testConfig().maxConnections)));
  });

  it('with the defaults (256 per address), 1,000 at once, 200 silent ones among them: each reads a 200 or the 503', async () => {
    const outcomes = await burst(defaults.port, GET_HEALTH, { sockets: 1200, silentEvery: 6 });
    const counts = tally(outcomes);
    expect(Object.keys(counts).filter((kind) => kind !== '200' && kind !== REFUSED)).toEqual([]);
    expect((counts['200'] ?? 0) + (counts[REFUSED] ?? 0)).toBe(1000);
  });
});
