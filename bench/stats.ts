// Latency recording and percentiles (sub-millisecond precision; autocannon's own histogram
// rounds to whole milliseconds, which hides most of the difference between fast servers).

export interface LatencySummary {
  p50: number;
  p97_5: number;
  p99: number;
  avg: number;
  max: number;
}

/** Growable buffer of latencies in milliseconds, capped at `cap` samples. */
export class LatencyRecorder {
  private buf = new Float64Array(1 << 16);
  count = 0;

  constructor(private readonly cap = 20_000_000) {}

  record(ms: number): void {
    if (this.count === this.buf.length) {
      if (this.count >= this.cap) return;
      const bigger = new Float64Array(Math.min(this.cap, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.count++] = ms;
  }

  summary(): LatencySummary {
    return summarize(this.buf.subarray(0, this.count));
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] as number;
}

export function summarize(values: Float64Array): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    p50: percentile(sorted, 50),
    p97_5: percentile(sorted, 97.5),
    p99: percentile(sorted, 99),
    avg: n ? sum / n : 0,
    max: n ? (sorted[n - 1] as number) : 0,
  };
}
