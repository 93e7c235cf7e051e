/**
 * Behind a transaction pooler (a private PgBouncer, pool_mode = transaction, in front of the test
 * PostgreSQL server), with prepared statements off: migrations run, CRUD works, concurrent toggles
 * stay atomic, and a restart works. This is how Neon's pooled URLs and most PaaS poolers behave.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../helpers/databases.js';
import { NEW_TASK_DEFAULTS } from '../helpers/task-json.js';
import { SERVER_JS } from '../helpers/process.js';
import {
  apiClient,
  describeExchange,
  findPgBouncer,
  freePort,
  jsonOf,
  migrationCounts,
  run,
  scratchDatabase,
  send,
  serverEnv,
  startPgBouncer,
  startServer,
  type PgBouncer,
  type ScratchDatabase,
  type Server,
} from './support.js';
import { routes } from '../helpers/api.js';

const PGBOUNCER = findPgBouncer();
const MUST_RUN = Boolean(process.env.CI) || process.env.REQUIRE_PGBOUNCER === '1';
if (PGBOUNCER === undefined && MUST_RUN) {
  throw new Error('pgbouncer is not installed (apt-get install -y pgbouncer) but CI / REQUIRE_PGBOUNCER=1 requires this test');
}
const skipReason =
  PGBOUNCER === undefined
    ? 'pgbouncer is not installed (apt-get install -y pgbouncer)'
    : TEST_DATABASE_URL === undefined
      ? 'TEST_DATABASE_URL is not set (PgBouncer needs a PostgreSQL server behind it)'
      : undefined;
if (skipReason !== undefined) console.warn(`pgbouncer: SKIPPED: ${skipReason}`);
const suite = skipReason === undefined ? describe : describe.skip;

const POOL_SIZE = 3;
const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

suite('behind PgBouncer in transaction mode (DATABASE_PREPARE=false)', () => {
  let bouncer: PgBouncer | undefined;
  let db: ScratchDatabase | undefined;
  let server: Server | undefined;
  let viaBouncer = '';
  let dataDir = '';
  const env = (url = viaBouncer, extra: Record<string, string> = { DATABASE_PREPARE: 'false' }) =>
    serverEnv({ DATA_DIR: dataDir, DATABASE_URL: url, DATABASE_POOL_MAX: '10', ...extra });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'task-api-pgbouncer-data-'));
    const upstream = new URL(TEST_DATABASE_URL as string);
    db = await scratchDatabase(TEST_DATABASE_URL as string, { prefix: 'task_api_pgbouncer' });
    bouncer = await startPgBouncer(PGBOUNCER as string, { host: upstream.hostname, port: Number(upstream.port || 5432) }, { poolSize: POOL_SIZE });
    viaBouncer = `postgresql://postgres@127.0.0.1:${bouncer.port}/${db.name}`;
    server = await startServer(dataDir, env());
  }, 60_000);

  afterAll(async () => {
    await server?.stop('SIGKILL');
    await bouncer?.stop();
    await db?.drop();
    if (dataDir !== '') rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('migrations run through the pooler, once', async () => {
    const counts = await migrationCounts((db as ScratchDatabase).url);
    expect(counts.applied).toBe(counts.shipped);
    expect(counts.applied).toBeGreaterThan(0);
    const ready = await send((server as Server).url, 'GET', routes.ready);
    expect(ready.status, describeExchange(ready)).toBe(200);
  });

  it('CRUD works, and the server holds no more backend connections than the pool', async () => {
    const s = server as Server;
    const user = `pgb_${Date.now().toString(36)}`;
    const api = await apiClient(s.url, user);

    const created = await api.create({ title: 'through the pooler', description: 'pgbouncer' });
    expect(created.status, describeExchange(created)).toBe(201);
    const task = (jsonOf(created) as { data: { id: number; created_at: string } }).data;
    expect(jsonOf(created)).toEqual({
      data: {
        id: expect.any(Number),
        user_id: user,
        title: 'through the pooler',
        description: 'pgbouncer',
        completed: false,
        ...NEW_TASK_DEFAULTS,
        created_at: expect.stringMatching(ISO_Z),
        updated_at: task.created_at,
      },
      message: 'Task created successfully',
    });
    expect(jsonOf(await api.get(task.id))).toEqual({ data: task, message: 'Task retrieved successfully' });
    for (const query of ['', '?status=pending', '?status=completed']) {
      const list = await api.list(query);
      expect(list.status, describeExchange(list)).toBe(200);
      expect((jsonOf(list) as { data: unknown[] }).data, query).toEqual(query === '?status=completed' ? [] : [task]);
    }
    const put = await api.put(task.id, { title: 'renamed', description: null });
    expect(put.status, describeExchange(put)).toBe(200);
    expect((jsonOf(put) as { data: object }).data).toMatchObject({ id: task.id, title: 'renamed', description: null, completed: false });
    const toggled = await api.toggle(task.id);
    expect(jsonOf(toggled)).toMatchObject({ data: { completed: true }, message: 'Task marked as completed' });
    const deleted = await api.del(task.id);
    expect(deleted.status, describeExchange(deleted)).toBe(200);
    expect((jsonOf(deleted) as { data: object }).data).toMatchObject({ id: task.id, title: 'renamed', completed: true });
    const gone = await api.get(task.id);
    expect({ status: gone.status, body: jsonOf(gone) }).toEqual({ status: 404, body: { error: 'Task not found', code: 'NOT_FOUND', detail: 'Task not found' } });

    // Traffic goes through PgBouncer: at most POOL_SIZE server connections to this database.
    const admin = postgres(TEST_DATABASE_URL as string, { max: 1, onnotice: () => {} });
    try {
      const [row] = await admin<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = ${(db as ScratchDatabase).name}`;
      expect(row?.n).toBeLessThanOrEqual(POOL_SIZE);
    } finally {
      await admin.end({ timeout: 5 });
    }
  });

  it('51 parallel toggles end completed, each answer a distinct step', async () => {
    const s = server as Server;
    const api = await apiClient(s.url, `pgb_race_${Date.now().toString(36)}`);
    const id = (jsonOf(await api.create({ title: 'race' })) as { data: { id: number } }).data.id;
    const answers = await Promise.all(Array.from({ length: 51 }, () => api.toggle(id)));
    expect(answers.map((a) => a.status ?? a.error)).toEqual(Array(51).fill(200));
    const states = answers.map((a) => (jsonOf(a) as { data: { completed: boolean } }).data.completed);
    expect(states.filter(Boolean)).toHaveLength(26);
    expect((jsonOf(await api.get(id)) as { data: { completed: boolean } }).data.completed).toBe(true);
  });

  it('a restart works: SIGTERM exits 0, the new process finds the data and applies nothing again', async () => {
    const user = `pgb_restart_${Date.now().toString(36)}`;
    const before = await apiClient((server as Server).url, user);
    expect((await before.create({ title: 'kept' })).status).toBe(201);
    expect(await (server as Server).stop('SIGTERM')).toEqual({ code: 0, signal: null });
    server = await startServer(dataDir, env());
    const after = await apiClient(server.url, user);
    const list = await after.list();
    expect((jsonOf(list) as { data: { title: string }[] }).data.map((t) => t.title)).toEqual(['kept']);
    const counts = await migrationCounts((db as ScratchDatabase).url);
    expect(counts.applied).toBe(counts.shipped);
    expect(server.output()).not.toContain('migrations applied');
  });

  it('a plain URL to it (no ?pgbouncer=true, DATABASE_PREPARE unset): the start fails at once with one line naming the fix', async () => {
    const res = await run(process.execPath, [SERVER_JS], { env: env(viaBouncer, { PORT: String(await freePort()) }), timeoutMs: 20_000 });
    expect({ code: res.code, stderr: res.stderr }).toEqual({
      code: 1,
      stderr:
        `Failed to start: database at 127.0.0.1:${(bouncer as PgBouncer).port}/${(db as ScratchDatabase).name} answered "unsupported startup parameter: statement_timeout": ` +
        'this looks like a transaction pooler (PgBouncer): add ?pgbouncer=true to DATABASE_URL or set DATABASE_PREPARE=false\n',
    });
    expect(res.stdout).not.toContain('retrying');
  });

  it('a URL marked ?pgbouncer=true turns prepared statements off by itself and works', async () => {
    // .env.example and config.ts: "?pgbouncer=true" marks a transaction pooler. The marker is ours:
    // it must not reach PgBouncer or PostgreSQL as a startup parameter.
    const marked = await startServer(dataDir, env(`${viaBouncer}?pgbouncer=true`, { DATABASE_CONNECT_RETRY_MS: '2000' }), 20_000);
    try {
      const api = await apiClient(marked.url, `pgb_marked_${Date.now().toString(36)}`);
      const created = await api.create({ title: 'marked URL' });
      expect(created.status, describeExchange(created)).toBe(201);
      expect((await api.list()).status).toBe(200);
    } finally {
      await marked.stop('SIGTERM');
    }
  });
});
