// The data of the EXPLAIN bench: many users' tasks, loaded with set-based SQL (one INSERT ...
// SELECT over generate_series, no row-by-row round trips) into a database migrated by the
// project's own migrations. Spreads are chosen to look like real use, so the planner's statistics
// (and so its choices) are those of a real table, not of uniform noise.
import { performance } from 'node:perf_hooks';
import type postgres from 'postgres';
import { connect } from '../test/helpers/scratch.js';

export interface DataShape {
  tasks: number;
  users: number;
  /** Tasks of the one big user (user 0); the others share the rest at random. */
  bigUserTasks: number;
}

/** The lists the big user keeps their tasks in (version 3): reads across them, and of one. */
export const LISTS_OF_BIG_USER = 20;

/** A word in ~1 % of tasks, and one in ~0.01 %: `q` at both ends of selectivity. */
export const FREQUENT_WORD = 'invoice';
export const RARE_WORD = 'zeppelin';

/** What titles and descriptions are made of; earlier words are drawn more often. */
const WORDS = (
  'call email buy fix review send check update plan book clean write read prepare order pay renew ' +
  'schedule cancel finish start organise move pick drop print sign file submit test deploy draft ' +
  'meeting report slides budget groceries milk bread dentist doctor car bike garden kitchen laundry ' +
  'taxes rent flight hotel train tickets birthday present party dinner lunch breakfast recipe ' +
  'project proposal contract client team manager design backlog sprint release bug feature docs ' +
  'notes agenda summary photos passport insurance bank account password backup server laptop phone ' +
  'charger cable printer paint shelf door window roof heating plumber electrician appointment ' +
  'school homework library gym yoga run swim vet dog cat plants water friends family mum dad ' +
  'sister brother neighbour weekend monday friday morning evening tomorrow today next week soon ' +
  'before after with about for the new old big small quick important urgent later maybe again'
).split(' ');

// q matches substrings: the search words must not hide in the vocabulary's words.
for (const w of [FREQUENT_WORD, RARE_WORD, RARE_WORD.slice(0, 2)]) {
  if (WORDS.some((v) => v.includes(w))) throw new Error(`the vocabulary holds "${w}"`);
}

/** The vocabulary's first word: in about a third of the tasks. */
export const COMMON_WORD = WORDS[0] as string;

/** Tags people use; the first ones much more often. */
const TAGS = (
  'work home errands urgent finance health family shopping travel admin reading fitness car ' +
  'garden kids school music friends projects ideas chores cooking pets bills someday waiting ' +
  'calls email office weekend'
).split(' ');

export const TAG_ONE = 'work';
export const TAG_TWO = 'urgent';

/** The ids of user 0 (the big one) and user k: 32 hex characters, as long as Better Auth's ids. */
export const userIdSql = (k: string) => `substr(md5('bench-user-' || ${k}), 1, 32)`;

/** A word of the vocabulary, skewed to the front (power > 1). */
const word = (power = 1.6) => `($1::text[])[1 + floor(${WORDS.length} * power(random(), ${power}))::int]`;
const words = (n: number) => Array.from({ length: n }, () => word()).join(` || ' ' || `);
/** A tag, 0..29, skewed: tag 0 on ~1 task in 5 that has tags. */
const tagAt = (offset: string) => `($2::text[])[1 + ((${offset}) % ${TAGS.length})]`;

/**
 * One statement: the innermost SELECT draws the random numbers used more than once (volatile,
 * so PostgreSQL evaluates them once per row and does not flatten the subquery); the next one
 * derives the task; the outer one numbers each user's changes in the order of their last change
 * (change_seq, as migration 0003 does for existing rows) and inserts in creation order, so ids
 * rise with created_at and a user's tasks are spread over the table as they would be after a
 * year of everyone writing, not stored together.
 */
function insertSql(shape: DataShape): string {
  const every = Math.round(shape.tasks / shape.bigUserTasks);
  const others = shape.users - 1;
  return `
insert into tasks (user_id, list_id, title, description, completed, priority, tags, due_at, completed_at, version, created_at, updated_at)
select user_id, (select id from lists where owner_id = t.user_id and is_default), title, description, completed, priority, tags, due_at,
       case when completed then updated_at end,
       version, created_at, updated_at
from (
  select g, user_id,
    -- ~1 %: the frequent word, half in the title, half in the description; ~0.01 %: the rare one.
    initcap(${word(1.2)}) || ' ' || ${words(2)}
      || case when r_len < 0.6 then ' ' || ${word()} else '' end
      || case when r_len < 0.3 then ' ' || ${word()} else '' end
      || case when r_q < 0.005 then ' ${FREQUENT_WORD}' else '' end
      || case when r_rare < 0.0001 then ' ${RARE_WORD}' else '' end as title,
    case when r_desc < 0.5 and not (r_q >= 0.005 and r_q < 0.01) then null
      else coalesce(case when r_desc >= 0.5 then initcap(${word(1.2)}) || ' ' || ${words(4)}
                       || case when r_len < 0.5 then ' ' || ${words(4)} else '' end
                       || case when r_len < 0.2 then ' ' || ${words(6)} else '' end end, 'See')
        || case when r_q >= 0.005 and r_q < 0.01 then ' the ${FREQUENT_WORD} from last month' else '' end
    end as description,
    -- Older tasks are more often done: 15 % of today's, 65 % of a year ago's; 40 % overall.
    r_done < 0.15 + 0.5 * (1 - g::float8 / ${shape.tasks}) as completed,
    (case when r_prio < 0.55 then 'none' when r_prio < 0.75 then 'low' when r_prio < 0.9 then 'medium' else 'high' end)::task_priority as priority,
    -- 0-3 distinct tags (offsets 1..14 apart keep them distinct); every 20th user tags heavily (2-3);
    -- one in ten is spelled with a capital, as people type them (the filter compares lower-cased).
    (array[
       case when r_case < 0.1 then initcap(${tagAt('t1')}) else ${tagAt('t1')} end,
       ${tagAt('t2')},
       ${tagAt('t3')}
     ])[1:case when heavy then 2 + (r_tags < 0.7)::int
               else (r_tags >= 0.4)::int + (r_tags >= 0.7)::int + (r_tags >= 0.9)::int end] as tags,
    case when r_due < 0.5 then null else now() + (r_due2 * 120 - 60) * interval '1 day' end as due_at,
    created_at,
    -- 40 % never changed after creation; the others last changed some time since.
    case when r_touch < 0.4 then created_at else created_at + (now() - created_at) * power(random(), 3) end as updated_at,
    case when r_touch < 0.4 then 1 else 2 + floor(random() * 4)::int end as version
  from (
    select g, user_id, heavy,
      now() - interval '365 days' + (g::float8 / ${shape.tasks}) * interval '365 days' - random() * interval '10 minutes' as created_at,
      floor(${TAGS.length} * power(random(), 2))::int as t1,
      floor(random() * 14)::int as d2, floor(random() * 14)::int as d3,
      random() as r_len, random() as r_q, random() as r_rare, random() as r_desc, random() as r_done,
      random() as r_prio, random() as r_tags, random() as r_case, random() as r_due, random() as r_due2, random() as r_touch
    from (
      select g, k, ${userIdSql('k')} as user_id, k % 20 = 0 as heavy
      from (
        select g, case when g % ${every} = 0 then 0 else 1 + floor(random() * ${others})::int end as k
        from generate_series(1, ${shape.tasks}) g
      ) u
    ) v
  ) r
  cross join lateral (select t1 + 1 + d2 as t2, t1 + 2 + d2 + d3 as t3) o
) t
order by g`;
}

export interface IndexDef {
  name: string;
  definition: string;
  ms?: number;
}

export interface LoadReport {
  shape: DataShape;
  /** Phases in order, ms. */
  phases: Record<string, number>;
  totalMs: number;
  /** The indexes of tasks (other than the primary key), as the migrations made them. */
  indexes: IndexDef[];
  tableMb: number;
  indexMb: number;
}

/**
 * Fills the migrated database at `url`. The migrations' indexes on tasks (all but the primary
 * key) are dropped first and created again afterwards from their own definitions (pg_indexes):
 * building an index once over 1M rows is several times faster than growing it row by row, and
 * the indexes end up exactly the migrations' ones. Two connections build them side by side (one
 * per core). Then VACUUM ANALYZE: the statistics and visibility map of a table autovacuum has
 * seen, as in production.
 */
export async function loadData(url: string, shape: DataShape, log: (line: string) => void): Promise<LoadReport> {
  const sql = connect(url);
  const second = connect(url);
  const phases: Record<string, number> = {};
  const started = performance.now();
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const value = await fn();
    phases[name] = Math.round(performance.now() - t0);
    log(`  ${name}: ${(phases[name] / 1000).toFixed(1)} s`);
    return value;
  };
  try {
    for (const s of [sql, second]) await s.unsafe(`set maintenance_work_mem = '256MB'; set work_mem = '256MB'; set synchronous_commit = off`);
    const indexes = await sql<IndexDef[]>`
      select indexname as name, indexdef as definition from pg_indexes
      where schemaname = 'public' and tablename = 'tasks'
        and indexname not in (select conname from pg_constraint where conrelid = 'tasks'::regclass)
      order by indexname`;
    for (const index of indexes) await sql.unsafe(`drop index ${index.name}`);
    await sql`select setseed(0.13)`;
    // Every user's Inbox first (every task is in a list), then their tasks in it.
    await phase('inboxes', async () => {
      await sql.unsafe(`insert into lists (owner_id, name, is_default) select ${userIdSql('k')}, 'Inbox', true from generate_series(0, ${shape.users - 1}) k`);
      await sql.unsafe("insert into list_members (list_id, user_id, role) select id, owner_id, 'owner' from lists");
    });
    await phase('insert tasks', () => sql.unsafe(insertSql(shape), [WORDS, TAGS]));
    // Version 3: the big user keeps their tasks in 20 lists (the Inbox and 19 more), spread evenly,
    // each list in its manual order (positions by creation time, as migration 0007 gives them):
    // a page without list_id reads across the 20, one with list_id reads one of them.
    await phase('lists', async () => {
      const big = userIdSql('0');
      await sql.unsafe(`insert into lists (owner_id, name) select ${big}, 'List ' || g from generate_series(1, ${LISTS_OF_BIG_USER - 1}) g`);
      await sql.unsafe(`insert into list_members (list_id, user_id, role) select id, owner_id, 'owner' from lists where owner_id = ${big} and not is_default`);
      await sql.unsafe(
        `with l as (select array_agg(id order by id) as ids from lists where owner_id = ${big}), ` +
          `t as (select id, row_number() over (order by created_at, id) as n from tasks where user_id = ${big}) ` +
          `update tasks set list_id = l.ids[1 + (t.n % ${LISTS_OF_BIG_USER})], position = 'a' || lpad(t.n::text, 7, '0') from l, t where tasks.id = t.id`,
      );
    });
    await phase('user_changes', () =>
      sql.unsafe('insert into user_changes (user_id, seq, task_count) select user_id, count(*), count(*) from tasks group by user_id'),
    );
    await phase('create indexes', () => buildIndexes([sql, second], indexes));
    await phase('vacuum analyze', async () => {
      await sql.unsafe('vacuum (analyze) tasks');
      await sql.unsafe('vacuum (analyze) user_changes');
    });
    const [size] = await sql<{ table: string; indexes: string }[]>`
      select pg_table_size('tasks') as table, pg_indexes_size('tasks') as indexes`;
    return {
      shape,
      phases,
      totalMs: Math.round(performance.now() - started),
      indexes: [...indexes],
      tableMb: Math.round(Number(size?.table) / 2 ** 20),
      indexMb: Math.round(Number(size?.indexes) / 2 ** 20),
    };
  } finally {
    await Promise.all([sql.end({ timeout: 5 }), second.end({ timeout: 5 })]);
  }
}

/** Largest first (the trigram index is most of the work), each connection taking the next one. */
async function buildIndexes(connections: postgres.Sql[], indexes: readonly IndexDef[]): Promise<void> {
  const cost = (d: IndexDef) => (d.definition.includes('gin_trgm_ops') ? 3 : d.definition.includes('USING gin') ? 2 : 1);
  const queue = [...indexes].sort((a, b) => cost(b) - cost(a));
  await Promise.all(
    connections.map(async (c) => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const t0 = performance.now();
        // One core each: the two connections already use both.
        await c.unsafe(`set max_parallel_maintenance_workers = 0; ${next.definition}`);
        next.ms = Math.round(performance.now() - t0);
      }
    }),
  );
}

/** Counts that say whether the data has the intended spreads (printed with the report). */
export async function describeData(url: string, bigUser: string): Promise<{ all: { tasks: number; users: number } } & Record<string, unknown>> {
  const sql = connect(url);
  try {
    const [all] = await sql<{ tasks: number; users: number }[]>`
      select count(*)::int as tasks, count(distinct user_id)::int as users,
        round(avg(completed::int) * 100, 1)::float8 as completed_pct,
        round(avg((due_at is null)::int) * 100, 1)::float8 as no_due_pct,
        round(avg(cardinality(tags)), 2)::float8 as tags_per_task
      from tasks`;
    const priorities = await sql`select priority, count(*)::int as n from tasks group by 1 order by 1`;
    const [big] = await sql`
      select count(*)::int as tasks,
        count(*) filter (where (title || ' ' || coalesce(description, '')) ilike ${`%${FREQUENT_WORD}%`})::int as frequent,
        count(*) filter (where (title || ' ' || coalesce(description, '')) ilike ${`%${RARE_WORD}%`})::int as rare,
        count(*) filter (where tags_key @> array[${TAG_ONE}])::int as tag_one,
        count(*) filter (where tags_key @> array[${TAG_ONE}, ${TAG_TWO}])::int as tag_two
      from tasks where user_id = ${bigUser}`;
    const [spread] = await sql`
      select min(task_count)::int as min, percentile_disc(0.5) within group (order by task_count)::int as median,
        max(task_count) filter (where user_id <> ${bigUser})::int as max_other
      from user_changes`;
    if (all === undefined) throw new Error('no tasks');
    return { all, priorities, bigUser: big, tasksPerUser: spread };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
