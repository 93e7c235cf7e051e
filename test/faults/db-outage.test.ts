/**
 * The database goes away under load and comes back: requests fail fast with 503, /ready says so,
 * /health does not, the service recovers by itself, and the database holds exactly the creates
 * that were acknowledged. Runs against a private PostgreSQL cluster (initdb + pg_ctl on a free port,
 * as the postgres OS user), so stopping it disturbs nobody else. FAULT_DEBUG_DIR=<dir> keeps the
 * server's log of the load test there.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  apiClient,
  contractErrorProblem,
  describeExchange,
  faultToken,
  findPgBin,
  freePort,
  jsonOf,
  keepAliveAgent,
  PgCluster,
  readAllTasks,
  run,
  send,
  serverEnv,
  sleep,
  startServer,
  waitFor,
  type Exchange,
  type Server,
} from './support.js';
import { routes } from '../helpers/api.js';
import { SERVER_JS } from '../helpers/process.js';

const PG_BIN = findPgBin();
const REQUIRED = Boolean(process.env.CI) || process.env.REQUIRE_POSTGRES === '1';
if (PG_BIN === undefined && REQUIRED) {
  throw new Error('db-outage: no PostgreSQL server binaries (initdb, pg_ctl) found; set PG_BIN. CI must run this test.');
}
if (PG_BIN === undefined) console.warn('db-outage: SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl) found; set PG_BIN to run it');
const suite = PG_BIN === undefined ? describe.skip : describe;

const TIMEOUT_MS = 2000;
/** What "fast" means for an answer while the database is down: well under the statement bound. */
const FAST_MS = TIMEOUT_MS + 500;
const WORKERS = 6;

interface CreateRecord {
  title: string;
  ex: Exchange;
  id?: number;
}
interface ToggleRecord {
  id: number;
  ex: Exchange;
}

suite('database outage (private PostgreSQL cluster)', () => {
  let cluster: PgCluster | undefined;
  let server: Server | undefined;
  const dirs: string[] = [];
  let databaseUrl = '';

  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'task-api-outage-'));
    dirs.push(d);
    return d;
  };
  const env = (extra: Record<string, string> = {}) =>
    serverEnv({ DATABASE_URL: databaseUrl, DATABASE_TIMEOUT_MS: String(TIMEOUT_MS), DATABASE_POOL_MAX: '5', DATA_DIR: tempDir(), ...extra });

  beforeAll(async () => {
    cluster = await PgCluster.create();
    await cluster.start();
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe('create database tasks');
    await admin.end({ timeout: 5 });
    databaseUrl = cluster.url('tasks');
  }, 90_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await cluster?.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('under write load: 503 fast while down, /ready 503 and /health 200, recovery without a restart, exactly the acknowledged creates stored', async () => {
    const c = cluster as PgCluster;
    server = await startServer(tempDir(), env());
    const s = server;
    const runId = `o${Date.now().toString(36)}`;
    const agent = keepAliveAgent(WORKERS + 4);
    const creates: CreateRecord[] = [];
    const toggles: ToggleRecord[] = [];
    let stop = false;
    const loadDeadline = performance.now() + 25_000; // hard bound on the load, whatever happens

    const worker = async (w: number) => {
      const user = `${runId}_w${w}`;
      const api = await apiClient(s.url, user, agent, 5000);
      const mine: number[] = [];
      for (let n = 0; n < 4000 && !stop && performance.now() < loadDeadline; n++) {
        const title = `${user}_${n}`;
        const ex = await api.create({ title });
        const rec: CreateRecord = { title, ex };
        if (ex.status === 201) {
          rec.id = (jsonOf(ex) as { data: { id: number } }).data.id;
          mine.push(rec.id);
        }
        creates.push(rec);
        if (n % 3 === 2 && mine.length > 0) {
          const id = mine[(n * 7) % mine.length] as number;
          toggles.push({ id, ex: await api.toggle(id) });
        }
        if (ex.status !== 201) await sleep(5); // no tight loop while the database is down
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));

    try {
      await sleep(1500);
      const stopStart = performance.now();
      await c.stop('fast');
      const stopEnd = performance.now();

      // Down: probes, and a token in a query string on a failing request (it must not reach the log).
      await sleep(300);
      const probes: { ready: Exchange[]; health: Exchange[] } = { ready: [], health: [] };
      const queryToken = await faultToken(`${runId}_w0`);
      const leaky = await send(s.url, 'GET', `${routes.tasks(`${runId}_w0`)}?access_token=${queryToken}`, {
        headers: { authorization: `Bearer ${await faultToken(`${runId}_w0`)}` },
        timeoutMs: FAST_MS + 2000,
      });
      for (let i = 0; i < 3; i++) {
        probes.ready.push(await send(s.url, 'GET', routes.ready, { timeoutMs: FAST_MS + 2000 }));
        probes.health.push(await send(s.url, 'GET', routes.health, { timeoutMs: FAST_MS + 2000 }));
        await sleep(300);
      }
      await sleep(Math.max(0, stopEnd + 3500 - performance.now()));
      const restartStart = performance.now();
      await c.start();
      const restartEnd = performance.now();

      const ready = async () => (await send(s.url, 'GET', routes.ready, { timeoutMs: 5000 })).status === 200;
      const recoveryMs = await waitFor('/ready to answer 200 again under the load', ready, 30_000, 100).catch((err: unknown) => {
        // A server that died says so (postgres.js 3.4.9 crashed it here: patches/postgres-3.4.9-closed-connection.patch).
        const exit = s.child.exitCode ?? s.child.signalCode;
        throw exit === null ? err : new Error(`the server exited (${exit}) during the outage: ${s.stderr().slice(-2000)}`);
      });
      const recoveredAt = performance.now();
      await sleep(1500);
      stop = true;
      await load;
      agent.destroy();

      // The server never went away, never reset a connection, never answered anything but 2xx or 503.
      expect(s.child.exitCode, 'the server process must not exit').toBeNull();
      const all = [...creates.map((r) => r.ex), ...toggles.map((t) => t.ex)];
      // Times relative to the start of the stop, for the messages.
      const at = (e: Exchange) =>
        `${describeExchange(e)} (started ${(e.startedAt - stopStart).toFixed(0)} ms after the stop began; ` +
        `stop done at ${(stopEnd - stopStart).toFixed(0)}, restart at ${(restartStart - stopStart).toFixed(0)}-${(restartEnd - stopStart).toFixed(0)})`;
      const socketErrors = all.filter((e) => e.error !== undefined);
      expect.soft(socketErrors.map(at), 'socket errors').toEqual([]);
      const unexpected = all.filter((e) => e.status !== 201 && e.status !== 200 && e.status !== 503);
      expect.soft(unexpected.map(at), 'statuses other than 200, 201, 503').toEqual([]);
      const badBodies = all
        .filter((e) => e.status === 503)
        .flatMap((e) => {
          const problem = contractErrorProblem(503, e.body) ?? ((jsonOf(e) as { code?: string }).code === 'SERVICE_UNAVAILABLE' ? undefined : 'not SERVICE_UNAVAILABLE');
          return problem ? [`${describeExchange(e)}: ${problem}`] : [];
        });
      expect.soft(badBodies, '503 bodies').toEqual([]);

      // While it was down, every request got 503 SERVICE_UNAVAILABLE, fast.
      const duringOutage = all.filter((e) => e.startedAt > stopEnd && e.startedAt < restartStart);
      expect.soft(duringOutage.length, 'requests made while the database was down').toBeGreaterThan(10);
      const answeredWhileDown = duringOutage.filter((e) => e.endedAt < restartStart);
      expect.soft(answeredWhileDown.filter((e) => e.status !== 503).map(at), 'non-503 during the outage').toEqual([]);
      const slow = duringOutage.filter((e) => e.ms > FAST_MS);
      expect.soft(slow.map(at), `answers slower than ${FAST_MS} ms during the outage`).toEqual([]);

      for (const r of probes.ready) {
        expect(r.status, describeExchange(r)).toBe(503);
        expect(jsonOf(r)).toEqual({ error: expect.any(String), code: 'SERVICE_UNAVAILABLE', detail: expect.any(String) });
        expect.soft(r.ms).toBeLessThan(FAST_MS);
      }
      for (const h of probes.health) {
        expect(h.status, describeExchange(h)).toBe(200);
        expect(jsonOf(h)).toEqual({ status: 'healthy' });
      }
      expect.soft(leaky.status, describeExchange(leaky)).toBe(503);

      // Recovery: by itself, and then writes succeed.
      expect(recoveryMs, 'time from restart to /ready 200').toBeLessThan(30_000);
      const afterRecovery = creates.filter((r) => r.ex.startedAt > recoveredAt + 500);
      expect(afterRecovery.length, 'creates after recovery').toBeGreaterThan(5);
      expect(afterRecovery.filter((r) => r.ex.status !== 201).map((r) => describeExchange(r.ex)), 'failed creates after recovery').toEqual([]);
      const beforeOutage = creates.filter((r) => r.ex.endedAt < stopStart);
      expect(beforeOutage.length).toBeGreaterThan(5);
      expect(beforeOutage.every((r) => r.ex.status === 201)).toBe(true);

      // The database holds exactly what was acknowledged.
      const rows = (await readAllTasks(databaseUrl)).filter((r) => r.user_id.startsWith(`${runId}_`));
      const byTitle = new Map(rows.map((r) => [r.title, r]));
      const acknowledged = creates.filter((r) => r.ex.status === 201);
      const lost = acknowledged.filter((r) => byTitle.get(r.title)?.id !== r.id).map((r) => r.title);
      expect(lost, 'creates answered 201 but not in the database').toEqual([]);
      const ackTitles = new Set(acknowledged.map((r) => r.title));
      const phantom = rows.filter((r) => !ackTitles.has(r.title)).map((r) => r.title);
      expect(phantom, 'rows whose create was not answered 2xx').toEqual([]);
      expect(rows.length).toBe(acknowledged.length);

      // Toggles: for a task whose toggles were all answered 200, the row has the last answered state.
      const togglesById = new Map<number, ToggleRecord[]>();
      for (const t of toggles) togglesById.set(t.id, [...(togglesById.get(t.id) ?? []), t]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      let checked = 0;
      for (const [id, ts] of togglesById) {
        if (!ts.every((t) => t.ex.status === 200)) continue;
        const last = ts.reduce((a, b) => (b.ex.startedAt > a.ex.startedAt ? b : a));
        expect(byId.get(id)?.completed, `task ${id} after ${ts.length} toggles`).toBe((jsonOf(last.ex) as { data: { completed: boolean } }).data.completed);
        checked++;
      }
      expect(checked).toBeGreaterThan(5);

      // No token from a query string reached the log, even on a failing request.
      expect.soft(s.output().includes(queryToken), 'a query-string token appears in the server log').toBe(false);

      console.info(
        `db-outage: ${creates.length} creates (${acknowledged.length} acknowledged), ${toggles.length} toggles; ` +
          `${duringOutage.length} requests during the outage, slowest ${Math.max(...duringOutage.map((e) => e.ms)).toFixed(0)} ms; ` +
          `stop took ${(stopEnd - stopStart).toFixed(0)} ms, restart ${(restartEnd - restartStart).toFixed(0)} ms, recovery ${recoveryMs.toFixed(0)} ms`,
      );
    } finally {
      if (process.env.FAULT_DEBUG_DIR) (await import('node:fs')).writeFileSync(join(process.env.FAULT_DEBUG_DIR, 'db-outage-server.log'), s.output());
      stop = true;
      await load;
      agent.destroy();
      if (!(await c.running())) await c.start();
      await server?.stop('SIGTERM');
      server = undefined;
    }
  }, 60_000);

  it('a frozen database (every server process stopped): 503 within the bound, /ready 503, recovery when it thaws', async () => {
    const c = cluster as PgCluster;
    server = await startServer(tempDir(), env());
    const api = await apiClient(server.url, `frozen_${Date.now().toString(36)}`);
    expect((await api.create({ title: 'before the freeze' })).status).toBe(201);
    const postmaster = Number(readFileSync(join(c.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const tree = [postmaster, ...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })];
    for (const pid of tree) process.kill(pid, 'SIGSTOP');
    try {
      const answers = await Promise.all([api.list(), api.create({ title: 'during the freeze' }), send(server.url, 'GET', routes.ready)]);
      for (const a of answers) {
        expect(a.status, describeExchange(a)).toBe(503);
        expect(contractErrorProblem(503, a.body)).toBeUndefined();
        // DATABASE_TIMEOUT_MS plus the client-side margin (500 ms) plus scheduling.
        expect(a.ms, describeExchange(a)).toBeLessThan(TIMEOUT_MS + 1500);
      }
    } finally {
      for (const pid of tree) process.kill(pid, 'SIGCONT');
    }
    await waitFor('the service to answer again', async () => (await send(server!.url, 'GET', routes.ready)).status === 200, 20_000);
    expect((await api.create({ title: 'after the thaw' })).status).toBe(201);
    await server.stop('SIGTERM');
    server = undefined;
  }, 60_000);

  it('a database that is down at start is waited for (DATABASE_CONNECT_RETRY_MS), then the server comes up', async () => {
    const c = cluster as PgCluster;
    await c.stop('fast');
    const starting = startServer(tempDir(), env({ DATABASE_CONNECT_RETRY_MS: '20000' }), 30_000);
    starting.catch(() => {}); // awaited below
    await sleep(2000);
    await c.start();
    server = await starting;
    const ready = await send(server.url, 'GET', routes.ready);
    expect(ready.status, describeExchange(ready)).toBe(200);
    const api = await apiClient(server.url, `late_${Date.now().toString(36)}`);
    expect((await api.create({ title: 'after a late database' })).status).toBe(201);
    expect(await server.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    server = undefined;
  }, 45_000);

  it('an unreachable database at start: exit 1 after DATABASE_CONNECT_RETRY_MS, with one "Failed to start:" line', async () => {
    const closed = await freePort();
    const password = 'pw-never-printed-5f3a';
    const res = await run(process.execPath, [SERVER_JS], {
      cwd: tempDir(),
      env: serverEnv({
        PORT: String(await freePort()),
        DATA_DIR: tempDir(),
        DATABASE_URL: `postgresql://postgres:${password}@127.0.0.1:${closed}/tasks`,
        DATABASE_CONNECT_RETRY_MS: '1500',
        DATABASE_TIMEOUT_MS: String(TIMEOUT_MS),
      }),
      timeoutMs: 20_000,
    });
    expect(res.timedOut, 'still running after 20 s').toBe(false);
    expect({ code: res.code, signal: res.signal }).toEqual({ code: 1, signal: null });
    const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, res.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^Failed to start: /);
    expect(lines[0]).toMatch(/database/i);
    expect(lines[0]).toMatch(/unreachable/i);
    expect(res.stderr + res.stdout, 'the password must not be printed').not.toContain(password);
    // It retried (rather than giving up at the first refusal), and did not linger past the window.
    expect(res.ms).toBeGreaterThan(1500 / 2);
    expect(res.ms).toBeLessThan(1500 + 6000);
  }, 30_000);
});
