/** Fixed-window counters: `consume(key)` counts one request and says whether it is allowed. */
export interface RateLimiter {
  consume(key: string): Promise<RateDecision> | RateDecision;
  close(): Promise<void>;
}

export interface RateDecision {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfter: number;
}

const ALLOWED: RateDecision = { allowed: true, retryAfter: 0 };

export function memoryRateLimiter(limit: number, windowMs = 60_000): RateLimiter {
  const windows = new Map<string, { count: number; resetAt: number }>();
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [key, w] of windows) if (w.resetAt <= now) windows.delete(key);
  }, windowMs);
  sweep.unref();
  return {
    consume(key) {
      const now = Date.now();
      let w = windows.get(key);
      if (w === undefined || w.resetAt <= now) {
        w = { count: 0, resetAt: now + windowMs };
        windows.set(key, w);
      }
      w.count++;
      if (w.count <= limit) return ALLOWED;
      return { allowed: false, retryAfter: Math.max(1, Math.ceil((w.resetAt - now) / 1000)) };
    },
    async close() {
      clearInterval(sweep);
      windows.clear();
    },
  };
}
