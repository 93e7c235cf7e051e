/**
 * SIGTERM under load: the server stops accepting, finishes what it was doing, closes the pool and
 * exits 0. Requests sent before the signal all get a 2xx; requests sent after it are refused (or
 * answered, or 503 "closing"), never a 500; every create answered 201 is there after a restart.
 * FAULT_DEBUG_DIR=<dir> keeps the server's log there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import { drivers, TEST_DATABASE_URL } from '../helpers/databases.js';
import {
  apiClient,
  contractErrorProblem,
  describeExchange,
  faultToken,
  jsonOf,
  keepAliveAgent,
  scratchDatabase,
  serverEnv,
  sleep,
  startServer,
  type Exchange,
  type ScratchDatabase,
  type Server,
} from './support.js';
import { routes } from '../helpers/api.js';

const CLIENTS = 32;
/**
 * A request written this close before the signal may reach the server after it (the kernel and the
 * event loop decide): it counts as sent after. Anything sent earlier was in flight and must finish.
 */
const RACE_MS = 100;
/** Socket errors expected once the server stops accepting. */
const REFUSALS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

interface Rec {
  user: string;
  kind: 'create' | 'list';
  title?: string;
  ex: Exchange;
}

describe.each(drivers)('graceful shutdown under load [%s]', (driver) => {
  const dirs: string[] = [];
  const servers: Server[] = [];
  let scratch: ScratchDatabase | undefined;

  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await scratch?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 30_000);

  it('SIGTERM mid-load: in-flight requests finish 2xx, later ones are refused, exit 0, every 201 survives a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'task-api-shutdown-'));
    dirs.push(dataDir);
    if (driver === 'postgres') scratch = await scratchDatabase(TEST_DATABASE_URL as string, { prefix: 'task_api_shutdown' });
    const env = serverEnv({ DATA_DIR: dataDir, ...(scratch ? { DATABASE_URL: scratch.url } : {}) });
    const server = await startServer(dataDir, env);
    servers.push(server);

    const runId = `s${Date.now().toString(36)}`;
    const agent = keepAliveAgent(CLIENTS);
    const recs: Rec[] = [];
    let signalAt = Number.POSITIVE_INFINITY;
    const deadline = performance.now() + 20_000;

    const client = async (c: number) => {
      const user = `${runId}_c${c}`;
      const api = await apiClient(server.url, user, agent, 10_000);
      for (let n = 0; n < 3000 && performance.now() < deadline; n++) {
        // After the signal: keep going until refused, for at most 3 s.
        if (performance.now() > signalAt + 3000) break;
        let rec: Rec;
        if (n % 4 === 3) {
          rec = { user, kind: 'list', ex: await api.list() };
        } else {
          const title = `${user}_${n}`;
          rec = { user, kind: 'create', title, ex: await api.create({ title }) };
        }
        recs.push(rec);
        if (rec.ex.error !== undefined && rec.ex.startedAt > signalAt) break;
        if (rec.ex.status !== undefined && rec.ex.status >= 500) await sleep(10);
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    await sleep(1500);
    if (process.env.FAULT_DEBUG_DIR && server.child.exitCode !== null) (await import('node:fs')).writeFileSync(join(process.env.FAULT_DEBUG_DIR, `shutdown-early-${driver}.log`), server.output());
    expect(server.child.exitCode, `the server stopped before the signal:\n${server.output().slice(-3000)}`).toBeNull();
    const signalWall = Date.now();
    signalAt = performance.now();
    server.child.kill('SIGTERM');
    const exitTimer = sleep(15_000).then(() => 'timeout' as const);
    const exit = await Promise.race([server.exited, exitTimer]);
    const exitedAt = performance.now();
    await load;
    agent.destroy();

    if (process.env.FAULT_DEBUG_DIR) (await import('node:fs')).writeFileSync(join(process.env.FAULT_DEBUG_DIR, `shutdown-${driver}.log`), server.output());
    // The shutdown must be ours: a stray signal from elsewhere would make the rest meaningless.
    const shutdownLine = server.logLines().find((l) => typeof l.msg === 'string' && l.msg.startsWith('shutting down'));
    expect(shutdownLine, 'the server logs its shutdown').toBeDefined();
    expect((shutdownLine?.time as number) + 5, `the server began shutting down before our SIGTERM (signal ${String(shutdownLine?.signal)})`).toBeGreaterThanOrEqual(signalWall);
    expect(exit, `exit after SIGTERM:\n${server.output().slice(-2000)}`).toEqual({ code: 0, signal: null });
    expect(exitedAt - signalAt, 'time from SIGTERM to exit').toBeLessThan(10_000);

    const before = recs.filter((r) => r.ex.startedAt < signalAt - RACE_MS);
    const after = recs.filter((r) => r.ex.startedAt >= signalAt - RACE_MS);
    expect(before.length, 'requests before the signal').toBeGreaterThan(100);

    // Sent before the signal: every one answered, 2xx.
    const failedBefore = before.filter((r) => r.ex.status === undefined || r.ex.status < 200 || r.ex.status > 299);
    expect.soft(failedBefore.map((r) => `${describeExchange(r.ex)} (sent ${(signalAt - r.ex.startedAt).toFixed(0)} ms before SIGTERM)`), 'requests sent before SIGTERM without a 2xx').toEqual([]);

    // Sent after: a 2xx, a contract 503, or refused. Never another status, never another socket error.
    const badAfter = after.filter((r) => {
      if (r.ex.error !== undefined) return !REFUSALS.has(r.ex.error);
      if (r.ex.status !== undefined && r.ex.status >= 200 && r.ex.status < 300) return false;
      return !(r.ex.status === 503 && contractErrorProblem(503, r.ex.body) === undefined);
    });
    expect.soft(badAfter.map((r) => `${describeExchange(r.ex)} (sent ${(r.ex.startedAt - signalAt).toFixed(0)} ms after SIGTERM)`), 'requests after SIGTERM answered other than 2xx / contract 503 / refused').toEqual([]);
    expect(after.some((r) => r.ex.error !== undefined), 'after SIGTERM, new connections are refused').toBe(true);

    // Restart on the same data: every acknowledged create is there, no create answered non-2xx is.
    const again = await startServer(dataDir, env);
    servers.push(again);
    const acknowledged = new Map<string, Set<string>>();
    const rejected = new Map<string, Set<string>>();
    for (const r of recs) {
      if (r.kind !== 'create' || r.title === undefined) continue;
      const target = r.ex.status === 201 ? acknowledged : r.ex.status !== undefined ? rejected : undefined;
      if (target === undefined) continue;
      target.set(r.user, (target.get(r.user) ?? new Set()).add(r.title));
    }
    const missing: string[] = [];
    const phantoms: string[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const user = `${runId}_c${c}`;
      const res = await (await apiClient(again.url, user)).list();
      expect(res.status, describeExchange(res)).toBe(200);
      const stored = new Set((jsonOf(res) as { data: { title: string }[] }).data.map((t) => t.title));
      for (const title of acknowledged.get(user) ?? []) if (!stored.has(title)) missing.push(title);
      for (const title of rejected.get(user) ?? []) if (stored.has(title)) phantoms.push(title);
    }
    expect(missing, 'creates answered 201 but missing after the restart').toEqual([]);
    expect(phantoms, 'creates answered non-2xx but stored').toEqual([]);
    expect(await again.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const count = (pred: (r: Rec) => boolean) => recs.filter(pred).length;
    console.info(
      `shutdown [${driver}]: ${recs.length} requests, ${before.length} before SIGTERM (all 2xx: ${failedBefore.length === 0}), ` +
        `${after.length} after: ${count((r) => r.ex.startedAt >= signalAt - RACE_MS && r.ex.status !== undefined && r.ex.status < 300)} 2xx, ` +
        `${count((r) => r.ex.startedAt >= signalAt - RACE_MS && r.ex.status === 503)} 503, ` +
        `${count((r) => r.ex.startedAt >= signalAt - RACE_MS && r.ex.error !== undefined)} refused; exit in ${(exitedAt - signalAt).toFixed(0)} ms`,
    );
  }, 60_000);

  it('writes whose clients hung up are still running or queued at SIGTERM: they finish before the pool closes, no query fails, exit 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'task-api-shutdown-'));
    dirs.push(dataDir);
    const db = driver === 'postgres' ? await scratchDatabase(TEST_DATABASE_URL as string, { prefix: 'task_api_shutdown' }) : undefined;
    const env = serverEnv({ DATA_DIR: dataDir, ...(db ? { DATABASE_URL: db.url } : {}) });
    try {
      const server = await startServer(dataDir, env);
      servers.push(server);
      const user = `hangup${Date.now().toString(36)}`;
      const token = await faultToken(user);
      const { port } = new URL(server.url);
      // 80 creates of one user, each on its own socket that is closed right after the request
      // is written: the server has them all (the user's writes wait their turn), no one waits.
      const sent = await Promise.all(
        Array.from({ length: 80 }, (_, i) => rawRequest(Number(port), `POST ${routes.tasks(user)} HTTP/1.1`, token, JSON.stringify({ title: `hung up ${i}` }))),
      );
      expect(sent.every(Boolean)).toBe(true);
      await sleep(20);
      server.child.kill('SIGTERM');
      expect(await Promise.race([server.exited, sleep(12_000).then(() => 'timeout')])).toEqual({ code: 0, signal: null });
      const failed = server.logLines().filter((l) => (l.level as number) >= 50);
      expect(failed.map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '')}`.slice(0, 200))).toEqual([]);
      expect(server.output()).not.toContain('CONNECTION_ENDED');
      // What ran is there: every create that reached the server ran to its end or not at all.
      const again = await startServer(dataDir, env);
      servers.push(again);
      const res = await (await apiClient(again.url, user)).list();
      const titles = (jsonOf(res) as { data: { title: string }[] }).data.map((t) => t.title);
      expect(titles.length).toBeGreaterThan(0);
      expect(new Set(titles).size).toBe(titles.length);
      expect(await again.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await db?.drop();
    }
  }, 60_000);
});

/** Writes one request on a fresh socket and closes it at once; true once written. */
function rawRequest(port: number, line: string, token: string, body: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(
        `${line}\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        () => {
          socket.destroy();
          resolve(true);
        },
      );
    });
    socket.on('error', () => resolve(false));
  });
}
