/**
 * Bounds repeated log lines: at most `burst` lines per key in each window; the rest are counted,
 * and the first line of the next window says how many were left out. 10,000 failing writes during
 * an outage make a handful of lines, not 10,000.
 */
export class LogThrottle {
  private readonly windows = new Map<string, { start: number; logged: number; suppressed: number }>();

  constructor(
    private readonly burst = 5,
    private readonly windowMs = 10_000,
  ) {}

  /** Whether to log this one; `suppressed` is what the previous window left out (to say so). */
  admit(key: string, now = Date.now()): { log: boolean; suppressed: number } {
    let w = this.windows.get(key);
    let suppressed = 0;
    if (w === undefined || now - w.start >= this.windowMs) {
      suppressed = w?.suppressed ?? 0;
      if (this.windows.size > 1000) this.windows.clear();
      w = { start: now, logged: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.logged < this.burst) {
      w.logged++;
      return { log: true, suppressed };
    }
    w.suppressed++;
    return { log: false, suppressed: 0 };
  }
}
