// EXPLAIN of every list query: does each filter and sort of GET /api/{user}/tasks use an index,
// on 1M tasks across 10k users, one of whom has 100k in 20 lists (the queries without list_id read
// across them)? Not part of `npm test`.
//
//   npm run bench:explain [-- --scale 0.1] [--keep-database] [--out bench/results]
//
// Creates a scratch database on BENCH_DATABASE_URL's server (default
// postgresql://postgres@127.0.0.1:5432/postgres), applies the project's migrations, loads the
// tasks with set-based SQL (bench/explain-data.ts), then for the big user and for a typical one
// runs every list query as the service runs it: the spec made by the route's own pageSpec() from
// a query string, the SQL and parameters made by the repository (tasks.query.ts), sent through
// the service's database client (src/db/client.ts, same prepare setting, same parameter
// encoding), with `explain (analyze, buffers, format json)` put in front. The service sends the
// list statements that filter by what tasks hold unnamed (planned for their values every time,
// RunOptions.planEachTime); the others it keeps prepared, so for those (and for every case with
// `--replay-prepared`) the run also replays what a connection that kept the statement prepared
// runs, a generic plan included (runPrepared), and its problems count too. Prints a markdown
// table, writes bench/results/explain-<timestamp>.json and drops the database (also on error and
// on Ctrl-C). Exit code 1 if a query seq-scans tasks, sorts a big part of the 100k user's tasks,
// or takes longer than its threshold (THRESHOLDS below says why those numbers), unless its case
// names that as a measured, known limit (knownLimit: q shorter than a trigram).
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../src/config.js';
import { createDatabase, describeUrl, type Database, type RunOptions } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { createAccess, type Access } from '../src/access/scope.js';
import { createTasksRepository, type TasksRepository } from '../src/tasks/tasks.repository.js';
import { pageSpec } from '../src/tasks/tasks.routes.js';
import { encodeCursor } from '../src/tasks/tasks.cursor.js';
import type { BuiltQuery, PageSpec } from '../src/tasks/tasks.query.js';
import type { PageQuery } from '../src/tasks/tasks.schemas.js';
import { connect, databaseUrl } from '../test/helpers/scratch.js';
import { COMMON_WORD, describeData, FREQUENT_WORD, LISTS_OF_BIG_USER, loadData, RARE_WORD, TAG_ONE, TAG_TWO, type DataShape, type LoadReport } from './explain-data.js';
import { orderedBy, summarize, type ExplainOutput, type PlanSummary } from './explain-plan.js';
import { createScratchDatabase, DEFAULT_PG_SERVER, redactUrl, repoRoot } from './servers.js';

const USAGE = `usage: npm run bench:explain -- [--scale 1] [--keep-database | --database NAME] [--replay-prepared] [--out bench/results]
  --scale           fraction of the full data (1M tasks, 10k users, 100k for the big user)   default 1
  --keep-database   do not drop the scratch database afterwards (its name is printed)
  --database NAME   run the queries on a database an earlier --keep-database run left (pending
                    migrations are applied and timed; nothing is loaded; it is not dropped)
  --replay-prepared also run each query as a connection that kept it prepared would (PREPARE, five
                    EXECUTEs for typical users, then EXPLAIN ANALYZE EXECUTE); the service itself
                    sends list queries unnamed, planned for their values every time
  --out             where the JSON goes                                                      default bench/results
Environment: BENCH_DATABASE_URL (the PostgreSQL server; default ${DEFAULT_PG_SERVER}),
DATABASE_PREPARE and MAX_TASKS_PER_LIST as the service reads them.`;

/**
 * Why these numbers. A page read in index order touches about `limit` rows, a few hundred
 * buffers: well under 5 ms even on this shared 2-core machine. Reading all 100k tasks of the big
 * user, even through an index, costs 125-185 ms here (the bench prints it: "whole-user read"), so
 * 50 ms sits between the two: a query under it reads a bounded part of the user, one over it reads
 * most of them. A typical user has ~90 tasks; anything over 10 ms there read far more than its
 * own rows. A sort may take in what the filters left (1,000 tasks with the frequent word, sorted:
 * fine), but a sort of more than 10,000 of the big user's rows is a page that could have come in
 * index order and did not.
 */
const THRESHOLDS = { bigMs: 50, typicalMs: 10, sortRows: 10_000 };
const EXPLAIN_RUNS = 3;
/** Executions after which PostgreSQL may switch a prepared statement to its generic plan (plancache.c). */
const CUSTOM_PLAN_RUNS = 5;

interface Options {
  scale: number;
  keepDatabase: boolean;
  /** A database kept by an earlier --keep-database run: used as it is (no load), never dropped. */
  database: string | undefined;
  outDir: string;
  /** Also replay each query as a kept prepared statement (runPrepared). */
  replayPrepared: boolean;
}

function options(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      scale: { type: 'string', default: '1' },
      'keep-database': { type: 'boolean', default: false },
      database: { type: 'string' },
      'replay-prepared': { type: 'boolean', default: false },
      out: { type: 'string', default: join(repoRoot(), 'bench/results') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const scale = Number(values.scale);
  if (!Number.isFinite(scale) || scale < 0.001 || scale > 1) throw new Error(`--scale must be a number in [0.001, 1] (got "${values.scale}")`);
  if (values.database !== undefined && !/^\w+$/.test(values.database)) throw new Error(`--database must be a database name (got "${values.database}")`);
  return { scale, keepDatabase: values['keep-database'] ?? false, database: values.database, outDir: resolve(values.out as string), replayPrepared: values['replay-prepared'] ?? false };
}

/** Where a page starts: the first page, the next one, deep in the list, among the tasks without due_at. */
type Position = 'first' | 'page2' | 'deep' | 'no-due';

interface Case {
  /** The query string, with {placeholders} for words, tags and instants. */
  query: string;
  position?: Position;
  /**
   * Why this query may exceed the big user's bounds, measured and accepted: it is reported as a
   * known limit, not as a failure. Nothing else may.
   */
  knownLimit?: string;
}

/** A q of one or two characters has no trigram: no index can find a substring that short. */
const SHORT_Q =
  'q shorter than a trigram (3 characters): no index narrows it, so it reads every task of the user (as the whole-user read does) ' +
  'unless enough of them match early; a typical user reads its ~90';

const SORTS = ['created_at', 'updated_at', 'due_at', 'priority', 'title'] as const;

/** Every filter and sort of the list route, alone and in the combinations a client sends. */
const CASES: Case[] = [
  { query: '' },
  { query: 'limit=50' },
  { query: 'limit=50', position: 'page2' },
  { query: 'limit=50', position: 'deep' },
  { query: 'status=pending' },
  { query: 'status=pending&limit=50' },
  { query: 'status=completed&limit=50' },
  { query: 'status=completed&limit=50', position: 'deep' },
  { query: 'q={frequent}' },
  { query: 'q={frequent}&limit=50' },
  { query: 'q={rare}' },
  { query: 'q={rare}&limit=50' },
  // Shorter than a trigram: the index cannot narrow by the text, only by the user.
  { query: 'q={short}', knownLimit: SHORT_Q },
  { query: 'q={short}&limit=50', knownLimit: SHORT_Q },
  { query: 'q={shortCommon}&limit=50', knownLimit: SHORT_Q },
  // A word in about a third of the tasks.
  { query: 'q={common}' },
  { query: 'q={common}&limit=50' },
  { query: 'priority=high' },
  { query: 'priority=high&limit=50' },
  { query: 'priority=high,medium&limit=50' },
  { query: 'tag={tag1}' },
  { query: 'tag={tag1}&limit=50' },
  { query: 'tag={tag1}&tag={tag2}&limit=50' },
  { query: 'due_before={now}&limit=50' },
  { query: 'due_after={now}&limit=50' },
  { query: 'due_after={now}&due_before={week}' },
  // Each sort key both ways: first page and a deep page (-created_at is the default, above), and unpaged.
  ...SORTS.flatMap((s) => [s, `-${s}`])
    .filter((s) => s !== '-created_at')
    .flatMap((s): Case[] => [{ query: `sort=${s}&limit=50` }, { query: `sort=${s}&limit=50`, position: 'deep' }]),
  { query: 'sort=due_at&limit=50', position: 'no-due' },
  { query: 'sort=-due_at&limit=50', position: 'no-due' },
  ...['created_at', '-updated_at', 'due_at', '-priority', 'title'].map((s): Case => ({ query: `sort=${s}` })),
  { query: 'status=pending&priority=high,medium&sort=-due_at&limit=50' },
  { query: 'status=pending&due_before={week}&sort=due_at&limit=50' },
  // The bench's all-filtered page: few matches in each list, most of them dated.
  { query: 'status=pending&priority=high,medium&tag={tag1}&sort=due_at&limit=50' },
  { query: 'status=completed&sort=-updated_at&limit=50' },
  { query: 'q={frequent}&tag={tag1}' },
  { query: 'q={frequent}&status=pending&sort=-priority&limit=50' },
  { query: 'q={rare}&sort=-updated_at&limit=50' },
  { query: 'tag={tag1}&sort=title&limit=50' },
  { query: 'priority=high&tag={tag1}&status=pending&limit=50' },
  // Version 3: one list of the user's (the big user's 20 lists hold 5% of their tasks each; the
  // cases above read across all 20), in its manual order too.
  { query: 'list_id={list}&limit=50' },
  { query: 'list_id={list}&limit=50', position: 'deep' },
  { query: 'list_id={list}&sort=position&limit=50' },
  { query: 'list_id={list}&sort=position&limit=50', position: 'deep' },
  { query: 'list_id={list}&sort=-position&limit=50' },
  { query: 'list_id={list}&status=pending&sort=due_at&limit=50' },
  // The top level of a list in its manual order (a client's tree view).
  { query: 'list_id={list}&parent_id=none&sort=position&limit=50' },
  { query: 'list_id={list}&parent_id=none&sort=position&limit=50', position: 'deep' },
];

const POSITION_LABEL: Record<Position, string> = {
  first: '',
  page2: ' [page 2]',
  deep: ' [deep page]',
  'no-due': ' [page among no due_at]',
};

/** The query string's values as the route's validated PageQuery (arrays for the repeatable ones). */
function parseQuery(query: string, values: Record<string, string>): PageQuery {
  const filled = query.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? `{${name}}`));
  const params = new URLSearchParams(filled);
  const out: Record<string, unknown> = {};
  for (const key of new Set(params.keys())) {
    if (key === 'priority' || key === 'tag') out[key] = params.getAll(key);
    else if (key === 'limit') out[key] = Number(params.get(key));
    else out[key] = params.get(key);
  }
  return out as PageQuery;
}

interface User {
  role: 'big' | 'typical';
  id: string;
  tasks: number;
  /** The list of the `list_id` cases: one of the big user's 20 (not the Inbox); the typical user's Inbox. */
  list: number;
}

interface Result {
  case: string;
  user: User['role'];
  userTasks: number;
  sql: string;
  params: unknown[];
  summary: PlanSummary;
  ordered: string;
  problems: string[];
  /** Set when the problems of this run (big user) are a known limit (Case.knownLimit). */
  knownLimit?: string;
  plan: ExplainOutput;
  /** The query on a connection that ran the statement for typical users first (prepare=true only). */
  prepared?: Prepared;
}

interface Prepared {
  /** Whether PostgreSQL chose its generic plan (planned without the values: `$1` in the plan). */
  generic: boolean;
  summary: PlanSummary;
  ordered: string;
  problems: string[];
  plan: ExplainOutput;
}

/** The service's database client on `url`, configured as the service would configure it. */
function serviceConfig(url: string): Config {
  const pass = (name: string) => (process.env[name] === undefined ? {} : { [name]: process.env[name] });
  return loadConfig(
    {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: join(tmpdir(), `task-api-explain-${process.pid}`),
      BETTER_AUTH_SECRET: 'task-api-explain-secret-0123456789abcdef',
      DATABASE_URL: url,
      ...pass('DATABASE_PREPARE'),
      ...pass('MAX_TASKS_PER_LIST'),
    },
    false,
  );
}

/**
 * A repository whose statements are EXPLAINed: the same text and parameters the service's
 * repository sends, through the same client, with the EXPLAIN in front. `last` keeps what was sent.
 */
function explainingRepository(database: Database, config: Config) {
  const last = { text: '', params: [] as unknown[] };
  const exec = {
    rows<T>(text: string, params: readonly unknown[]): Promise<T[]> {
      last.text = text;
      last.params = [...params];
      return database.rows<T>(`explain (analyze, buffers, format json) ${text}`, params);
    },
  };
  return { repository: createTasksRepository(exec, { maxTasksPerUser: config.maxTasksPerUser }), last };
}

/** Who asks, as the service resolves it per request (src/access/). */
let access: Access | undefined;
const scopeOf = (user: User) => (access as Access).resolve(user.id);

/** The route's spec for a query (with a cursor at `position`, found by running the list for real). */
async function specFor(c: Case, user: User, values: Record<string, string>, real: TasksRepository, maxPerPage: number): Promise<PageSpec> {
  const query = parseQuery(c.query, { ...values, list: String(user.list) });
  const scope = await scopeOf(user);
  const first = pageSpec(scope, query, maxPerPage);
  const position = c.position ?? 'first';
  if (position === 'first') return first.spec;
  // A page of one list is as deep into that list (one of the big user's LISTS_OF_BIG_USER).
  const size = query.list_id !== undefined && user.role === 'big' ? Math.round(user.tasks / LISTS_OF_BIG_USER) : user.tasks;
  const depth = position === 'page2' ? first.spec.limit : Math.max(1, Math.round(size * (position === 'deep' ? 0.3 : 0.8)));
  // The route would hand out the cursor of the last row of the page before: the row at `depth`.
  const { rows } = await real.page({ ...first.spec, limit: depth });
  const last = rows.at(-1);
  if (last === undefined) return first.spec;
  return pageSpec(scope, { ...query, cursor: encodeCursor(first.hash, last.sort_key, last.id) }, maxPerPage).spec;
}

type Ctx = { real: TasksRepository; explain: ReturnType<typeof explainingRepository>; maxPerPage: number; database: Database };

/** The median of EXPLAIN_RUNS runs of `run` by execution time: the first run also warms the cache, and the machine is shared. */
async function medianPlan(run: () => Promise<ExplainOutput>): Promise<ExplainOutput> {
  const plans: ExplainOutput[] = [];
  for (let i = 0; i < EXPLAIN_RUNS; i++) plans.push(await run());
  return [...plans].sort((a, b) => a['Execution Time'] - b['Execution Time'])[Math.floor(EXPLAIN_RUNS / 2)] as ExplainOutput;
}

const firstPlan = (rows: unknown) => (rows as { 'QUERY PLAN': ExplainOutput[] }[])[0]?.['QUERY PLAN'][0] as ExplainOutput;

/** As the route asks: one row more than the page, to know whether there is a next one. */
const asked = (spec: PageSpec): PageSpec => ({ ...spec, limit: spec.limit + 1 });

async function runCase(name: string, user: User, spec: PageSpec, ctx: Ctx): Promise<Result> {
  const plan = await medianPlan(async () => firstPlan((await ctx.explain.repository.page(asked(spec))).rows));
  const summary = summarize(plan);
  return {
    case: name,
    user: user.role,
    userTasks: user.tasks,
    sql: ctx.explain.last.text,
    params: ctx.explain.last.params,
    summary,
    ordered: orderedBy(summary),
    problems: problems(summary, user),
    plan,
  };
}

/** A parameter as a SQL literal, for EXECUTE: what postgres.js would send as text, quoted. */
function literal(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return literal(v.toISOString());
  if (Array.isArray(v)) return literal(`{${v.map((x) => `"${String(x).replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`);
  return `'${String(v).replace(/'/g, "''")}'`;
}

/**
 * With prepare=true (the default for a direct DATABASE_URL and for the embedded server) postgres.js
 * keeps each statement prepared on its connection, and after CUSTOM_PLAN_RUNS executions
 * PostgreSQL may plan it once for all values (the generic plan), when that plan's estimate is no
 * worse than the custom ones': estimated for an average user, it then serves the big user too.
 * EXPLAIN on the protocol always plans with the values, so this replays it: PREPARE, EXECUTE
 * for typical users' values, then EXPLAIN ANALYZE EXECUTE for the big user's.
 */
async function runPrepared(database: Database, warm: BuiltQuery, target: BuiltQuery, user: User): Promise<Prepared> {
  const conn = await database.sql.reserve();
  const args = (q: BuiltQuery) => q.params.map(literal).join(', ');
  try {
    await conn.unsafe(`prepare bench_list as ${target.text}`);
    for (let i = 0; i < CUSTOM_PLAN_RUNS; i++) await conn.unsafe(`execute bench_list(${args(warm)})`);
    const plan = await medianPlan(async () => firstPlan(await conn.unsafe(`explain (analyze, buffers, format json) execute bench_list(${args(target)})`)));
    const summary = summarize(plan);
    return { generic: /\$1\b/.test(JSON.stringify(plan.Plan)), summary, ordered: orderedBy(summary), problems: problems(summary, user), plan };
  } finally {
    await conn.unsafe('deallocate bench_list').catch(() => {});
    conn.release();
  }
}

/** The SQL and parameters the repository would send for a spec, without sending them. */
function builder(config: Config) {
  let built: BuiltQuery = { text: '', params: [] };
  const capture = {
    rows<T>(text: string, params: readonly unknown[], options?: RunOptions): Promise<T[]> {
      built = { text, params: [...params], planEachTime: options?.planEachTime === true };
      return Promise.resolve([]);
    },
  };
  const repository = createTasksRepository(capture, { maxTasksPerUser: config.maxTasksPerUser });
  return async (spec: PageSpec): Promise<BuiltQuery> => {
    await repository.page(spec);
    return built;
  };
}

function problems(s: PlanSummary, user: User): string[] {
  const out: string[] = [];
  if (s.seqScanOnTasks) out.push('seq scan on tasks');
  const limit = user.role === 'big' ? THRESHOLDS.bigMs : THRESHOLDS.typicalMs;
  if (s.executionMs > limit) out.push(`${s.executionMs.toFixed(1)} ms > ${limit} ms`);
  if (user.role === 'big') {
    for (const sort of s.sorts) {
      if (sort.input > THRESHOLDS.sortRows) out.push(`sorts ${sort.input} rows (${sort.method})`);
    }
  }
  return out;
}

/** The big user (user 0) and the user whose task count is nearest the median (ties: smallest id). */
async function pickUsers(url: string): Promise<User[]> {
  const sql = connect(url);
  try {
    const bigId = createHash('md5').update('bench-user-0').digest('hex');
    const [big] = await sql<{ n: number }[]>`select task_count as n from user_changes where user_id = ${bigId}`;
    const [typical] = await sql<{ id: string; n: number }[]>`
      with m as (select percentile_disc(0.5) within group (order by task_count) as median from user_changes)
      select user_id as id, task_count as n from user_changes, m order by abs(task_count - m.median), user_id limit 1`;
    if (big === undefined || typical === undefined) throw new Error('no users loaded');
    const listOf = async (id: string) =>
      (await sql<{ id: number }[]>`select id from lists where owner_id = ${id} order by is_default, id limit 1`)[0]?.id as number;
    return [
      { role: 'big', id: bigId, tasks: big.n, list: await listOf(bigId) },
      { role: 'typical', id: typical.id, tasks: typical.n, list: await listOf(typical.id) },
    ];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * What reading all of the big user's tasks costs here: the default list with room for all of them
 * (in index order, no sort), the scale the 50 ms threshold is set against.
 */
async function wholeUserReadMs(user: User, ctx: { explain: ReturnType<typeof explainingRepository>; maxPerPage: number }): Promise<number> {
  const { spec } = pageSpec(await scopeOf(user), {}, ctx.maxPerPage);
  const { rows } = await ctx.explain.repository.page({ ...spec, limit: user.tasks + 1 });
  return firstPlan(rows)['Execution Time'];
}

const fmt = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

/** Every problem of a run, its prepared replay's included. */
const allProblems = (r: Result) => [...r.problems, ...(r.prepared?.problems.map((p) => `prepared: ${p}`) ?? [])];

function detailRow(r: Result, label: string, s: PlanSummary, ordered: string, problems: string[]): string {
  return (
    `| \`${r.case}\` | ${label} | ${s.rows} | ${fmt(s.executionMs)} | ${s.rowsExamined} | ${s.buffers} | ${s.indexes.join(', ') || '-'} | ` +
    `${s.seqScanOnTasks ? '**yes**' : 'no'} | ${ordered} | ${s.shape} | ${problems.join('; ') || 'ok'} |`
  );
}

function detailTable(results: Result[]): string {
  const lines = [
    '| query | user | rows | exec ms | rows read | buffers | index(es) | seq scan | order | plan | problems |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    lines.push(detailRow(r, `${r.user} (${r.userTasks})`, r.summary, r.ordered, r.problems));
    const p = r.prepared;
    if (p) lines.push(detailRow(r, `${r.user}, prepared (${p.generic ? 'generic' : 'custom'} plan)`, p.summary, p.ordered, p.problems));
  }
  return lines.join('\n');
}

/** One row per query: the big user's plan and times next to the typical user's. */
function summaryTable(results: Result[]): string {
  const lines = [
    '| query | 100k user: index(es) | order | rows read | ms | prepared, after 5 typical: plan, ms | typical user: index(es) | ms | prepared: ms | verdict |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const byCase = new Map<string, Result[]>();
  for (const r of results) byCase.set(r.case, [...(byCase.get(r.case) ?? []), r]);
  for (const [name, rs] of byCase) {
    const big = rs.find((r) => r.user === 'big');
    const typical = rs.find((r) => r.user === 'typical');
    if (!big || !typical) continue;
    const p = big.prepared;
    const prepared = p === undefined ? '-' : p.generic ? `generic: ${p.summary.indexes.join(', ') || '-'}, ${p.ordered}, ${fmt(p.summary.executionMs)}` : `custom, ${fmt(p.summary.executionMs)}`;
    const bad = [...allProblems(big).map((x) => (big.knownLimit ? `known limit: ${x}` : x)), ...allProblems(typical).map((x) => `typical: ${x}`)];
    const typicalPrepared = typical.prepared === undefined ? '-' : `${typical.prepared.generic ? 'generic' : 'custom'}, ${fmt(typical.prepared.summary.executionMs)}`;
    lines.push(
      `| \`${name}\` | ${big.summary.indexes.join(', ') || '-'} | ${big.ordered} | ${big.summary.rowsExamined} | ${fmt(big.summary.executionMs)} | ${prepared} | ` +
        `${typical.summary.indexes.join(', ') || '-'} | ${fmt(typical.summary.executionMs)} | ${typicalPrepared} | ${bad.join('; ') || 'ok'} |`,
    );
  }
  return lines.join('\n');
}

async function serverFacts(url: string): Promise<Record<string, string>> {
  const sql = connect(url);
  try {
    const names = ['server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit', 'max_parallel_workers_per_gather'];
    const rows = await sql<{ name: string; setting: string }[]>`select name, current_setting(name) as setting from unnest(${names}::text[]) as name`;
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function shapeFor(scale: number): DataShape {
  return {
    tasks: Math.round(1_000_000 * scale),
    users: Math.max(2, Math.round(10_000 * scale)),
    bigUserTasks: Math.max(1, Math.round(100_000 * scale)),
  };
}

/** The service's database client, as src/db/open.ts makes it for an external DATABASE_URL. */
function openService(url: string, config: Config): Database {
  return createDatabase({ url, kind: 'external', where: describeUrl(url), prepare: config.databasePrepare, poolMax: 2, timeoutMs: config.databaseTimeoutMs });
}

type Loaded = LoadReport | { reused: string; applied: string[]; migrateMs: number };

/**
 * A loaded database: a new scratch one, migrated and filled (dropped at the end unless kept), or
 * with --database a kept one, brought up to date by the pending migrations (timed: a migration
 * must be fast on existing data) and never dropped.
 */
async function prepareDatabase(parsed: Options, server: string, cleanups: Array<() => Promise<void>>, log: (line: string) => void) {
  let url: string;
  if (parsed.database !== undefined) {
    url = databaseUrl(server, parsed.database);
  } else {
    const scratch = await createScratchDatabase(server, 'bench_explain');
    if (scratch === null) throw new Error(`could not create a scratch database on ${redactUrl(server)}`);
    if (parsed.keepDatabase) log(`database kept: ${scratch.name} (run again with --database ${scratch.name})`);
    else cleanups.push(() => scratch.drop());
    url = scratch.url;
  }
  const config = serviceConfig(url);
  log(`migrating ${describeUrl(url)}`);
  // A client of its own: postgres.js learns the array types (task_priority[]) when it connects,
  // so the client that runs the queries connects after the migrations made them (the service
  // reconnects after applying migrations for the same reason, src/db/open.ts).
  const migrator = openService(url, config);
  const t0 = performance.now();
  let applied: string[];
  try {
    applied = await migrate(migrator.db);
  } finally {
    await migrator.close();
  }
  const migrateMs = Math.round(performance.now() - t0);
  if (parsed.database !== undefined) {
    log(`reusing ${parsed.database}: migrations applied ${applied.join(', ') || 'none'} in ${migrateMs} ms`);
    return { url, config, load: { reused: parsed.database, applied, migrateMs } as Loaded };
  }
  const shape = shapeFor(parsed.scale);
  log(`loading ${shape.tasks} tasks for ${shape.users} users (one with ${shape.bigUserTasks})`);
  const load = await loadData(url, shape, log);
  log(`loaded in ${(load.totalMs / 1000).toFixed(1)} s: table ${load.tableMb} MB, indexes ${load.indexMb} MB`);
  return { url, config, load: load as Loaded };
}

function describeLoad(load: Loaded): string {
  if ('reused' in load) return `Load: reused database ${load.reused}; pending migrations (${load.applied.join(', ') || 'none'}) applied in ${(load.migrateMs / 1000).toFixed(1)} s.`;
  const phases = Object.entries(load.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ');
  return `Load: ${(load.totalMs / 1000).toFixed(1)} s (${phases}); table ${load.tableMb} MB, indexes ${load.indexMb} MB.`;
}

async function main(cleanups: Array<() => Promise<void>>): Promise<number> {
  const parsed = options(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const server = process.env.BENCH_DATABASE_URL ?? DEFAULT_PG_SERVER;
  const startedAt = new Date();
  const { url, config, load } = await prepareDatabase(parsed, server, cleanups, log);
  const database = openService(url, config);
  cleanups.push(() => database.close());
  const users = await pickUsers(url);
  const data = await describeData(url, (users[0] as User).id);

  const values = {
    frequent: FREQUENT_WORD,
    rare: RARE_WORD,
    short: RARE_WORD.slice(0, 2),
    shortCommon: COMMON_WORD.slice(0, 2),
    common: COMMON_WORD,
    tag1: TAG_ONE,
    tag2: TAG_TWO,
    now: startedAt.toISOString(),
    week: new Date(startedAt.getTime() + 7 * 86_400_000).toISOString(),
  };
  const real = createTasksRepository(database, { maxTasksPerUser: config.maxTasksPerUser });
  access = createAccess(database);
  const ctx: Ctx = { real, explain: explainingRepository(database, config), maxPerPage: config.maxTasksPerPage, database };
  const results: Result[] = [];
  const build = builder(config);
  const [big, typical] = users as [User, User];
  for (const c of CASES) {
    const name = `${c.query === '' ? '(default)' : c.query}${POSITION_LABEL[c.position ?? 'first']}`;
    const specs = { big: await specFor(c, big, values, real, ctx.maxPerPage), typical: await specFor(c, typical, values, real, ctx.maxPerPage) };
    for (const user of users) {
      const r = await runCase(name, user, specs[user.role], ctx);
      if (user.role === 'big' && c.knownLimit !== undefined) r.knownLimit = c.knownLimit;
      results.push(r);
      // The statement warmed up by typical users (most of the traffic), then run for this user: the
      // service's own way for a statement it keeps prepared.
      const target = await build(asked(specs[user.role]));
      if ((parsed.replayPrepared || !target.planEachTime) && config.databasePrepare) r.prepared = await runPrepared(database, await build(asked(specs.typical)), target, user);
      const p = r.prepared;
      log(
        `  ${r.case} [${user.role}]: ${r.summary.rows} rows, ${fmt(r.summary.executionMs)} ms, ${r.summary.indexes.join(', ') || 'no index'}, ${r.ordered}` +
          (p ? ` | prepared (${p.generic ? 'generic' : 'custom'}): ${fmt(p.summary.executionMs)} ms, ${p.summary.indexes.join(', ')}, ${p.ordered}` : '') +
          ([...r.problems, ...(p?.problems ?? [])].length ? `  <-- ${[...r.problems, ...(p?.problems.map((x) => `prepared: ${x}`) ?? [])].join('; ')}` : ''),
      );
    }
  }
  const wholeUserMs = await wholeUserReadMs(users[0] as User, ctx);
  const facts = await serverFacts(url);

  const failed = results.filter((r) => allProblems(r).length > 0 && r.knownLimit === undefined);
  const known = results.filter((r) => allProblems(r).length > 0 && r.knownLimit !== undefined);
  const out = (s = '') => process.stdout.write(`${s}\n`);
  out(`# EXPLAIN of the list queries (${new Date().toISOString()})`);
  out();
  out(`${data.all.tasks} tasks, ${data.all.users} users; big user ${users[0]?.tasks} tasks, typical user ${users[1]?.tasks} tasks. ` +
    `PostgreSQL ${facts.server_version} at ${describeUrl(server)}, ${cpus().length} cores, prepare=${config.databasePrepare}.`);
  out(describeLoad(load));
  out(`Data: ${JSON.stringify(data)}`);
  out(`Whole-user read (the default list of the big user with room for all ${users[0]?.tasks} tasks, index order): ${fmt(wholeUserMs)} ms.`);
  out(`Placeholders: ${Object.entries(values).map(([k, v]) => `{${k}} = ${v}`).join(', ')}.`);
  out(`Thresholds: 100k user ${THRESHOLDS.bigMs} ms, typical ${THRESHOLDS.typicalMs} ms, no seq scan on tasks, no sort of more than ${THRESHOLDS.sortRows} of the big user's rows.`);
  out();
  out('## Summary (ms: EXPLAIN ANALYZE execution time, median of 3; rows read: rows of tasks the scans touched)');
  out();
  out(summaryTable(results));
  out();
  out('## Every run');
  out();
  out(detailTable(results));
  out();
  for (const reason of new Set(known.map((r) => r.knownLimit))) {
    out(`Known limit (${known.filter((r) => r.knownLimit === reason).map((r) => `\`${r.case}\``).join(', ')}): ${reason}.`);
  }
  out(failed.length === 0 ? 'All other queries within bounds.' : `${failed.length} run(s) out of bounds: ${failed.map((r) => `${r.case} [${r.user}]`).join(', ')}`);

  mkdirSync(parsed.outDir, { recursive: true });
  const file = join(parsed.outDir, `explain-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), node: process.version, cpus: cpus().length, server: facts, prepare: config.databasePrepare, maxTasksPerPage: config.maxTasksPerPage, thresholds: THRESHOLDS, load, data, users, wholeUserMs, results }, null, 2)}\n`,
  );
  out(`\nJSON: ${file}`);
  return failed.length > 0 ? 1 : 0;
}

/** Runs the cleanups once, newest first, each bounded (a dead server must not hang the exit). */
async function runCleanups(cleanups: Array<() => Promise<void>>): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    await Promise.race([fn().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cleanups: Array<() => Promise<void>> = [];
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\nbench:explain: ${sig}: dropping the scratch database...\n`);
    void runCleanups(cleanups).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main(cleanups).then(
    async (code) => {
      await runCleanups(cleanups);
      process.exit(code);
    },
    async (err: unknown) => {
      process.stderr.write(`bench:explain: ${(err as Error).stack ?? String(err)}\n`);
      await runCleanups(cleanups);
      process.exit(1);
    },
  );
}
