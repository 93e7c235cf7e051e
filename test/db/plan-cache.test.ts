/**
 * The list queries are planned for their values every time; every other statement stays a
 * prepared statement with its plan kept. A generic plan, estimated for an average user, made a big
 * user's list queries sort tens of thousands of rows and a two-letter search scan the whole
 * trigram index (bench/README.md, "EXPLAIN"); replanning every statement would cost every write.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createAccess } from '../../src/access/scope.js';
import { createTasksRepository } from '../../src/tasks/tasks.repository.js';
import { drivers, freshDatabase, openTestDatabase } from '../helpers/databases.js';

/** The plan PostgreSQL uses for a statement prepared on one connection, after more than its five custom plans. */
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
  it('list queries run as unnamed statements (planned for their values), the others as prepared ones', async () => {
    const fresh = await freshDatabase(driver);
    // One connection, so that what it has prepared is what the repository ran.
    const database = await openTestDatabase(fresh.url, { prepare: true, poolMax: 1 });
    try {
      const repository = createTasksRepository(database, { maxTasksPerUser: 100 });
      const access = createAccess(database);
      for (let i = 0; i < 8; i++) {
        const scope = await access.resolve(`plan-${i}`);
        await repository.create(scope, { title: 'T' });
        const spec = { scope, filters: { tags: ['a'] }, sort: { field: 'created_at', direction: 'desc' }, limit: 51 } as const;
        expect((await repository.page(spec)).rows).toEqual([]);
        await repository.get(scope, 1);
      }
      const prepared = (await database.rows<{ statement: string }>('select statement from pg_prepared_statements', [])).map((r) => r.statement);
      expect(prepared.some((s) => s.startsWith('with w as') && s.includes('insert into tasks'))).toBe(true); // the create (without a parent)
      expect(prepared.some((s) => s.startsWith('select id, user_id, list_id'))).toBe(true); // the get
      expect(prepared.filter((s) => s.includes('left join lateral'))).toEqual([]); // no list
      // What planning each time avoids: PostgreSQL's default, after five runs, is the generic plan ($1, no value).
      const generic = await planAfterRuns(database);
      expect(generic).toMatch(/\$1\b/);
      expect(generic).not.toContain('probe-user-last');
    } finally {
      await database.close();
      await fresh.drop();
    }
  });
});
