/**
 * Open connections are bounded per peer address and in all (MAX_CONNECTIONS_PER_IP,
 * MAX_CONNECTIONS): going over a bound first closes the oldest idle connection; when none is
 * idle, the newcomer's request is a 503 in the contract's format with Retry-After and
 * Connection: close. Over a real socket (app.inject has none).
 */
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { closed, openSocket, rawRequest } from '../helpers/raw-http.js';
import { join } from 'node:path';
import { scratchDir, sleep, startServer } from '../helpers/process.js';
import { faultToken, serverEnv } from '../faults/support.js';

const GET_HEALTH = 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
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
  const hanging = async (from = '127.0.0.1') => {
    const s = await open(from);
    s.write(HANGING);
    await sleep(30); // parsed: a request in flight
    return s;
  };

  it('one address over its bound: its oldest idle connection is closed, the newcomer is served', async () => {
    const first = await open();
    await open();
    await open();
    const served = rawRequest(port, GET_HEALTH);
    await closed(first);
    expect((await served).status).toBe(200);
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
    const idleOne = await open('127.0.0.2');
    await hanging('127.0.0.2');
    // 5 open, one of them idle: the newcomer from a third address closes it and is served.
    const served = rawRequest(port, GET_HEALTH, { localAddress: '127.0.0.3' });
    await closed(idleOne);
    expect((await served).status).toBe(200);
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
      // The idle connections hold an HTTP/1.1 keep-alive session each: a request answered, kept open.
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => rawRequest(server.port, GET_HEALTH, { localAddress: `127.0.1.${i + 1}` }).catch((e: Error) => e.message)));
      expect(answers.map((a) => (typeof a === 'string' ? a : a.status))).toEqual(Array(40).fill(200));
      const task = await fetch(`${server.url}/api/alice/tasks`, { headers: { authorization: `Bearer ${await faultToken('alice')}` } });
      expect(task.status).toBe(200);
    } finally {
      for (const s of sockets) s.destroy();
      await server.stop('SIGTERM');
    }
  }, 60_000);
});
