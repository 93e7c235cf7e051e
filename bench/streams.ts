// The streams phase: many open event streams on one instance, writes through the API, and how
// long each write takes to reach every stream of its user; the server's memory per stream.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { ProcSampler, rssBytes, processTree } from './proc.js';
import { signToken, type BenchUser } from './seed.js';
import { sleep } from './servers.js';
import { summarize, type LatencySummary } from './stats.js';

export interface StreamsOptions {
  /** Streams to open. */
  streams: number;
  /** Streams per user (at most the server's EVENTS_MAX_PER_USER). */
  perUser: number;
  /** Writes to send, one user each, spread evenly over `writeSeconds`. */
  writes: number;
  writeSeconds: number;
  /** Ids are prefixed with this (the run's tag). */
  tag: string;
}

export interface StreamsResult {
  name: 'streams';
  streams: number;
  users: number;
  openMs: number;
  /** Server RSS (the process tree without PostgreSQL) before and after the streams opened. */
  rssBeforeMB: number;
  rssAfterMB: number;
  rssPerStreamKB: number;
  writes: number;
  /** Events expected: each write, on every stream of its user. */
  expected: number;
  delivered: number;
  missing: number;
  /** From sending the write to the event on a stream of its user. */
  latencyMs: LatencySummary;
  /** From the write's answer to the event (negative when the event came first). */
  afterAnswerMs: LatencySummary;
  serverCpuPct: number | null;
}

interface OpenStream {
  user: BenchUser;
  req: ClientRequest;
  res?: IncomingMessage;
}

/** Parses an event stream, calling `onEvent(type, data)` for each complete event. */
export function sseParser(onEvent: (type: string, data: string) => void): (chunk: string) => void {
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) type = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length) onEvent(type, data.join('\n'));
    }
  };
}

/** Median of a few RSS samples of the tree, 100 ms apart (one sample catches a GC in the middle). */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(processTree(pid).reduce((a, p) => a + rssBytes(p), 0));
    await sleep(100);
  }
  return samples.sort((a, b) => a - b)[2] as number;
}

export class StreamsPhase {
  private open: OpenStream[] = [];
  private sent = new Map<number, { at: number; answeredAt: number; user: string }>();
  private latencies: number[] = [];
  private afterAnswer: number[] = [];
  private received = 0;
  users: BenchUser[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly pid: number,
    private readonly opts: StreamsOptions,
  ) {}

  /** Opens the streams; resolves when every one has said `ready`. Returns the RSS before and after (bytes). */
  async start(): Promise<{ openMs: number; rssBefore: number; rssAfter: number }> {
    const { streams, perUser, tag } = this.opts;
    const userCount = Math.ceil(streams / perUser);
    this.users = await Promise.all(Array.from({ length: userCount }, async (_, i) => {
      const id = `b${tag}-s${i}`;
      return { id, token: await signToken(id), taskIds: [] };
    }));
    const rssBefore = await settledRss(this.pid);
    const t0 = performance.now();
    const ready: Promise<void>[] = [];
    for (let i = 0; i < streams; i++) {
      const user = this.users[i % userCount] as BenchUser;
      ready.push(this.openOne(user));
      if (i % 100 === 99) await sleep(20); // do not open 1,000 connections in one burst
    }
    await Promise.all(ready);
    const openMs = performance.now() - t0;
    await sleep(1000);
    return { openMs, rssBefore, rssAfter: await settledRss(this.pid) };
  }

  private openOne(user: BenchUser): Promise<void> {
    return new Promise((resolve, reject) => {
      const url = new URL(`/api/${user.id}/tasks/events`, this.baseUrl);
      const req = request(url, { headers: { authorization: `Bearer ${user.token}`, accept: 'text/event-stream' }, agent: false });
      const stream: OpenStream = { user, req };
      this.open.push(stream);
      const timer = setTimeout(() => reject(new Error(`streams: no ready event within 30 s for ${user.id}`)), 30_000);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.on('response', (res) => {
        stream.res = res;
        if (res.statusCode !== 200) {
          clearTimeout(timer);
          reject(new Error(`streams: GET events -> ${res.statusCode}`));
          res.resume();
          return;
        }
        res.setEncoding('utf8');
        res.on('data', sseParser((type, data) => {
          if (type === 'ready') {
            clearTimeout(timer);
            resolve();
          } else if (type === 'upsert') this.onUpsert(data);
        }));
        res.on('error', () => {});
      });
      req.end();
    });
  }

  private onUpsert(data: string): void {
    const now = performance.now();
    const m = /"title":"Stream write (\d+)"/.exec(data);
    if (!m) return;
    const write = this.sent.get(Number(m[1]));
    if (!write) return;
    this.received++;
    this.latencies.push(now - write.at);
    if (write.answeredAt > 0) this.afterAnswer.push(now - write.answeredAt);
  }

  /** Sends the writes evenly over the configured time, then waits up to 5 s for the last events. */
  async write(): Promise<{ cpuPct: number }> {
    const { writes, writeSeconds, perUser } = this.opts;
    const sampler = new ProcSampler(this.pid);
    sampler.start();
    const t0 = performance.now();
    const gap = (writeSeconds * 1000) / writes;
    const inFlight: Promise<void>[] = [];
    for (let k = 0; k < writes; k++) {
      const due = t0 + k * gap;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const user = this.users[k % this.users.length] as BenchUser;
      const record = { at: performance.now(), answeredAt: 0, user: user.id };
      this.sent.set(k, record);
      inFlight.push(
        fetch(`${this.baseUrl}/api/${user.id}/tasks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ title: `Stream write ${k}` }),
          signal: AbortSignal.timeout(10_000),
        }).then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 201) throw new Error(`streams: POST -> ${res.status}`);
          record.answeredAt = performance.now();
        }),
      );
    }
    await Promise.all(inFlight);
    const expected = this.expected(perUser);
    const deadline = performance.now() + 5000;
    while (this.received < expected && performance.now() < deadline) await sleep(50);
    const stats = sampler.stop();
    return { cpuPct: (stats.cpuSeconds / ((performance.now() - t0) / 1000)) * 100 };
  }

  private expected(perUser: number): number {
    let total = 0;
    const streamsOf = new Map<string, number>();
    for (const s of this.open) streamsOf.set(s.user.id, (streamsOf.get(s.user.id) ?? 0) + 1);
    for (const w of this.sent.values()) total += streamsOf.get(w.user) ?? perUser;
    return total;
  }

  result(opened: { openMs: number; rssBefore: number; rssAfter: number }, cpuPct: number | null): StreamsResult {
    const expected = this.expected(this.opts.perUser);
    return {
      name: 'streams',
      streams: this.open.length,
      users: this.users.length,
      openMs: opened.openMs,
      rssBeforeMB: opened.rssBefore / 1024 / 1024,
      rssAfterMB: opened.rssAfter / 1024 / 1024,
      rssPerStreamKB: (opened.rssAfter - opened.rssBefore) / 1024 / Math.max(1, this.open.length),
      writes: this.sent.size,
      expected,
      delivered: this.received,
      missing: Math.max(0, expected - this.received),
      latencyMs: summarize(Float64Array.from(this.latencies)),
      afterAnswerMs: summarize(Float64Array.from(this.afterAnswer)),
      serverCpuPct: cpuPct,
    };
  }

  /** Closes every stream from this side. */
  close(): void {
    for (const s of this.open.splice(0)) s.req.destroy();
  }
}
