import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/client.js';
import { migrate, readMigrations } from '../../src/db/migrate.js';
import { drivers, freshDatabase } from '../helpers/databases.js';

const rowsOf = (result: unknown) => (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<string, unknown>[];

describe.each(drivers)('migrations [%s]', (driver) => {
  type Opened = Awaited<ReturnType<Awaited<ReturnType<typeof freshDatabase>>['open']>>;
  /**
   * An empty database migrated up to `tag` (not including it), for `body` to put rows there the way
   * that version stored them; `rest()` applies the migrations from `tag` on (`later`, their tags).
   */
  async function migratedBefore(tag: string, body: (database: Opened, rest: () => Promise<string[]>, later: string[]) => Promise<void>) {
    const fresh = await freshDatabase(driver, { empty: true });
    const database = await fresh.open();
    try {
      const all = readMigrations();
      const at = all.findIndex((m) => m.tag === tag);
      expect(at).toBeGreaterThan(0);
      expect(await migrate(database.db, all.slice(0, at))).toEqual(all.slice(0, at).map((m) => m.tag));
      await body(database, () => migrate(database.db), all.slice(at).map((m) => m.tag));
    } finally {
      await database.close();
      await fresh.drop();
    }
  }

  it('apply once, then find nothing to do', async () => {
    const fresh = await freshDatabase(driver, { empty: true });
    const database = await fresh.open();
    try {
      const all = readMigrations().map((m) => m.tag);
      expect(all[0]).toBe('0000_init');
      expect(await migrate(database.db)).toEqual(all);
      expect(await migrate(database.db)).toEqual([]);
      const applied = rowsOf(await database.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
      expect(applied[0]?.n).toBe(all.length);
      const indexes = rowsOf(await database.db.execute(sql`select indexname from pg_indexes where tablename = 'tasks' order by 1`));
      expect(indexes.map((r) => r.indexname)).toEqual([
        'tasks_list_assignee_idx',
        'tasks_list_completed_created_idx',
        'tasks_list_created_idx',
        'tasks_list_due_idx',
        'tasks_list_parent_position_idx',
        'tasks_list_position_idx',
        'tasks_list_priority_idx',
        'tasks_list_title_idx',
        'tasks_list_updated_idx',
        'tasks_pkey',
        'tasks_search_idx',
        'tasks_tags_idx',
        'tasks_uid_idx',
      ]);
    } finally {
      await database.close();
      await fresh.drop();
    }
  });

  it('several instances migrating at once all succeed, and apply each migration once', async () => {
    const fresh = await freshDatabase(driver, { empty: true });
    // Separate pools, as separate servers would have.
    const databases = await Promise.all([fresh.open(), fresh.open(), fresh.open()]);
    try {
      const results = await Promise.all(databases.map((d) => migrate(d.db)));
      expect(results.flat()).toEqual(readMigrations().map((m) => m.tag));
      const applied = rowsOf(await databases[0]!.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`));
      expect(applied[0]?.n).toBe(readMigrations().length);
    } finally {
      await Promise.all(databases.map((d) => d.close()));
      await fresh.drop();
    }
  });

  it('version 2 gives existing tasks none, [], null, 1, and completed_at = updated_at when completed', async () => {
    await migratedBefore('0002_v2_task_fields', async (database, rest) => {
      await database.db.execute(sql`insert into tasks (user_id, title, completed, updated_at) values
        ('old', 'pending one', false, '2026-01-02T03:04:05.678Z'), ('old', 'done one', true, '2026-02-03T04:05:06.789Z')`);
      await rest();
      const rows = rowsOf(
        await database.db.execute(sql`select title, priority, tags, due_at, version, completed_at, updated_at from tasks order by id`),
      );
      expect(rows.map((r) => ({ ...r, due_at: r.due_at ?? null }))).toEqual([
        // (the driver gives timestamps as the API writes them: ISO 8601 in UTC, milliseconds)
        { title: 'pending one', priority: 'none', tags: [], due_at: null, version: 1, completed_at: null, updated_at: '2026-01-02T03:04:05.678Z' },
        { title: 'done one', priority: 'none', tags: [], due_at: null, version: 1, completed_at: '2026-02-03T04:05:06.789Z', updated_at: '2026-02-03T04:05:06.789Z' },
      ]);
    });
  });
  it('0004 gives existing tasks their tags_key (the lower-cased tags), and ?tag= finds them through the new index', async () => {
    await migratedBefore('0004_tags_key', async (database, rest, later) => {
      await database.db.execute(sql`insert into tasks (user_id, title, tags) values ('old', 'tagged', '{Work,home}'), ('old', 'untagged', '{}')`);
      expect(await rest()).toEqual(later);
      const rows = rowsOf(await database.db.execute(sql`select title, tags, tags_key from tasks order by id`));
      expect(rows).toEqual([
        { title: 'tagged', tags: ['Work', 'home'], tags_key: ['work', 'home'] },
        { title: 'untagged', tags: [], tags_key: [] },
      ]);
      const found = rowsOf(await database.db.execute(sql`select title from tasks where user_id = 'old' and tags_key @> array['work']`));
      expect(found).toEqual([{ title: 'tagged' }]);
    });
  });

  it('0006 gives every existing user one Inbox they own and puts each of their tasks in it; the rest of the table is untouched', async () => {
    await migratedBefore('0006_lists', async (database, rest, later) => {
      await database.db.execute(sql`insert into tasks (user_id, title, tags, change_seq) values ('ann', 'a1', '{x}', 1), ('ann', 'a2', '{}', 2), ('bob', 'b1', '{}', 1)`);
      // A user who wrote and deleted everything still has their counter row: they get an Inbox too.
      await database.db.execute(sql`insert into user_changes (user_id, seq, task_count) values ('ann', 2, 2), ('bob', 1, 1), ('cyd', 5, 0)`);
      await database.db.execute(sql`insert into task_tombstones (user_id, seq, task_id) values ('cyd', 4, 99)`);
      const before = rowsOf(await database.db.execute(sql`select id, user_id, title, tags, version, updated_at from tasks order by id`));
      expect(await rest()).toEqual(later);
      const lists = rowsOf(await database.db.execute(sql`select l.owner_id, l.name, l.is_default, m.user_id, m.role from lists l join list_members m on m.list_id = l.id order by l.owner_id`));
      expect(lists).toEqual(
        ['ann', 'bob', 'cyd'].map((u) => ({ owner_id: u, name: 'Inbox', is_default: true, user_id: u, role: 'owner' })),
      );
      const placed = rowsOf(await database.db.execute(sql`select t.title, l.owner_id from tasks t join lists l on l.id = t.list_id order by t.id`));
      expect(placed).toEqual([{ title: 'a1', owner_id: 'ann' }, { title: 'a2', owner_id: 'ann' }, { title: 'b1', owner_id: 'bob' }]);
      expect(rowsOf(await database.db.execute(sql`select id, user_id, title, tags, version, updated_at from tasks order by id`))).toEqual(before);
      // Each task's last change and each deletion record are in its author's feed, with their numbers.
      const feed = rowsOf(await database.db.execute(sql`select f.user_id, f.seq::int as seq, f.deleted, t.title from feed_entries f left join tasks t on t.id = f.entity_id order by f.user_id, f.seq`));
      expect(feed).toEqual([
        { user_id: 'ann', seq: 1, deleted: false, title: 'a1' },
        { user_id: 'ann', seq: 2, deleted: false, title: 'a2' },
        { user_id: 'bob', seq: 1, deleted: false, title: 'b1' },
        { user_id: 'cyd', seq: 4, deleted: true, title: null },
      ]);
      const found = rowsOf(await database.db.execute(sql`select t.title from tasks t join lists l on l.id = t.list_id where l.owner_id = 'ann' and t.tags_key @> array['x']`));
      expect(found).toEqual([{ title: 'a1' }]);
    });
  });

  it('0007 gives existing tasks a unique uid (a UUID) and positions by creation time (oldest first, ties by id); the rest is untouched', async () => {
    await migratedBefore('0007_v3_task_tree', async (database, rest, later) => {
      await database.db.execute(sql`insert into user_changes (user_id) values ('ann'), ('bob')`);
      await database.db.execute(sql`insert into lists (owner_id, name, is_default) values ('ann', 'Inbox', true), ('bob', 'Inbox', true)`);
      await database.db.execute(sql`insert into tasks (user_id, list_id, title, created_at) select 'ann', (select id from lists where owner_id = 'ann'), t, c::timestamptz from (values
        ('newest', '2026-05-01T00:00:00.002Z'), ('oldest', '1999-01-01T00:00:00Z'), ('middle', '2026-05-01T00:00:00.001Z'), ('twin', '2026-05-01T00:00:00.001Z')) v(t, c)`);
      await database.db.execute(sql`insert into tasks (user_id, list_id, title) values ('bob', (select id from lists where owner_id = 'bob'), 'b')`);
      const before = rowsOf(await database.db.execute(sql`select id, user_id, list_id, title, version, created_at, updated_at from tasks order by id`));
      expect(await rest()).toEqual(later);
      const rows = rowsOf(await database.db.execute(sql`select title, uid, parent_id, position, assignee_id from tasks where user_id = 'ann' order by position, id`));
      expect(rows.map((r) => r.title)).toEqual(['oldest', 'middle', 'twin', 'newest']);
      for (const r of rows) expect(r).toMatchObject({ uid: expect.stringMatching(/^[0-9a-f-]{36}$/), parent_id: null, assignee_id: null, position: expect.stringMatching(/^h[0-9A-Za-z]{8}$/) });
      expect(new Set(rowsOf(await database.db.execute(sql`select uid from tasks`)).map((r) => r.uid)).size).toBe(5);
      expect(rowsOf(await database.db.execute(sql`select id, user_id, list_id, title, version, created_at, updated_at from tasks order by id`))).toEqual(before);
      // The helper is gone; the default place after the last sibling is there (the package's next key).
      expect(rowsOf(await database.db.execute(sql`select task_position_after(null) as a, task_position_after('a0') as b, task_position_after('az') as c, task_position_after('Zz') as d, task_position_after('a0V') as e`))).toEqual([
        { a: 'a0', b: 'a1', c: 'b00', d: 'a0', e: 'a1' },
      ]);
      expect(rowsOf(await database.db.execute(sql`select count(*)::int as n from pg_proc where proname like 'task_position_from_%'`))).toEqual([{ n: 0 }]);
    });
  });

  it("a migration longer than the pool's statement timeout (DATABASE_TIMEOUT_MS) still applies: big tables take minutes", async () => {
    const fresh = await freshDatabase(driver, { empty: true });
    const database = createDatabase({ url: fresh.url, kind: 'external', where: 'test', prepare: true, poolMax: 1, timeoutMs: 200 });
    try {
      const slow = { tag: '9999_slow', when: 1, hash: 'slow', statements: ['select pg_sleep(0.6)'] };
      expect(await migrate(database.db, [slow])).toEqual(['9999_slow']);
    } finally {
      await database.close();
      await fresh.drop();
    }
  });
});
