// Summarises a V8 CPU profile (node --cpu-prof): self time by function and by package, the idle
// time left out, so "where the time goes" fits in a table.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled time, milliseconds, and how much of it the process was busy (not idle). */
  totalMs: number;
  busyMs: number;
  /** Self time of the busiest functions, share of busy time. */
  frames: Array<{ frame: string; where: string; sharePct: number }>;
  /** Self time by where the code comes from: a package, node itself, this repository, GC. */
  groups: Array<{ group: string; sharePct: number }>;
}

/** Which package (or part of the runtime) a frame's code belongs to. */
export function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'gc';
    if (functionName === '(program)') return 'native (V8, libuv, syscalls)';
    return functionName || 'native';
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 14).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] as string);
  }
  if (url.startsWith('node:')) return 'node (' + url.slice(5).split('/')[0] + ')';
  if (url.includes('/dist/src/') || url.includes('/src/')) return 'this API (src/)';
  return url;
}

function where(frame: CallFrame): string {
  const { url, lineNumber } = frame;
  if (!url) return '';
  const modules = url.lastIndexOf('/node_modules/');
  const short = modules >= 0 ? url.slice(modules + 14) : url.includes('/dist/') ? url.slice(url.indexOf('/dist/') + 1) : url.replace(/^file:\/\//, '');
  return `${short}:${lineNumber + 1}`;
}

export function summarizeCpuProfile(profile: CpuProfile, file: string, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  // timeDeltas[i] is the time before sample i: attribute it to sample i's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
  }
  let total = 0;
  let idle = 0;
  const frames = new Map<string, { frame: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${cf.functionName}|${cf.url}|${cf.lineNumber}`;
    const entry = frames.get(key) ?? { frame: cf.functionName || '(anonymous)', where: where(cf), us: 0 };
    entry.us += us;
    frames.set(key, entry);
    const g = groupOf(cf);
    groups.set(g, (groups.get(g) ?? 0) + us);
  }
  const busy = total - idle;
  const share = (us: number) => (busy > 0 ? (us / busy) * 100 : 0);
  return {
    file,
    totalMs: total / 1000,
    busyMs: busy / 1000,
    frames: [...frames.values()].sort((a, b) => b.us - a.us).slice(0, top).map((f) => ({ frame: f.frame, where: f.where, sharePct: share(f.us) })),
    groups: [...groups.entries()].sort((a, b) => b[1] - a[1]).map(([group, us]) => ({ group, sharePct: share(us) })),
  };
}

/** The summary of the largest profile in `dir` (the server process; cluster workers write their own). */
export function summarizeProfile(dir: string): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir} (did the server exit cleanly?)`);
  let best: { file: string; profile: CpuProfile; samples: number } | null = null;
  for (const f of files) {
    const profile = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    if (!best || profile.samples.length > best.samples) best = { file: join(dir, f), profile, samples: profile.samples.length };
  }
  const chosen = best as { file: string; profile: CpuProfile };
  return summarizeCpuProfile(chosen.profile, chosen.file);
}

export function formatProfile(label: string, p: ProfileSummary): string {
  const lines = [
    `\nCPU profile of ${label}: ${(p.busyMs / 1000).toFixed(1)} s busy of ${(p.totalMs / 1000).toFixed(1)} s sampled (${p.file})`,
    '  by origin: ' + p.groups.slice(0, 10).map((g) => `${g.group} ${g.sharePct.toFixed(1)}%`).join(', '),
    '  top functions (self time, share of busy time):',
    ...p.frames.map((f) => `    ${f.sharePct.toFixed(1).padStart(5)}%  ${f.frame}  ${f.where}`),
  ];
  return lines.join('\n');
}
