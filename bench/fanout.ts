// What a write costs PostgreSQL as the list it touches has more members (the feed is written for every
// member in the write's transaction: docs/ARCHITECTURE.md, "The feed"). Toggles one task N times, one
// after another on one connection, in a private list and in lists of 2, 5 and 10 members, and reports
// the time per toggle and the PostgreSQL backend's CPU per toggle (from /proc: the server must be
// local). The members are added directly in the database (sharing has no routes yet).
//
//   node scripts/build-if-stale.mjs && node dist/bench/fanout.js [--toggles 2000] [--database-url postgresql://...]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAccess } from '../src/access/scope.js';
import { createDatabase } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { createTasksRepository } from '../src/tasks/tasks.repository.js';
import { createScratchDatabase, DEFAULT_PG_SERVER } from './servers.js';

const { values } = parseArgs({ options: { toggles: { type: 'string', default: '2000' }, 'database-url': { type: 'string' } } });
const toggles = Number(values.toggles);

/** CPU seconds of a process (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const scratch = await createScratchDatabase(values['database-url'] ?? DEFAULT_PG_SERVER, 'task_api_fanout_');
if (scratch === null) throw new Error('cannot create a database');
const database = createDatabase({ url: scratch.url, kind: 'external', where: 'bench', prepare: true, poolMax: 1, timeoutMs: 10_000 });
try {
  await migrate(database.db);
  const access = createAccess(database);
  const repository = createTasksRepository(database, { maxTasksPerUser: 100_000 });
  const [{ pid }] = (await database.rows<{ pid: number }>('select pg_backend_pid() as pid', [])) as [{ pid: number }];
  console.log(`${toggles} toggles of one task, one after another, one connection:`);
  console.log('members | ms per toggle | PostgreSQL CPU per toggle | vs private');
  let base = 0;
  for (const members of [1, 2, 5, 10]) {
    const owner = await access.resolve(`fanout-${members}-owner`);
    for (let m = 1; m < members; m++) {
      const other = await access.resolve(`fanout-${members}-m${m}`);
      await database.rows("insert into list_members (list_id, user_id, role) values ($1, $2, 'editor')", [owner.inboxId, other.userId]);
    }
    const task = await repository.create(owner, { title: 'toggled' });
    if (task === null) throw new Error('create failed');
    for (let i = 0; i < 200; i++) await repository.toggle(owner, task.id); // warm-up
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    for (let i = 0; i < toggles; i++) await repository.toggle(owner, task.id);
    const ms = (performance.now() - t0) / toggles;
    const cpuUs = ((cpuSeconds(pid) - cpu0) / toggles) * 1e6;
    if (members === 1) base = cpuUs;
    console.log(`${String(members).padStart(7)} | ${ms.toFixed(3).padStart(13)} | ${`${cpuUs.toFixed(0)} µs`.padStart(25)} | ${(cpuUs / base).toFixed(2)}x`);
  }
} finally {
  await database.close();
  await scratch.drop();
}
