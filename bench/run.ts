// `npm run bench` entry point: parse flags, run the bench, print the table, write the JSON.
// Run `node dist/bench/run.js --help` for the flags.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultOptions, runBench, type BenchOptions } from './harness.js';
import { formatComparison, type BenchReport } from './report.js';
import { killAllChildrenSync, repoRoot } from './servers.js';
import { SCENARIO_NAMES, type ScenarioName } from './scenarios.js';

const HELP = `usage: npm run bench -- [flags]      (= node dist/bench/run.js [flags])

Starts our server (node dist/src/server.js) on a free loopback port, seeds it through the API,
and drives it with autocannon, one scenario after another:
  ${SCENARIO_NAMES.join(', ')}
Prints a table and writes bench/results/<timestamp>.json.

  --duration <s>          seconds per scenario (default 10)
  --connections <n>       concurrent connections (default 32)
  --warmup <s>            seconds of mixed load before each target's scenarios, not recorded (default 2)
  --scenarios <a,b>       subset, comma-separated (default: all)
  --users <n>             users for the mixed scenario (default 100)
  --tasks-per-user <n>    tasks per mixed user (default 20)
  --max-requests <n>      cap per scenario, on top of --duration (default 2000000)
  --compare-reference     also run ../shared/reference-fastapi/run.sh and the three ceilings
  --reference-dir <dir>   where run.sh is (default ../shared/reference-fastapi from the repo root)
  --no-ceilings           with --compare-reference: skip the ceilings
  --ceilings              run the ceilings without the reference
  --skip-ours             do not start our server (reference and/or ceilings only)
  --embedded-too          with BENCH_DATABASE_URL: also run our server on the embedded PostgreSQL
                          (target ours-embedded), side by side in the same run
  --nocache-too           also run ours with the list cache off (target ours-nocache, LIST_CACHE_MB=0):
                          what the list queries themselves cost (repeated lists are cache hits)
  --instances <n>         with BENCH_DATABASE_URL: also run n instances of ours on one database,
                          the connections split evenly (target ours-xN)
  --lists-tasks <n>       tasks of each lists account of the version-3 reads (all-tasks, all-tasks-due,
                          all-filtered: 20 lists of one user; list-position: one list; default 10000)
  --big <filtered,deep>   tasks of the two big accounts of list-filtered / search, page-deep
                          (default 10000,100000)
  --streams <n>           event streams the streams scenario opens (default 1000, 10 per user)
  --profile               CPU profile of our server (node --cpu-prof), summarised at the end; its
                          warm-up is the first scenario (run one scenario per profile)
  --compare <file.json>   compare this run with an earlier one (bench/results/*.json)
  --shared                then the shared-list phase (npm run bench:shared: a list of 5 members with
                          their streams open on two instances beside 1,000 others; the latency from a
                          write to the last member's event, PostgreSQL CPU per write shared against
                          private), on BENCH_DATABASE_URL's server (default the local one)
  --env <NAME=value>      an environment variable for our server (repeatable), e.g. --env LIST_CACHE_MB=0
  --server-cmd "<cmd>"    how to start our server (default "node dist/src/server.js"; split on spaces)
  --pool-max <n>          postgres.js pool size of the ceilings (default 10)
  --out <dir>             where the JSON goes (default bench/results)
  --quiet                 no progress lines
  -h, --help

Environment: BENCH_DATABASE_URL (PostgreSQL server for our server; a scratch database is created
on it and dropped afterwards; unset: the embedded PostgreSQL in a temp dir), WORKERS (passed through).
The reference always needs PostgreSQL: BENCH_DATABASE_URL's server, else postgresql://postgres@127.0.0.1:5432.`;

export function parseCli(argv: string[]): (BenchOptions & { compare?: string; shared?: boolean }) | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      scenarios: { type: 'string' },
      users: { type: 'string' },
      'tasks-per-user': { type: 'string' },
      'max-requests': { type: 'string' },
      'compare-reference': { type: 'boolean' },
      'reference-dir': { type: 'string' },
      'no-ceilings': { type: 'boolean' },
      ceilings: { type: 'boolean' },
      'skip-ours': { type: 'boolean' },
      'embedded-too': { type: 'boolean' },
      instances: { type: 'string' },
      'nocache-too': { type: 'boolean' },
      big: { type: 'string' },
      'lists-tasks': { type: 'string' },
      streams: { type: 'string' },
      profile: { type: 'boolean' },
      compare: { type: 'string' },
      shared: { type: 'boolean' },
      env: { type: 'string', multiple: true },
      'server-cmd': { type: 'string' },
      'pool-max': { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const o = defaultOptions();
  const num = (flag: string, v: string | undefined, def: number, min: number, max: number): number => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${flag} must be a number in [${min}, ${max}], got "${v}"`);
    return n;
  };
  o.durationS = num('duration', values.duration, o.durationS, 1, 600);
  o.connections = Math.floor(num('connections', values.connections, o.connections, 1, 1024));
  o.warmupS = num('warmup', values.warmup, o.warmupS, 0, 120);
  o.users = Math.floor(num('users', values.users, o.users, 1, 10_000));
  o.tasksPerUser = Math.floor(num('tasks-per-user', values['tasks-per-user'], o.tasksPerUser, 1, 1000));
  o.maxRequests = Math.floor(num('max-requests', values['max-requests'], o.maxRequests, 1, 50_000_000));
  o.poolMax = Math.floor(num('pool-max', values['pool-max'], o.poolMax, 1, 100));
  o.instances = Math.floor(num('instances', values.instances, o.instances, 1, 8));
  o.streams = Math.floor(num('streams', values.streams, o.streams, 1, 20_000));
  if (values.big !== undefined) {
    const [filtered, deep] = values.big.split(',');
    o.big = {
      filteredTasks: Math.floor(num('big', filtered, o.big.filteredTasks, 100, 1_000_000)),
      deepTasks: Math.floor(num('big', deep, o.big.deepTasks, 1000, 1_000_000)),
    };
  }
  o.listsTasks = Math.floor(num('lists-tasks', values['lists-tasks'], o.listsTasks, 1000, 1_000_000));
  o.profile = values.profile ?? false;
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new Error(`--env must be NAME=value, got "${pair}"`);
    o.oursEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.scenarios) {
    const names = values.scenarios.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) {
      if (!(SCENARIO_NAMES as readonly string[]).includes(n)) throw new Error(`--scenarios: unknown "${n}" (known: ${SCENARIO_NAMES.join(', ')})`);
    }
    o.scenarios = names as ScenarioName[];
  }
  o.compareReference = values['compare-reference'] ?? false;
  o.ceilings = values.ceilings ?? (o.compareReference && !values['no-ceilings']);
  o.skipOurs = values['skip-ours'] ?? false;
  o.embeddedToo = values['embedded-too'] ?? false;
  o.nocacheToo = values['nocache-too'] ?? false;
  if (values['reference-dir']) o.referenceDir = resolve(values['reference-dir']);
  if (values['server-cmd']) o.serverCommand = values['server-cmd'].split(' ').filter(Boolean);
  if (values.out) o.outDir = resolve(values.out);
  o.progress = !values.quiet;
  const compare = values.compare === undefined ? {} : { compare: resolve(values.compare) };
  const dbUrl = process.env.BENCH_DATABASE_URL;
  if (dbUrl) o.databaseUrl = dbUrl;
  if (process.env.WORKERS) o.workers = process.env.WORKERS;
  return { ...o, ...compare, shared: values.shared ?? false };
}

async function main(): Promise<number> {
  let opts: ReturnType<typeof parseCli>;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  process.chdir(repoRoot());
  const cleanup = { fns: [] as Array<() => Promise<void> | void> };
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}: stopping children and dropping scratch databases...\n`);
    killAllChildrenSync();
    const fns = cleanup.fns.splice(0).reverse();
    void (async () => {
      for (const fn of fns) await Promise.race([Promise.resolve().then(fn).catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
      process.exit(130);
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', killAllChildrenSync);

  try {
    const { text, file, report } = await runBench(opts, cleanup);
    process.stdout.write(text);
    if (opts.compare) {
      const before = JSON.parse(readFileSync(opts.compare, 'utf8')) as BenchReport;
      process.stdout.write(formatComparison(before, report, opts.compare));
    }
    process.stdout.write(`\nJSON: ${file}\n`);
    if (opts.shared) {
      // bench/shared.ts, as `npm run bench:shared` runs it: its own servers and scratch database.
      const server = process.env.BENCH_DATABASE_URL;
      const args = [resolve(repoRoot(), 'dist/bench/shared.js'), ...(server ? ['--database-url', server] : [])];
      process.stdout.write('\nshared lists (bench/shared.ts):\n');
      const code = await new Promise<number>((done) => spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', (c) => done(c ?? 1)));
      if (code !== 0) return code;
    }
    const errors = report.targets.filter((t) => t.label.startsWith('ours')).flatMap((t) => t.scenarios).reduce((a, s) => a + s.errors, 0);
    return errors > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
