import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/faults/**', 'node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files run in parallel worker processes; each has its own key prefix. Most of a test's time is waiting (Redis,
    // child processes, timers), so three files at once on a 2-core machine (vitest's default there is one) finish
    // the suite in well under half the time.
    pool: 'forks',
    maxWorkers: 3,
  },
});
