/**
 * Two server processes on one fresh PostgreSQL database, started at the same moment: both come up
 * (the migration runs once, under the advisory lock), and they agree on every task: what one
 * writes, the other reads, toggles and deletes consistently.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DATABASE_URL } from '../helpers/databases.js';
import {
  apiClient,
  describeExchange,
  jsonOf,
  migrationCounts,
  scratchDatabase,
  serverEnv,
  startServer,
  type Exchange,
  type ScratchDatabase,
  type Server,
} from './support.js';
import type { TaskJson as Task } from '../helpers/task-json.js';

if (TEST_DATABASE_URL === undefined) console.warn('instances: SKIPPED: TEST_DATABASE_URL is not set (two processes need a shared PostgreSQL)');
const suite = TEST_DATABASE_URL === undefined ? describe.skip : describe;

const dataOf = (e: Exchange) => (jsonOf(e) as { data: Task }).data;

suite('two instances on one fresh PostgreSQL database', () => {
  let db: ScratchDatabase | undefined;
  let servers: Server[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    db = await scratchDatabase(TEST_DATABASE_URL as string, { prefix: 'task_api_instances' });
    const env = () => {
      const dir = mkdtempSync(join(tmpdir(), 'task-api-instance-'));
      dirs.push(dir);
      return [dir, serverEnv({ DATA_DIR: dir, DATABASE_URL: (db as ScratchDatabase).url })] as const;
    };
    const [a, b] = [env(), env()];
    // The same moment: both race for the empty database's first migration.
    const started = await Promise.allSettled([startServer(a[0], a[1]), startServer(b[0], b[1])]);
    servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
    expect(failed, 'both instances come up').toEqual([]);
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.stop('SIGKILL');
    await db?.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 30_000);

  it('both come up; the migrations are applied exactly once', async () => {
    expect(servers).toHaveLength(2);
    const counts = await migrationCounts((db as ScratchDatabase).url);
    expect(counts.applied).toBe(counts.shipped);
    const appliedBy = servers.filter((s) => s.output().includes('migrations applied'));
    expect(appliedBy, 'exactly one instance applied the migrations').toHaveLength(1);
  });

  it('a task created through one is read, toggled, updated and deleted through the other', async () => {
    const [one, two] = servers as [Server, Server];
    const user = `inst_${Date.now().toString(36)}`;
    const a = await apiClient(one.url, user);
    const b = await apiClient(two.url, user);

    const created = await a.create({ title: 'made on A', description: 'shared' });
    expect(created.status, describeExchange(created)).toBe(201);
    const task = dataOf(created);

    const readOnB = await b.get(task.id);
    expect(jsonOf(readOnB)).toEqual({ data: task, message: 'Task retrieved successfully' });
    expect((jsonOf(await b.list()) as { data: Task[] }).data).toEqual([task]);

    const toggledOnB = await b.toggle(task.id);
    expect(jsonOf(toggledOnB)).toMatchObject({ data: { id: task.id, completed: true }, message: 'Task marked as completed' });
    expect(dataOf(await a.get(task.id)).completed).toBe(true);
    expect((jsonOf(await a.list('?status=completed')) as { data: Task[] }).data.map((t) => t.id)).toEqual([task.id]);

    const updatedOnA = await a.put(task.id, { title: 'renamed on A', description: null });
    expect(updatedOnA.status).toBe(200);
    expect(dataOf(await b.get(task.id))).toEqual(dataOf(updatedOnA));

    const deletedOnB = await b.del(task.id);
    expect(deletedOnB.status).toBe(200);
    expect(dataOf(deletedOnB)).toEqual(dataOf(updatedOnA));
    for (const api of [a, b]) {
      const gone = await api.get(task.id);
      expect({ status: gone.status, body: jsonOf(gone) }).toEqual({ status: 404, body: { error: 'Task not found', code: 'NOT_FOUND', detail: 'Task not found' } });
    }
    expect((jsonOf(await a.list()) as { data: Task[] }).data).toEqual([]);
  });

  it('51 toggles split across both instances, in parallel, end completed with distinct steps', async () => {
    const [one, two] = servers as [Server, Server];
    const user = `inst_race_${Date.now().toString(36)}`;
    const a = await apiClient(one.url, user);
    const b = await apiClient(two.url, user);
    const id = dataOf(await a.create({ title: 'race' })).id;
    const answers = await Promise.all(Array.from({ length: 51 }, (_, i) => (i % 2 === 0 ? a : b).toggle(id)));
    expect(answers.map((x) => x.status ?? x.error)).toEqual(Array(51).fill(200));
    expect(answers.map((x) => dataOf(x).completed).filter(Boolean)).toHaveLength(26);
    expect(dataOf(await b.get(id)).completed).toBe(true);
    expect(dataOf(await a.get(id)).completed).toBe(true);
  });
});
