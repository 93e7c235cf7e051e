import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { migrate, readMigrations } from '../../src/db/migrate.js';
import { drivers, freshDatabase } from '../helpers/databases.js';

const rowsOf = (result: unknown) => (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<string, unknown>[];

describe.each(drivers)('migrations [%s]', (driver) => {
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
      expect(indexes.map((r) => r.indexname)).toEqual(['tasks_pkey', 'tasks_user_created_idx']);
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
});
