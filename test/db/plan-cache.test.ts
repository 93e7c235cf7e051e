/**
 * Prepared statements are planned for their values every time (plan_cache_mode): a generic plan,
 * estimated for an average user, made a big user's list queries sort tens of thousands of rows
 * and a two-letter search scan the whole trigram index (bench/README.md, "EXPLAIN").
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { drivers, freshDatabase, openTestDatabase } from '../helpers/databases.js';

/** The plan of a statement prepared on one connection, after more executions than PostgreSQL's five custom plans. */
async function planAfterRuns(database: Database): Promise<string> {
  const conn = await database.sql.reserve();
  try {
    await conn.unsafe('prepare plan_cache_probe as select id from tasks where user_id = $1 order by created_at desc, id desc limit $2');
    for (let i = 0; i < 8; i++) await conn.unsafe(`execute plan_cache_probe('probe-user-${i}', 50)`);
    return JSON.stringify(await conn.unsafe(`explain (format json) execute plan_cache_probe('probe-user-last', 50)`));
  } finally {
    await conn.unsafe('deallocate plan_cache_probe').catch(() => {});
    conn.release();
  }
}

describe.each(drivers)('plan cache [%s]', (driver) => {
  it('on the connections of prepared statements, every execution is planned for its own values', async () => {
    const fresh = await freshDatabase(driver);
    const prepared = await openTestDatabase(fresh.url, { prepare: true });
    const unprepared = await openTestDatabase(fresh.url, { prepare: false });
    try {
      expect((await prepared.rows<{ plan_cache_mode: string }>('show plan_cache_mode', []))[0]?.plan_cache_mode).toBe('force_custom_plan');
      expect(await planAfterRuns(prepared)).toContain('probe-user-last');
      // What it prevents: PostgreSQL's default switches to the generic plan ($1, no value).
      const generic = await planAfterRuns(unprepared);
      expect(generic).toMatch(/\$1\b/);
      expect(generic).not.toContain('probe-user-last');
    } finally {
      await Promise.all([prepared.close(), unprepared.close()]);
      await fresh.drop();
    }
  });
});
