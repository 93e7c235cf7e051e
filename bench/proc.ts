// /proc sampling (Linux): resident memory and CPU time of a process tree, CPU of PostgreSQL.
import { readFileSync, readdirSync } from 'node:fs';

function readChildren(pid: number): number[] {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (s) for (const p of s.split(' ')) out.push(Number(p));
    }
    return out;
  } catch {
    return [];
  }
}

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * pid and all its descendants (workers of a cluster / uvicorn supervisor), except an embedded
 * PostgreSQL server and its watchdog: the server is counted as PostgreSQL (postgresCpuSeconds),
 * not as our process, whose RSS would otherwise include PostgreSQL's shared buffers once per backend.
 */
export function processTree(pid: number, whole = false): number[] {
  const all = [pid];
  for (let i = 0; i < all.length && all.length < 256; i++) {
    for (const child of readChildren(all[i] as number)) if (whole || (comm(child) !== 'postgres' && comm(child) !== 'sh')) all.push(child);
  }
  return all;
}

/** Resident set size of one process in bytes (0 if gone). */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

const CLK_TCK = 100; // Linux USER_HZ on every mainstream build

/**
 * CPU seconds of one process: its own utime+stime plus cutime+cstime, the CPU of children it has
 * already reaped. Summed over a live process tree this stays exact when children come and go
 * (PostgreSQL backends, respawned workers). 0 if the process is gone.
 */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU seconds of a process and all its live descendants (see cpuSeconds). */
export function treeCpuSeconds(pid: number, whole = false): number {
  let total = 0;
  for (const p of processTree(pid, whole)) total += cpuSeconds(p);
  return total;
}

function ppidAndComm(pid: string): [number, string] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    return [ppid, stat.slice(open + 1, close)];
  } catch {
    return null;
  }
}

/** PostgreSQL server roots on this host: `postgres` processes whose parent is not `postgres`. */
export function findPostmasters(): number[] {
  const procs = new Map<number, [number, string]>();
  for (const ent of readdirSync('/proc')) {
    if (ent.charCodeAt(0) < 48 || ent.charCodeAt(0) > 57) continue;
    const pc = ppidAndComm(ent);
    if (pc) procs.set(Number(ent), pc);
  }
  const out: number[] = [];
  for (const [pid, [ppid, comm]] of procs) if (comm === 'postgres' && procs.get(ppid)?.[1] !== 'postgres') out.push(pid);
  return out;
}

/**
 * Total CPU seconds of every local PostgreSQL server (postmaster, backends, background workers,
 * including backends that already exited), the embedded one included. Differences between two
 * calls are exact while the same servers run.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const pm of findPostmasters()) total += treeCpuSeconds(pm, true);
  return total;
}

export interface ProcSample {
  peakRssBytes: number;
  cpuSeconds: number;
}

/**
 * Samples the RSS of a process tree every intervalMs (summing workers) and its CPU time between
 * start() and stop(). Cheap: a few small procfs reads per tick.
 */
export class ProcSampler {
  private timer: NodeJS.Timeout | null = null;
  private peak = 0;
  private cpu0 = 0;
  private tree: number[] = [];
  private ticks = 0;

  constructor(private readonly pid: number, private readonly intervalMs = 100) {}

  start(): void {
    this.peak = 0;
    this.tree = processTree(this.pid);
    this.cpu0 = treeCpuSeconds(this.pid);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  current(): number {
    return this.peak;
  }

  private sample(): void {
    // re-read the tree once a second: workers may be (re)spawned
    if (++this.ticks % 10 === 0) this.tree = processTree(this.pid);
    let sum = 0;
    for (const p of this.tree) sum += rssBytes(p);
    if (sum > this.peak) this.peak = sum;
  }

  stop(): ProcSample {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { peakRssBytes: this.peak, cpuSeconds: treeCpuSeconds(this.pid) - this.cpu0 };
  }
}

/** CPU seconds all cores spent busy (user, nice, system, irq, softirq, steal) since boot. */
export function systemBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return 0;
  }
}
