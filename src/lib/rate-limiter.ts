import type { Config } from '../config.js';

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

/**
 * Counts one request in the key's window: INCR, and start the window's expiry on the first hit.
 * Returns [count, milliseconds left in the window].
 */
const CONSUME_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

export interface RedisLimiterOptions {
  url: string;
  limit: number;
  windowMs?: number;
  /** Called when Redis cannot be reached; the request is then allowed (fail open). */
  onError?: (err: unknown) => void;
}

/**
 * Counters shared by every instance through Redis, so N instances enforce one limit, not N.
 * If Redis is unreachable, requests are allowed (a limiter outage must not become an API outage)
 * and `onError` says so; commands never queue or hang (offline queue off, short timeouts).
 */
export async function redisRateLimiter(options: RedisLimiterOptions): Promise<RateLimiter> {
  const { Redis } = await import('ioredis');
  const windowMs = options.windowMs ?? 60_000;
  const redis = new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 500,
    lazyConnect: true,
  });
  redis.on('error', (err) => options.onError?.(err));
  redis.defineCommand('taskApiConsume', { numberOfKeys: 1, lua: CONSUME_SCRIPT });
  const consume = (redis as unknown as { taskApiConsume(key: string, windowMs: number): Promise<[number, number]> }).taskApiConsume.bind(redis);
  try {
    await redis.connect();
  } catch (err) {
    options.onError?.(err);
  }
  return {
    async consume(key) {
      try {
        const [count, ttl] = await consume(`task-api:rl:${key}`, windowMs);
        if (count <= options.limit) return ALLOWED;
        return { allowed: false, retryAfter: Math.max(1, Math.ceil(ttl / 1000)) };
      } catch (err) {
        options.onError?.(err);
        return ALLOWED;
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}

/**
 * The limiter the configuration asks for: none (RATE_LIMIT_PER_MINUTE=0), in memory, or shared
 * through Redis (REDIS_URL). A Redis outage is one warning a minute, not a flood.
 */
export async function limiterFromConfig(
  config: Pick<Config, 'rateLimitPerMinute' | 'redisUrl'>,
  log: { warn(obj: object, msg: string): void },
): Promise<RateLimiter | undefined> {
  if (config.rateLimitPerMinute === 0) return undefined;
  if (config.redisUrl === undefined) return memoryRateLimiter(config.rateLimitPerMinute);
  let warned = 0;
  return redisRateLimiter({
    url: config.redisUrl,
    limit: config.rateLimitPerMinute,
    onError: (err) => {
      if (Date.now() - warned < 60_000) return;
      warned = Date.now();
      log.warn({ err: { message: (err as Error).message, code: (err as { code?: unknown }).code } }, 'rate limiter: Redis unreachable, allowing requests');
    },
  });
}
