import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // Vitest runs cores - 1 files at once: one at a time on 2 cores, where most files spend their
    // time waiting (jobs due, streams, restarts). Two at once took the suite on both databases from
    // about 17 to 12.5 minutes there (1,392 tests); bigger machines keep Vitest's default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 20_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
