/**
 * SIGTERM with 200 open event streams: they end at once and do not hold the shutdown; the process
 * exits 0 within 2 s.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { cleanEnv, scratchDir, startServer } from '../helpers/process.js';
import { openSse } from '../helpers/sse.js';
import { routes } from '../helpers/api.js';
import { signToken } from '../helpers/tokens.js';

const SECRET = 'event-stream-shutdown-secret-0123456789';

describe('shutdown with open event streams', () => {
  it('SIGTERM with 200 open streams: every stream ends, exit 0 within 2 s', async () => {
    const cwd = scratchDir('task-api-sse-shutdown-');
    const server = await startServer(
      cwd,
      cleanEnv({ BETTER_AUTH_SECRET: SECRET, RATE_LIMIT_PER_MINUTE: '0', EVENTS_MAX_PER_USER: '50', LOG_LEVEL: 'info', DATA_DIR: join(cwd, 'data') }),
    );
    try {
      const users = Array.from({ length: 4 }, (_, i) => `sse-user-${i}`);
      const tokens = await Promise.all(users.map((u) => signToken(u, { secret: SECRET })));
      const streams = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          openSse(`${server.url}${routes.events(users[i % 4] as string)}`, { authorization: `Bearer ${tokens[i % 4] as string}` }),
        ),
      );
      expect(streams.map((s) => s.status)).toEqual(Array(200).fill(200));
      await Promise.all(streams.map((s) => s.next((e) => e.event === 'ready', 10_000)));
      const t0 = performance.now();
      const exit = await server.stop('SIGTERM', 10_000);
      const ms = performance.now() - t0;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(ms).toBeLessThan(2000);
      await Promise.all(streams.map((s) => s.ended));
    } finally {
      await server.stop('SIGKILL');
    }
  }, 60_000);
});
