// How long migrations 0006 (lists, feeds) and after (0007: uid, subtasks, positions) each hold the migration lock on a big table: loads 1M tasks of
// 10,000 users the way version 2 stored them (migrated up to 0005), then applies the rest and times it.
//
//   node scripts/build-if-stale.mjs && node dist/bench/migration.js [--tasks 1000000] [--database-url postgresql://...]
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { migrate, readMigrations } from '../src/db/migrate.js';
import { createDatabase } from '../src/db/client.js';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '1000000' }, 'database-url': { type: 'string' } } });
const tasks = Number(values.tasks);

const scratch = await createScratchDatabase(values['database-url'] ?? DEFAULT_PG_SERVER, 'task_api_migration_');
if (scratch === null) throw new Error('cannot create a database');
const database = createDatabase({ url: scratch.url, kind: 'external', where: 'bench', prepare: true, poolMax: 2, timeoutMs: 5000 });
const raw = postgres(scratch.url, { max: 1, onnotice: () => {} });
try {
  const all = readMigrations();
  const at = all.findIndex((m) => m.tag === '0006_lists');
  await migrate(database.db, all.slice(0, at));
  let started = Date.now();
  await raw.unsafe(`insert into tasks (user_id, title, description, tags, change_seq, created_at, updated_at)
    select 'u' || (g % 10000), 'Task ' || md5(g::text), case when g % 2 = 0 then 'notes ' || md5((g * 3)::text) end,
      case when g % 3 = 0 then array['work', 'home'] else '{}' end, g / 10000 + 1, now() - g * interval '1 second', now() - g * interval '1 second'
    from generate_series(1, ${tasks}) g`);
  await raw.unsafe('insert into user_changes (user_id, seq, task_count) select user_id, max(change_seq), count(*) from tasks group by user_id');
  await raw.unsafe('vacuum analyze tasks');
  console.log(`loaded ${tasks} tasks of 10,000 users (version 2's tables) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Each later migration on its own: each is one transaction (the migration lock held, and the tasks table).
  for (let i = at + 1; i <= all.length; i++) {
    started = Date.now();
    const applied = await migrate(database.db, all.slice(0, i));
    console.log(`${applied.join(', ')}: ${((Date.now() - started) / 1000).toFixed(1)} s in one transaction (the migration lock held, and the tasks table)`);
  }
} finally {
  await raw.end();
  await database.close();
  await scratch.drop();
}
