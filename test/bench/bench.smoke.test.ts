// Smoke test of the bench harness, end to end in a tiny configuration: our server on embedded
// the embedded PostgreSQL (a fresh temp DATA_DIR), two scenarios (list-50, mixed), 1 s each with 2 connections and
// at most 150 requests each, no warm-up, no reference, no ceilings. Takes about 3 s plus our
// server's start-up (initdb of the embedded PostgreSQL: about 1 s).
//
// What it needs: our server startable: the build (`node dist/src/server.js`; `npm test` builds
// first), else the TypeScript source through tsx if it is installed. Override with
// BENCH_SMOKE_SERVER_CMD="node dist/src/server.js" (split on spaces).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultOptions, referenceMissing, runBench } from '../../bench/harness.js';
import { formatComparison, type BenchReport } from '../../bench/report.js';
import { repoRoot } from '../../bench/servers.js';

function canResolve(root: string, pkg: string): boolean {
  try {
    createRequire(join(root, 'package.json')).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function serverCommand(root: string): string[] {
  const fromEnv = process.env.BENCH_SMOKE_SERVER_CMD;
  if (fromEnv) return fromEnv.split(' ').filter(Boolean);
  // `npm test` builds first, so the compiled server is the normal case; tsx (a transitive
  // dependency) only serves a bare `npx vitest run` before any build.
  if (existsSync(join(root, 'dist/src/server.js'))) return [process.execPath, join(root, 'dist/src/server.js')];
  if (canResolve(root, 'tsx')) return [process.execPath, '--import', 'tsx', join(root, 'src/server.ts')];
  throw new Error('run `npm run build` first');
}

describe('bench harness (smoke)', () => {
  const root = repoRoot();
  const outDir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));
  /** A short run of ours alone, on the embedded PostgreSQL whatever the environment says, quietly. */
  const short = () => ({
    ...defaultOptions(),
    durationS: 1,
    connections: 2,
    warmupS: 0,
    serverCommand: serverCommand(root),
    databaseUrl: undefined,
    workers: undefined,
    compareReference: false,
    ceilings: false,
    outDir,
    progress: false,
    log: () => {},
  });

  it('runs list-50 and mixed against our server on the embedded PostgreSQL and writes a JSON result with zero errors', async () => {
    const opts = { ...short(), maxRequests: 150, scenarios: ['list-50', 'mixed'] as const, users: 4, tasksPerUser: 3 };
    const { file, report } = await runBench({ ...opts, scenarios: [...opts.scenarios] });

    expect(readdirSync(outDir)).toContain(file.split('/').pop());
    const json = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    expect(json.startedAt).toBe(report.startedAt);
    expect(json.targets.map((t) => t.label)).toEqual(['ours']);
    const ours = json.targets[0]!;
    expect(ours.scenarios.map((s) => s.name)).toEqual(['list-50', 'mixed']);
    expect(ours.seeded).toBe(50 + 4 * 3);
    for (const s of ours.scenarios) {
      expect(s.errors, `${s.name}: ${JSON.stringify(s.statusCounts)}`).toBe(0);
      expect(s.responses).toBeGreaterThan(0);
      expect(s.responses).toBeLessThanOrEqual(150);
      expect(s.rps).toBeGreaterThan(0);
      expect(s.latencyMs.p99).toBeGreaterThanOrEqual(s.latencyMs.p50);
      expect(s.peakRssMB).toBeGreaterThan(0);
    }
    expect(ours.scenarios[0]!.statusCounts).toEqual({ 200: ours.scenarios[0]!.responses });
    expect(ours.stoppedBy).toBe('sigterm');
  }, 60_000);

  it('runs the version-2 scenarios: a 304 poll, the filtered, search and deep-page queries, and live updates over open streams', async () => {
    const { file, report, text } = await runBench({
      ...short(),
      maxRequests: 100,
      scenarios: ['list-50', 'list-304', 'list-filtered', 'search', 'page-deep', 'streams'],
      users: 2,
      tasksPerUser: 2,
      big: { filteredTasks: 300, deepTasks: 1000 },
      streams: 12,
      streamsPerUser: 4,
      streamWrites: 12,
      streamWriteSeconds: 1,
    });
    const ours = report.targets[0]!;
    expect(ours.scenarios.map((s) => s.name)).toEqual(['list-50', 'list-304', 'list-filtered', 'search', 'page-deep', 'list-50+streams']);
    const by = Object.fromEntries(ours.scenarios.map((s) => [s.name, s]));
    expect(by['list-304']!.statusCounts).toEqual({ 304: by['list-304']!.responses });
    for (const name of ['list-filtered', 'search', 'page-deep', 'list-50+streams']) {
      expect(by[name]!.statusCounts, name).toEqual({ 200: by[name]!.responses });
    }
    expect(ours.seeded).toBe(50 + 2 * 2 + 300 + 1000);
    // 12 streams of 3 users, 4 each; 12 writes, each seen by the 4 streams of its user.
    expect(ours.streams).toMatchObject({ streams: 12, users: 3, writes: 12, expected: 48, delivered: 48, missing: 0 });
    expect(ours.streams!.latencyMs.p99).toBeGreaterThan(0);
    expect(report.ratios.map((r) => r.what)).toEqual(
      expect.arrayContaining(['req/s ours list-304 / list-50', 'req/s ours page-deep / list-50', 'req/s with streams open / without']),
    );
    expect(text).toContain('12 event streams of 3 users');

    // --compare: this run against itself shows every scenario unchanged.
    const kept = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    const same = formatComparison(kept, kept, file);
    expect(same).toContain(`Compared with ${file}`);
    expect(same.match(/ \+0\.0%/g)?.length).toBe(2 * ours.scenarios.length);
  }, 120_000);

  it('runs the version-3 reads across lists: the all-tasks pages of a user with 20 lists (newest, by due date, filtered) and a list in its manual order', async () => {
    const { report } = await runBench({
      ...short(),
      maxRequests: 50,
      scenarios: ['all-tasks', 'all-tasks-due', 'all-filtered', 'list-position'],
      users: 2,
      tasksPerUser: 2,
      listsTasks: 1000,
    });
    const ours = report.targets[0]!;
    expect(ours.scenarios.map((s) => s.name)).toEqual(['all-tasks', 'all-tasks-due', 'all-filtered', 'list-position']);
    for (const s of ours.scenarios) expect(s.statusCounts, s.name).toEqual({ 200: s.responses });
    expect(ours.seeded).toBe(50 + 2 * 2 + 2 * 1000);
  }, 120_000);

  it('--compare-reference without the reference says what it is and where it comes from', async () => {
    const logged: string[] = [];
    const { report } = await runBench({
      ...defaultOptions(),
      skipOurs: true,
      compareReference: true,
      ceilings: false,
      referenceDir: join(outDir, 'no-reference-here'),
      outDir,
      progress: false,
      log: (line: string) => logged.push(line),
    });
    const runSh = join(outDir, 'no-reference-here', 'run.sh');
    expect(referenceMissing(runSh)).toBe(
      `${runSh} not found. The reference is the original FastAPI + SQLModel backend this API replaces; it is not in this repository but ` +
        'kept beside it, in ../shared/reference-fastapi (its README says how it runs: Debian python3 packages, PostgreSQL). ' +
        'Put a copy there, or pass --reference-dir <folder with its run.sh>.',
    );
    expect(report.notes).toContain(`reference not run: ${referenceMissing(runSh)}`);
    expect(logged).toContain(`bench: reference skipped: ${referenceMissing(runSh)}`);
  }, 30_000);
});
