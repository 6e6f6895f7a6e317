import { defineConfig } from 'vitest/config';

/** The fault-injection suite: own redis-servers, worker child processes killed for real. Slow, so separate. */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
