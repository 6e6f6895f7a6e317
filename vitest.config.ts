import { defineConfig } from 'vitest/config';

/**
 * Tests whose bounds are about time under load (the fairness among accounts, a process of 2,000 accounts idling):
 * they run after the rest, one file at a time, so the load they measure is their own and not two other test files'
 * (the fairness bound failed CI once by 77 ms of 8.2 s beside them; alone with two CPU hogs it measures 6.4-6.6 s).
 */
const ALONE = ['test/worker/fairness.test.ts', 'test/worker/many-accounts.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/faults/**', 'node_modules/**', ...ALONE],
          // Files run in parallel worker processes; each has its own key prefix. Most of a test's time is waiting
          // (Redis, child processes, timers), so three files at once on a 2-core machine (vitest's default there is
          // one) finish the suite in well under half the time.
          maxWorkers: 3,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
