// The end-of-run table, the ratios and the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DbLoopResult } from './ceilings.js';
import { formatProfile, type ProfileSummary } from './profile.js';
import { BATCH_SIZE, type ScenarioResult } from './scenarios.js';
import type { StreamsResult } from './streams.js';

export interface TargetReport {
  label: string;
  description: string;
  command?: string;
  database?: string;
  startupMs?: number;
  seedMs?: number;
  seeded?: number;
  /** How the process ended: 'sigterm' (clean), 'sigkill' (ignored SIGTERM for 5 s), 'exited' (died on its own). */
  stoppedBy?: string;
  scenarios: ScenarioResult[];
  /** Scenarios not run, with the reason (e.g. the server stopped answering). */
  skipped?: Record<string, string>;
  /** Error-ish lines the process printed, digits folded to N, with counts. */
  logLines?: Record<string, number>;
  /** The streams phase (ours). */
  streams?: StreamsResult;
  /** The CPU profile's summary (--profile). */
  profile?: ProfileSummary;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  host: { cpus: number; cpuModel: string; node: string; platform: string; loadavg1mAtStart: number };
  config: {
    durationS: number;
    connections: number;
    warmupS: number;
    maxRequests: number;
    scenarios: string[];
    users: number;
    tasksPerUser: number;
    listTasks: number;
    workers: string | null;
    /** --env for our server. */
    oursEnv?: Record<string, string>;
    mixedWeights: Record<string, number>;
    database: string;
  };
  targets: TargetReport[];
  dbCeiling: (DbLoopResult & { concurrency: number; poolMax: number }) | null;
  ratios: Ratio[];
  notes: string[];
}

export interface Ratio {
  what: string;
  scenario: string;
  ours: number;
  other: number;
  /** ours / other */
  ratio: number;
}

const find = (t: TargetReport | undefined, name: string): ScenarioResult | undefined => t?.scenarios.find((s) => s.name === name);

export function computeRatios(targets: TargetReport[], db: BenchReport['dbCeiling']): Ratio[] {
  const ours = targets.find((t) => t.label === 'ours');
  const ref = targets.find((t) => t.label === 'reference');
  const out: Ratio[] = [];
  if (!ours) return out;
  for (const s of ours.scenarios) {
    const r = find(ref, s.name);
    if (r && r.rps > 0) out.push({ what: 'req/s ours/reference', scenario: s.name, ours: s.rps, other: r.rps, ratio: s.rps / r.rps });
    if (r && r.latencyMs.p99 > 0)
      out.push({ what: 'p99 ours/reference', scenario: s.name, ours: s.latencyMs.p99, other: r.latencyMs.p99, ratio: s.latencyMs.p99 / r.latencyMs.p99 });
    if (r && s.serverCpuUsPerReq && r.serverCpuUsPerReq)
      out.push({ what: 'cpu/req ours/reference', scenario: s.name, ours: s.serverCpuUsPerReq, other: r.serverCpuUsPerReq, ratio: s.serverCpuUsPerReq / r.serverCpuUsPerReq });
  }
  // The version-2 reads against the plain list of the same target, in the same run (the targets:
  // 2.5x for a 304, within 2x for the others), with the list cache and without it.
  for (const t of [ours, targets.find((x) => x.label === 'ours-nocache')]) {
    const plain = find(t, 'list-50');
    for (const name of ['list-304', 'list-filtered', 'search', 'page-deep']) {
      const s = find(t, name);
      if (t && s && plain && plain.rps > 0) out.push({ what: `req/s ${t.label} ${name} / list-50`, scenario: name, ours: s.rps, other: plain.rps, ratio: s.rps / plain.rps });
    }
  }
  // Tasks created per second: a batch of BATCH_SIZE creates per request against one create per request.
  const single = find(ours, 'create');
  for (const name of ['create-batch', 'create-batch-atomic']) {
    const batched = find(ours, name);
    if (batched && single && single.rps > 0) {
      out.push({ what: `tasks/s ours ${name} (x${BATCH_SIZE}) / create`, scenario: name, ours: batched.rps * BATCH_SIZE, other: single.rps, ratio: (batched.rps * BATCH_SIZE) / single.rps });
    }
  }
  const nocache = targets.find((x) => x.label === 'ours-nocache');
  for (const s of nocache?.scenarios ?? []) {
    const o = find(ours, s.name);
    if (o && s.rps > 0) out.push({ what: 'req/s ours / ours-nocache (the list cache)', scenario: s.name, ours: o.rps, other: s.rps, ratio: o.rps / s.rps });
  }
  // What holding the open streams costs the other scenarios.
  for (const s of ours.scenarios.filter((x) => x.name.endsWith('+streams'))) {
    const base = s.name.slice(0, -'+streams'.length);
    const before = find(ours, base);
    const after = find(ours, `${base}-after-streams`);
    // mixed grows its users' lists: the mean of the runs before and after the streams phase.
    const without = before && after ? (before.rps + after.rps) / 2 : before?.rps;
    const what = after ? 'req/s with streams open / without (mean of before and after)' : 'req/s with streams open / without';
    if (without !== undefined && without > 0) out.push({ what, scenario: s.name, ours: s.rps, other: without, ratio: s.rps / without });
  }
  for (const many of targets.filter((t) => /^ours-x\d+$/.test(t.label))) {
    for (const s of many.scenarios) {
      const o = find(ours, s.name);
      if (o && o.rps > 0) out.push({ what: `req/s ${many.label}/ours`, scenario: s.name, ours: s.rps, other: o.rps, ratio: s.rps / o.rps });
    }
  }
  const embedded = targets.find((t) => t.label === 'ours-embedded');
  for (const s of embedded?.scenarios ?? []) {
    const o = find(ours, s.name);
    if (o && o.rps > 0) out.push({ what: 'req/s ours-embedded/ours', scenario: s.name, ours: s.rps, other: o.rps, ratio: s.rps / o.rps });
  }
  const list = find(ours, 'list-50');
  if (list) {
    for (const label of ['ceiling-http', 'ceiling-raw']) {
      const c = find(targets.find((t) => t.label === label), 'list-50');
      if (c && c.rps > 0) out.push({ what: `req/s ours/${label}`, scenario: 'list-50', ours: list.rps, other: c.rps, ratio: list.rps / c.rps });
    }
    if (db && db.qps > 0) out.push({ what: 'req/s ours / db-only queries/s', scenario: 'list-50', ours: list.rps, other: db.qps, ratio: list.rps / db.qps });
  }
  return out;
}

const f0 = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const f2 = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : n.toFixed(2));

function table(header: string[], rows: string[][], rightAlignFrom = 2): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatReport(r: BenchReport): string {
  const out: string[] = [];
  const c = r.config;
  out.push(
    `\nTask API bench  ${r.startedAt}  node ${r.host.node}, ${r.host.cpus} CPU (${r.host.cpuModel}), load avg at start ${r.host.loadavg1mAtStart.toFixed(2)}`,
    `${c.connections} connections, ${c.durationS} s per scenario, ${c.warmupS} s warm-up per target, database: ${c.database}` +
      (c.workers ? `, WORKERS=${c.workers}` : '') +
      (c.oursEnv && Object.keys(c.oursEnv).length ? `, ours with ${Object.entries(c.oursEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''),
    `Data: 1 user x ${c.listTasks} tasks (list-50/get-one/update/toggle/rejected), ${c.users} users x ${c.tasksPerUser} tasks (mixed: ` +
      Object.entries(c.mixedWeights).map(([k, v]) => `${v}% ${k}`).join(', ') + ')',
    'The load generator (autocannon, one thread) runs on the same 2 cores as the servers and PostgreSQL: see "bench cpu".\n',
  );
  const rows: string[][] = [];
  for (const t of r.targets) {
    for (const s of t.scenarios) {
      rows.push([
        t.label,
        s.name,
        f0(s.rps),
        f2(s.latencyMs.p50),
        f2(s.latencyMs.p97_5),
        f2(s.latencyMs.p99),
        f0(s.errors),
        s.peakRssMB === null ? '-' : s.peakRssMB.toFixed(0),
        f0(s.serverCpuPct),
        f0(s.serverCpuUsPerReq),
        f0(s.postgresCpuPct),
        f0(s.benchCpuPct),
        f0(s.otherCpuPct),
      ]);
    }
    for (const name of Object.keys(t.skipped ?? {})) rows.push([t.label, name, 'skipped']);
  }
  if (r.dbCeiling) {
    const d = r.dbCeiling;
    rows.push(['ceiling-db', 'list-sql', f0(d.qps), f2(d.latencyMs.p50), f2(d.latencyMs.p97_5), f2(d.latencyMs.p99), f0(d.errors), '-', f0(d.driverCpuPct), f0(d.queries ? (d.driverCpuPct / 100) * d.durationS * 1e6 / d.queries : null), f0(d.postgresCpuPct), '-', '-']);
  }
  out.push(
    table(['target', 'scenario', 'req/s', 'p50 ms', 'p97.5 ms', 'p99 ms', 'errors', 'peak RSS MB', 'server cpu%', 'µs cpu/req', 'pg cpu%', 'bench cpu%', 'other cpu%'], rows),
  );
  out.push(
    [
      'cpu% = CPU time / wall time (100 = one core, 200 = the whole host). server cpu: the process and its workers',
      '  (ceiling-db: the postgres.js driver process); µs cpu/req: that CPU per response, steadier than req/s on a busy host;',
      '  pg cpu: every local postgres process; bench cpu: this harness (autocannon); other: everything else (noise).',
      'errors = socket errors + timeouts + unexpected statuses (non-2xx; for rejected, anything but 401).',
    ].join('\n'),
  );
  const noisy = r.targets.flatMap((t) => t.scenarios.filter((s) => s.otherCpuPct > 15).map((s) => `${t.label}/${s.name} ${Math.round(s.otherCpuPct)}%`));
  if (noisy.length) out.push(`WARNING: other processes used CPU during ${noisy.join(', ')}: those figures are noisy; rerun on a quiet host.`);

  for (const t of r.targets) {
    const st = t.streams;
    if (!st) continue;
    out.push(
      `\n${t.label} streams: ${st.streams} event streams of ${st.users} users, open in ${st.openMs.toFixed(0)} ms; server RSS ` +
        `${st.rssBeforeMB.toFixed(0)} -> ${st.rssAfterMB.toFixed(0)} MB (${st.rssPerStreamKB.toFixed(1)} KB per stream); ${st.writes} writes, ` +
        `${st.delivered}/${st.expected} events delivered (${st.missing} missing); write sent -> event on the stream: ` +
        `p50 ${st.latencyMs.p50.toFixed(1)} ms, p99 ${st.latencyMs.p99.toFixed(1)} ms, max ${st.latencyMs.max.toFixed(1)} ms ` +
        `(after the write's answer: p50 ${st.afterAnswerMs.p50.toFixed(1)}, p99 ${st.afterAnswerMs.p99.toFixed(1)} ms)`,
    );
  }
  if (r.ratios.length) {
    out.push('\nRatios (ours / other; > 1 means ours is higher):');
    out.push(table(['comparison', 'scenario', 'ours', 'other', 'ratio'], r.ratios.map((x) => [x.what, x.scenario, f2(x.ours), f2(x.other), x.ratio.toFixed(2) + 'x'])));
  }
  for (const t of r.targets) {
    const extra: string[] = [];
    const skipped = Object.entries(t.skipped ?? {});
    if (skipped.length) extra.push(`skipped ${skipped.map(([n]) => n).join(', ')}: ${[...new Set(skipped.map(([, why]) => why))].join('; ')}`);
    if (t.stoppedBy === 'sigkill') extra.push('ignored SIGTERM for 5 s and was SIGKILLed');
    if (t.stoppedBy === 'exited') extra.push('exited on its own before the harness stopped it');
    const lines = Object.entries(t.logLines ?? {});
    if (lines.length) extra.push(`printed ${lines.reduce((a, [, n]) => a + n, 0)} error-ish log lines, e.g. ${lines.slice(0, 3).map(([l, n]) => `${n}x "${l.slice(0, 100)}"`).join('; ')}`);
    if (extra.length) out.push(`${t.label}: ${extra.join('; ')}`);
  }
  for (const t of r.targets) if (t.profile) out.push(formatProfile(t.label, t.profile));
  if (r.notes.length) out.push('\nNotes:\n' + r.notes.map((n) => `- ${n}`).join('\n'));
  return out.join('\n') + '\n';
}

export function writeReport(r: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${r.startedAt.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  // 3 decimals are plenty (ms to the microsecond, percentages, rates)
  const round = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v);
  writeFileSync(file, JSON.stringify(r, round, 2) + '\n');
  return file;
}

/**
 * This run against an earlier one (its JSON): req/s, p99 and CPU per request per target and
 * scenario present in both, with the change. On a shared 2-core host, trust the CPU column first.
 */
export function formatComparison(before: BenchReport, after: BenchReport, beforeFile: string): string {
  const rows: string[][] = [];
  const pct = (a: number, b: number) => (b > 0 ? `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)}%` : '-');
  for (const t of after.targets) {
    const old = before.targets.find((x) => x.label === t.label);
    if (!old) continue;
    for (const s of t.scenarios) {
      const o = find(old, s.name);
      if (!o) continue;
      rows.push([
        t.label,
        s.name,
        f0(o.rps),
        f0(s.rps),
        pct(s.rps, o.rps),
        f2(o.latencyMs.p99),
        f2(s.latencyMs.p99),
        f0(o.serverCpuUsPerReq),
        f0(s.serverCpuUsPerReq),
        o.serverCpuUsPerReq && s.serverCpuUsPerReq ? pct(s.serverCpuUsPerReq, o.serverCpuUsPerReq) : '-',
      ]);
    }
  }
  if (rows.length === 0) return `\nCompared with ${beforeFile}: no target and scenario in common.\n`;
  return (
    `\nCompared with ${beforeFile} (${before.startedAt}):\n` +
    table(['target', 'scenario', 'req/s before', 'after', 'change', 'p99 before', 'after', 'µs cpu/req before', 'after', 'change'], rows) +
    '\n'
  );
}
