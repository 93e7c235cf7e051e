// Orchestration: start each target, seed it, warm it up, run the scenarios, stop it; then the
// ceilings; then the report. Used by bench/run.ts (CLI) and test/bench/bench.smoke.test.ts.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import postgres from 'postgres';
import type { DbLoopResult } from './ceilings.js';
import { computeRatios, formatReport, writeReport, type BenchReport, type TargetReport } from './report.js';
import { summarizeProfile } from './profile.js';
import {
  BIG_SCENARIOS,
  LISTS_SCENARIOS,
  MIXED_WEIGHTS,
  SCENARIO_NAMES,
  V2_SCENARIOS,
  buildScenario,
  runScenario,
  type LoadOptions,
  type RunContext,
  type ScenarioName,
} from './scenarios.js';
import { BENCH_SECRET, listEtag, newSeedPlan, seedBig, seedLists, seedDescription, seedThroughApi, seedTitle, signToken, type BigPlan, type SeedData, type SeedPlan } from './seed.js';
import { StreamsPhase } from './streams.js';
import {
  Child,
  DEFAULT_PG_SERVER,
  benchModuleCommand,
  createScratchDatabase,
  freePort,
  redactUrl,
  repoRoot,
  sleep,
  sqlalchemyUrl,
} from './servers.js';
import { TASKS_DDL } from './sql.js';
import { driverArgs } from '../src/db/embedded.js';

export interface BenchOptions {
  durationS: number;
  connections: number;
  /** Seconds of mixed load before each target's first scenario (not recorded); 0 = none. */
  warmupS: number;
  /** Cap on requests per scenario. */
  maxRequests: number;
  timeoutS: number;
  scenarios: ScenarioName[];
  users: number;
  tasksPerUser: number;
  listTasks: number;
  /** The lists accounts of the version-3 reads: tasks of each (20 lists of the first; one list of the second). */
  listsTasks: number;
  /** Our server; default `node dist/src/server.js` in the repo root. */
  serverCommand: string[];
  skipOurs: boolean;
  /** PostgreSQL for our server (BENCH_DATABASE_URL). Unset: the embedded PostgreSQL in DATA_DIR. */
  databaseUrl?: string;
  /** DATA_DIR for our server (the embedded PostgreSQL lives there); default: a fresh temp dir. */
  dataDir?: string;
  /** With databaseUrl: run our server on the embedded PostgreSQL too ('ours-embedded'). */
  embeddedToo: boolean;
  /** Run ours again with the list cache off ('ours-nocache'): what the list queries cost. */
  nocacheToo: boolean;
  /** Passed through to our server and the reference as WORKERS. */
  workers?: string;
  /** The big accounts of list-filtered, search and page-deep. */
  big: BigPlan;
  /** Event streams the streams phase opens (and streams per user). */
  streams: number;
  streamsPerUser: number;
  /** Writes of the streams phase, spread over streamWriteSeconds. */
  streamWrites: number;
  streamWriteSeconds: number;
  /** With databaseUrl and > 1: also run that many instances of ours on one database ('ours-xN'). */
  instances: number;
  /** Write a CPU profile of our server (node --cpu-prof) and summarise it. */
  profile: boolean;
  /** More environment for our server (--env), applied last. */
  oursEnv: Record<string, string>;
  compareReference: boolean;
  referenceDir: string;
  /** The three ceilings (default: with --compare-reference). */
  ceilings: boolean;
  poolMax: number;
  outDir: string;
  progress: boolean;
  log: (line: string) => void;
}

export function defaultOptions(): BenchOptions {
  const root = repoRoot();
  return {
    durationS: 10,
    connections: 32,
    warmupS: 2,
    maxRequests: 2_000_000,
    timeoutS: 10,
    scenarios: [...SCENARIO_NAMES],
    users: 100,
    tasksPerUser: 20,
    listTasks: 50,
    listsTasks: 10_000,
    big: { filteredTasks: 10_000, deepTasks: 100_000 },
    streams: 1000,
    streamsPerUser: 10,
    streamWrites: 500,
    streamWriteSeconds: 10,
    instances: 1,
    profile: false,
    oursEnv: {},
    serverCommand: [process.execPath, join(root, 'dist/src/server.js')],
    skipOurs: false,
    embeddedToo: false,
    nocacheToo: false,
    compareReference: false,
    referenceDir: resolve(root, '../shared/reference-fastapi'),
    ceilings: false,
    poolMax: 10,
    outDir: join(root, 'bench/results'),
    progress: true,
    log: (line) => process.stderr.write(line + '\n'),
  };
}

/** The environment every child gets: only what it needs, never the harness's own env wholesale. */
function baseEnv(): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG, TMPDIR: process.env.TMPDIR };
}

interface Cleanup {
  fns: Array<() => Promise<void> | void>;
}

export interface BenchOutcome {
  report: BenchReport;
  file: string;
  text: string;
}

export async function runBench(opts: BenchOptions, cleanup: Cleanup = { fns: [] }): Promise<BenchOutcome> {
  const root = repoRoot();
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  const targets: TargetReport[] = [];
  const load: LoadOptions = { connections: opts.connections, durationS: opts.durationS, maxRequests: opts.maxRequests, timeoutS: opts.timeoutS };
  const plan = newSeedPlan(opts.users, opts.tasksPerUser, opts.listTasks);
  const tmp = mkdtempSync(join(tmpdir(), 'task-api-bench-'));
  chmodSync(tmp, 0o711); // the embedded PostgreSQL's OS user (when run as root) must enter it
  cleanup.fns.push(() => rmSync(tmp, { recursive: true, force: true }));
  const pgServer = opts.databaseUrl ?? DEFAULT_PG_SERVER;
  let dbCeiling: BenchReport['dbCeiling'] = null;

  let oursSeed: SeedData | null = null;
  let oursDbUrl: string | null = null; // PostgreSQL database our server used (for ceilings b and c)
  let refSeed: SeedData | null = null;

  try {
    // ---- ours: on BENCH_DATABASE_URL's server ('ours') and/or the embedded PostgreSQL -------------
    if (!opts.skipOurs) {
      const script = opts.serverCommand.find((a) => a.endsWith('.js') || a.endsWith('.ts'));
      if (script && !existsSync(resolve(root, script))) {
        throw new Error(`our server is not built: ${script} is missing (run \`npm run build\` first)`);
      }
      const external = opts.databaseUrl !== undefined;
      const runs: { label: string; external: boolean; instances: number; env?: Record<string, string> }[] = [
        { label: 'ours', external, instances: 1 },
        ...(opts.nocacheToo ? [{ label: 'ours-nocache', external, instances: 1, env: { LIST_CACHE_MB: '0' } }] : []),
        ...(external && opts.instances > 1 ? [{ label: `ours-x${opts.instances}`, external: true, instances: opts.instances }] : []),
        ...(external && opts.embeddedToo ? [{ label: 'ours-embedded', external: false, instances: 1 }] : []),
      ];
      if (opts.instances > 1 && !opts.databaseUrl) notes.push('--instances needs BENCH_DATABASE_URL (the instances share one PostgreSQL): not run');
      for (const run of runs) {
        const env: Record<string, string | undefined> = {
          ...baseEnv(),
          HOST: '127.0.0.1',
          BETTER_AUTH_SECRET: BENCH_SECRET,
          RATE_LIMIT_PER_MINUTE: '0',
          LOG_LEVEL: 'warn',
          NODE_ENV: 'production',
          DATA_DIR: opts.dataDir ?? join(tmp, `${run.label}-data`),
          // Blank, not absent: a .env in the repo root must not point the bench at another database
          // (the server reads .env too, real variables win, and an empty value counts as unset).
          NEON_DATABASE_URL: '',
          DATABASE_URL: '',
          // The big accounts and the create scenario keep more than the default 100,000 tasks; the
          // streams phase opens more connections from 127.0.0.1 than the per-address default.
          MAX_TASKS_PER_USER: '100000000',
          MAX_CONNECTIONS_PER_IP: String(opts.streams + 512),
        };
        if (opts.workers) env.WORKERS = opts.workers;
        Object.assign(env, opts.oursEnv, run.env);
        let dbLabel = `embedded PostgreSQL (DATA_DIR=${env.DATA_DIR})`;
        if (run.external && opts.databaseUrl) {
          const scratch = await createScratchDatabase(opts.databaseUrl, 'bench_ours');
          if (scratch) {
            cleanup.fns.push(scratch.drop);
            oursDbUrl = scratch.url;
          } else {
            oursDbUrl = opts.databaseUrl;
            notes.push('could not create a scratch database on BENCH_DATABASE_URL\'s server; used BENCH_DATABASE_URL itself (run-tagged user ids keep runs apart)');
          }
          env.DATABASE_URL = oursDbUrl;
          dbLabel = `PostgreSQL ${redactUrl(oursDbUrl)}`;
        }
        if (existsSync(join(root, '.env'))) notes.push('a .env exists in the repo root: our server reads it too (the bench sets what it needs; anything else there, e.g. WORKERS, applies)');
        const port = await freePort();
        env.PORT = String(port);
        const profileDir = opts.profile ? join(opts.outDir, 'profiles', `${startedAt.replace(/[:.]/g, '-')}-${run.label}`) : undefined;
        const t = await benchTarget({
          label: run.label,
          description:
            `this repository (Fastify + Drizzle) on ${run.external ? 'BENCH_DATABASE_URL' : 'the embedded PostgreSQL'}` +
            (run.instances > 1 ? `, ${run.instances} instances, the connections split evenly` : ''),
          command: profileDir ? [opts.serverCommand[0] as string, '--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...opts.serverCommand.slice(1)] : opts.serverCommand,
          ...(profileDir ? { profileDir } : {}),
          v2: true,
          instances: run.instances,
          databaseUrl: run.external ? (env.DATABASE_URL as string) : embeddedUrl(env.DATA_DIR as string),
          cwd: root,
          env,
          port,
          readyPath: '/ready',
          readyTimeoutMs: 60_000,
          database: dbLabel,
          usesPostgres: true,
          plan,
          opts,
          load,
        });
        targets.push(t.report);
        oursSeed ??= t.seed;
      }
    }

    // ---- reference -------------------------------------------------------------------------
    if (opts.compareReference) {
      const runSh = join(opts.referenceDir, 'run.sh');
      if (!existsSync(runSh)) {
        notes.push(`reference not run: ${referenceMissing(runSh)}`);
        opts.log(`bench: reference skipped: ${referenceMissing(runSh)}`);
      } else {
        const scratch = await createScratchDatabase(pgServer, 'bench_ref');
        if (!scratch) {
          notes.push(`reference not run: could not create a database on ${redactUrl(pgServer)}`);
        } else {
          cleanup.fns.push(scratch.drop);
          const port = await freePort();
          const env: Record<string, string | undefined> = {
            ...baseEnv(),
            NEON_DATABASE_URL: sqlalchemyUrl(scratch.url),
            BETTER_AUTH_SECRET: BENCH_SECRET,
            PORT: String(port),
          };
          if (opts.workers) env.WORKERS = opts.workers;
          const t = await benchTarget({
            label: 'reference',
            description: 'reference-fastapi/run.sh (FastAPI + SQLModel, uvicorn)',
            command: [runSh],
            cwd: opts.referenceDir,
            env,
            port,
            readyPath: '/health',
            readyTimeoutMs: 300_000, // first start may apt-get install its packages
            database: `PostgreSQL ${redactUrl(scratch.url)}`,
            usesPostgres: true,
            v2: false,
            instances: 1,
            plan,
            opts,
            load,
          });
          targets.push(t.report);
          refSeed = t.seed;
        }
      }
    }

    // ---- ceilings --------------------------------------------------------------------------
    if (opts.ceilings) {
      const seed = oursSeed ?? refSeed ?? (await syntheticSeed(plan));
      const bodyFile = join(tmp, 'list-body.json');
      writeFileSync(bodyFile, (oursSeed ?? seed).listBody);
      const list = buildScenario('list-50', seed);
      const ceilingCmd = benchModuleCommand('ceilings');

      // (a) HTTP alone
      {
        const port = await freePort();
        targets.push(
          await ceilingTarget('ceiling-http', 'bare node:http, fixed list body (no DB, no framework)', [...ceilingCmd, 'http'], root,
            { ...baseEnv(), PORT: String(port), CEILING_BODY_FILE: bodyFile }, port, false, list, opts, load),
        );
      }

      // (b) and (c) need PostgreSQL with our table
      let ceilingDb: string | null = null;
      let listUserId = seed.listUser.id;
      if (oursDbUrl) {
        ceilingDb = oursDbUrl;
      } else if (!opts.skipOurs) {
        notes.push('ceilings (b) db-only and (c) raw node+postgres.js skipped: our server ran on the embedded PostgreSQL, which stops with it (set BENCH_DATABASE_URL to measure them)');
      } else {
        const scratch = await createScratchDatabase(pgServer, 'bench_ceil');
        if (scratch) {
          cleanup.fns.push(scratch.drop);
          ceilingDb = scratch.url;
          listUserId = await seedCeilingDb(scratch.url, plan, seed.listUser.id);
          notes.push('our server was skipped: ceilings (b)/(c) ran on a database the harness built with our DDL and 50 rows');
        } else {
          notes.push(`ceilings (b)/(c) skipped: could not create a database on ${redactUrl(pgServer)}`);
        }
      }
      if (ceilingDb) {
        const port = await freePort();
        targets.push(
          await ceilingTarget('ceiling-raw', 'raw node:http + postgres.js, our list SQL, JSON.stringify (no framework, auth, validation)',
            [...ceilingCmd, 'pg'], root,
            { ...baseEnv(), PORT: String(port), DATABASE_URL: ceilingDb, CEILING_POOL_MAX: String(opts.poolMax) }, port, true, list, opts, load),
        );
        dbCeiling = await runDbCeiling([...ceilingCmd, 'db'], root, ceilingDb, listUserId, opts);
      }
      notes.push(
        `ceilings run as separate processes; postgres.js with prepare: true, pool max ${opts.poolMax}; ` +
          'the ceiling-db loop runs the list SQL with the same concurrency as the HTTP connections',
      );
    }
  } finally {
    for (const fn of cleanup.fns.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        opts.log(`bench: cleanup failed: ${String(err)}`);
      }
    }
  }

  notes.push('autocannon runs in the harness process on the same 2 cores as the servers and PostgreSQL; its CPU is the "bench cpu%" column');
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', node: process.version, platform: process.platform, loadavg1mAtStart: loadavg()[0] ?? 0 },
    config: {
      durationS: opts.durationS,
      connections: opts.connections,
      warmupS: opts.warmupS,
      maxRequests: opts.maxRequests,
      scenarios: opts.scenarios,
      users: opts.users,
      tasksPerUser: opts.tasksPerUser,
      listTasks: opts.listTasks,
      workers: opts.workers ?? null,
      oursEnv: opts.oursEnv,
      mixedWeights: { ...MIXED_WEIGHTS },
      database:
        (opts.databaseUrl ? `PostgreSQL (scratch database on ${redactUrl(opts.databaseUrl)})` : 'embedded PostgreSQL (ours)') +
        (opts.compareReference || opts.ceilings ? `; reference and ceilings on ${redactUrl(pgServer)}` : ''),
    },
    targets,
    dbCeiling,
    ratios: computeRatios(targets, dbCeiling),
    notes,
  };
  const file = writeReport(report, opts.outDir);
  return { report, file, text: formatReport(report) };
}

interface TargetSpec {
  label: string;
  description: string;
  command: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  port: number;
  readyPath: string;
  readyTimeoutMs: number;
  database: string;
  usesPostgres: boolean;
  /** Runs the version-2 scenarios (ours); the others are skipped for it (the reference). */
  v2: boolean;
  /** Instances of the same command on one database (ports of their own). */
  instances: number;
  /** Where node --cpu-prof writes (ours with --profile): summarised after the stop. */
  profileDir?: string;
  /** The target's own database, to VACUUM (ANALYZE) after the big seed (ours). */
  databaseUrl?: string;
  plan: SeedPlan;
  opts: BenchOptions;
  load: LoadOptions;
}

async function stillAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function benchTarget(spec: TargetSpec): Promise<{ report: TargetReport; seed: SeedData }> {
  const { opts, load } = spec;
  const baseUrl = `http://127.0.0.1:${spec.port}`;
  opts.log(`bench: starting ${spec.label}: ${spec.command.join(' ')}`);
  const start = (port: number, name: string) =>
    Child.start({ name, command: spec.command, cwd: spec.cwd, env: { ...spec.env, PORT: String(port) }, port, readyPath: spec.readyPath, readyTimeoutMs: spec.readyTimeoutMs });
  const child = await start(spec.port, spec.label);
  const others: Array<{ child: Child; baseUrl: string }> = [];
  const report: TargetReport = {
    label: spec.label,
    description: spec.description,
    command: spec.command.join(' '),
    database: spec.database,
    startupMs: child.startupMs,
    scenarios: [],
    skipped: {},
  };
  try {
    for (let i = 1; i < spec.instances; i++) {
      const port = await freePort();
      others.push({ child: await start(port, `${spec.label}-${i + 1}`), baseUrl: `http://127.0.0.1:${port}` });
    }
    const seed = await seedThroughApi(baseUrl, spec.plan);
    report.seedMs = seed.seedMs;
    report.seeded = seed.seeded;
    opts.log(`bench: ${spec.label} ready in ${child.startupMs} ms, seeded ${seed.seeded} tasks in ${seed.seedMs} ms`);
    // Statistics of the seeded tables, as autovacuum takes them within a minute of such a load on any
    // deployment (it is off on the machine these figures come from): without them, each connection's
    // cached plan of a statement stays the one made when the tables were empty, such as the create's
    // read of its list's last position as a scan of the whole table, and creates slow down as the
    // table grows (a deployment's autovacuum analyses the table, and the plans are made again).
    if (spec.databaseUrl) await vacuumAnalyze(spec.databaseUrl);
    const wanted = opts.scenarios.filter((name) => spec.v2 || !V2_SCENARIOS.has(name));
    for (const name of opts.scenarios) if (!wanted.includes(name)) report.skipped![name] = 'a version-2 feature: not in the reference';
    if (wanted.some((name) => BIG_SCENARIOS.has(name))) {
      seed.big = await seedBig(baseUrl, spec.plan, opts.big);
      report.seeded += opts.big.filteredTasks + opts.big.deepTasks;
      opts.log(`bench: ${spec.label} seeded the big accounts (${opts.big.filteredTasks} + ${opts.big.deepTasks} tasks) in ${seed.big.seedMs} ms`);
      // What autovacuum does within a minute or two of such a load (statistics, the GIN indexes'
      // pending lists); right after it the planner still believes every user has a few tasks.
      if (spec.databaseUrl) {
        const t0 = Date.now();
        await vacuumAnalyze(spec.databaseUrl);
        opts.log(`bench: ${spec.label} VACUUM (ANALYZE) tasks after seeding took ${Date.now() - t0} ms`);
      }
    }
    if (wanted.some((name) => LISTS_SCENARIOS.has(name))) {
      seed.lists = await seedLists(baseUrl, spec.plan, opts.listsTasks);
      report.seeded += 2 * opts.listsTasks;
      opts.log(`bench: ${spec.label} seeded the lists accounts (20 lists and ${opts.listsTasks} tasks; one list of ${opts.listsTasks}) in ${seed.lists.seedMs} ms`);
      if (spec.databaseUrl) await vacuumAnalyze(spec.databaseUrl);
    }
    const ctx: RunContext = {
      label: spec.label,
      baseUrl,
      pid: child.pid,
      extra: others.map((o) => ({ baseUrl: o.baseUrl, pid: o.child.pid })),
      measurePostgres: spec.usesPostgres,
      progress: opts.progress,
    };
    const first = wanted.find((name) => name !== 'streams');
    if (opts.warmupS > 0) {
      // A profile is of the scenarios run: its warm-up is the first of them, not the mixed load.
      const warm = spec.profileDir && first ? first : 'warmup';
      if (warm === 'list-304') seed.listEtag = await listEtag(baseUrl, seed.listUser);
      const w = await runScenario({ ...ctx, progress: false }, buildScenario(warm, seed), { ...load, durationS: opts.warmupS });
      if (w.errors > 0) opts.log(`bench: ${spec.label} warm-up had ${w.errors} errors (statuses ${JSON.stringify(w.statusCounts)})`);
    }
    let dead: string | null = null;
    const alive = async (after: string) => {
      if (child.hasExited) dead = `server exited during ${after}`;
      else if (!(await stillAnswers(`${baseUrl}${spec.readyPath}`))) dead = `server stopped answering ${spec.readyPath} after ${after} (wedged)`;
      if (dead) opts.log(`bench: ${spec.label}: ${dead}; skipping its remaining scenarios`);
    };
    for (const name of wanted) {
      if (dead) {
        report.skipped![name] = dead;
        continue;
      }
      await sleep(300); // let the previous scenario's last requests and connections settle
      if (name === 'streams') {
        if (spec.instances > 1) {
          report.skipped![name] = 'run on one instance (the ours target)';
          continue;
        }
        await streamsPhase(spec, ctx, seed, report);
      } else {
        // Its user's writes (update, toggle) changed the list: poll with the ETag it has now.
        if (name === 'list-304') seed.listEtag = await listEtag(baseUrl, seed.listUser);
        report.scenarios.push(await runScenario(ctx, buildScenario(name, seed), load));
      }
      await alive(name);
    }
    return { report, seed };
  } finally {
    const stops = await Promise.all([child.stop(5000), ...others.map((o) => o.child.stop(5000))]);
    report.stoppedBy = stops.find((how) => how !== 'sigterm') ?? 'sigterm';
    const lines = child.notableLines();
    if (Object.keys(lines).length) report.logLines = lines;
    if (!Object.keys(report.skipped ?? {}).length) delete report.skipped;
    if (spec.profileDir) {
      try {
        report.profile = summarizeProfile(spec.profileDir);
      } catch (err) {
        opts.log(`bench: ${spec.label}: no CPU profile: ${(err as Error).message}`);
      }
    }
  }
}

/**
 * The streams phase: open the streams, send writes and time each one to every stream of its
 * user, then run list-50 and mixed again with the streams still open (named "...+streams").
 */
async function streamsPhase(spec: TargetSpec, ctx: RunContext, seed: SeedData, report: TargetReport): Promise<void> {
  const { opts, load } = spec;
  const phase = new StreamsPhase(ctx.baseUrl, ctx.pid as number, {
    streams: opts.streams,
    perUser: opts.streamsPerUser,
    writes: opts.streamWrites,
    writeSeconds: opts.streamWriteSeconds,
    tag: spec.plan.tag,
  });
  try {
    opts.log(`bench: ${spec.label}: opening ${opts.streams} event streams`);
    const opened = await phase.start();
    const { cpuPct } = await phase.write();
    report.streams = phase.result(opened, cpuPct);
    const r = report.streams;
    opts.log(
      `  ${spec.label.padEnd(10)} streams   ${r.streams} open in ${r.openMs.toFixed(0)} ms, ${r.rssPerStreamKB.toFixed(1)} KB RSS each; ` +
        `${r.delivered}/${r.expected} events, write to event p50 ${r.latencyMs.p50.toFixed(1)} ms p99 ${r.latencyMs.p99.toFixed(1)} ms`,
    );
    for (const name of ['list-50', 'mixed'] as const) {
      if (!opts.scenarios.includes(name)) continue;
      await sleep(300);
      const result = await runScenario(ctx, buildScenario(name, seed), load);
      report.scenarios.push({ ...result, name: `${name}+streams` });
    }
  } finally {
    phase.close();
  }
  // mixed creates tasks, so its users' lists grow from run to run (20 tasks each, then ~50, ...):
  // the same load once more with the streams closed, so that "with streams" is compared with the
  // mean of the runs just before and just after it, not with a run on shorter lists.
  if (opts.scenarios.includes('mixed')) {
    await sleep(300);
    report.scenarios.push({ ...(await runScenario(ctx, buildScenario('mixed', seed), load)), name: 'mixed-after-streams' });
  }
}

async function ceilingTarget(
  label: string,
  description: string,
  command: string[],
  cwd: string,
  env: Record<string, string | undefined>,
  port: number,
  usesPostgres: boolean,
  scenario: ReturnType<typeof buildScenario>,
  opts: BenchOptions,
  load: LoadOptions,
): Promise<TargetReport> {
  opts.log(`bench: starting ${label}`);
  const child = await Child.start({ name: label, command, cwd, env, port, readyPath: '/ready', readyTimeoutMs: 30_000 });
  const baseUrl = `http://127.0.0.1:${port}`;
  const ctx = { label, baseUrl, pid: child.pid, measurePostgres: usesPostgres, progress: opts.progress };
  try {
    if (opts.warmupS > 0) await runScenario({ ...ctx, progress: false }, scenario, { ...load, durationS: opts.warmupS });
    const result = await runScenario(ctx, scenario, load);
    return { label, description, command: command.join(' '), startupMs: child.startupMs, scenarios: [result] };
  } finally {
    await child.stop(5000);
  }
}

/** The embedded server's address in DATA_DIR (src/db/embedded.ts: a Unix socket in DATA_DIR/run). */
function embeddedUrl(dataDir: string): string {
  return `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(join(dataDir, 'run'))}`;
}

async function vacuumAnalyze(url: string): Promise<void> {
  const sql = postgres(...driverArgs(url, { max: 1, onnotice: () => {} }));
  try {
    await sql.unsafe('vacuum (analyze) tasks');
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Ceiling (b): the list SQL through postgres.js in its own process, no HTTP. */
async function runDbCeiling(command: string[], cwd: string, dbUrl: string, userId: string, opts: BenchOptions): Promise<NonNullable<BenchReport['dbCeiling']>> {
  opts.log('bench: running ceiling-db (list SQL straight through postgres.js)');
  const [cmd, ...args] = command;
  const proc = spawn(cmd as string, args, {
    cwd,
    env: {
      ...baseEnv(),
      DATABASE_URL: dbUrl,
      CEILING_USER: userId,
      CEILING_CONCURRENCY: String(opts.connections),
      CEILING_DURATION_MS: String(opts.durationS * 1000),
      CEILING_WARMUP_MS: String(opts.warmupS * 1000),
      CEILING_MAX_QUERIES: String(opts.maxRequests),
      CEILING_POOL_MAX: String(opts.poolMax),
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const limit = setTimeout(() => proc.kill('SIGKILL'), (opts.warmupS + opts.durationS + 30) * 1000);
  const code = await new Promise<number | null>((res) => proc.on('exit', (c) => res(c)));
  clearTimeout(limit);
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`ceiling-db failed (exit ${code}): ${err.slice(-2000)}`);
  const r = JSON.parse(line) as DbLoopResult;
  return { ...r, concurrency: opts.connections, poolMax: opts.poolMax };
}

/** Seed data without a server (ceilings only): tokens are real, ids are 1..n. */
async function syntheticSeed(plan: SeedPlan): Promise<SeedData> {
  const id = `b${plan.tag}-list`;
  const now = Date.now();
  const tasks = Array.from({ length: plan.listTasks }, (_, i) => {
    const ts = new Date(now - i * 1000).toISOString();
    return { id: plan.listTasks - i, user_id: id, title: seedTitle(plan.listTasks - i), description: seedDescription(plan.listTasks - i), completed: false, created_at: ts, updated_at: ts };
  });
  return {
    listUser: { id, token: await signToken(id), taskIds: tasks.map((t) => t.id) },
    createUser: { id: `b${plan.tag}-create`, token: await signToken(`b${plan.tag}-create`), taskIds: [] },
    users: [],
    badToken: await signToken(id, 'not-the-bench-secret-0123456789abcdefghij'),
    listBody: JSON.stringify({ data: tasks, message: 'Tasks retrieved successfully' }),
    seedMs: 0,
    seeded: 0,
  };
}

/** Our table with the list user's rows, for ceilings (b)/(c) when our server did not run. */
async function seedCeilingDb(url: string, plan: SeedPlan, userId: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(TASKS_DDL);
    // Each user's Inbox, then the list user's tasks in theirs.
    const users = Math.max(1, plan.users);
    await sql`insert into lists (owner_id, is_default) values (${userId}, true)`;
    await sql.unsafe(`insert into lists (owner_id, is_default) select 'other-' || g, true from generate_series(0, $1 - 1) g`, [users]);
    for (let i = 1; i <= plan.listTasks; i++) {
      await sql`insert into tasks (user_id, list_id, title, description) select ${userId}, id, ${seedTitle(i)}, ${seedDescription(i)} from lists where owner_id = ${userId}`;
    }
    // some other users' rows, so the index is not trivially tiny
    await sql.unsafe(
      `insert into tasks (user_id, list_id, title, description)
       select l.owner_id, l.id, 'Seed task ' || g, 'Seeded description number ' || g || ' for the benchmark'
       from generate_series(1, $2) g join lists l on l.owner_id = 'other-' || (g % $1)`,
      [users, plan.users * plan.tasksPerUser],
    );
    await sql`analyze tasks`;
  } finally {
    await sql.end({ timeout: 2 });
  }
  return userId;
}

/**
 * Why the reference did not run, and where it comes from: it is not part of this repository.
 */
export function referenceMissing(runSh: string): string {
  return (
    `${runSh} not found. The reference is the original FastAPI + SQLModel backend this API replaces; it is not ` +
    'in this repository but kept beside it, in ../shared/reference-fastapi (its README says how it runs: Debian python3 ' +
    'packages, PostgreSQL). Put a copy there, or pass --reference-dir <folder with its run.sh>.'
  );
}
