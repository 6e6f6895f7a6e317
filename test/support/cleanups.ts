import { afterAll, afterEach } from 'vitest';

/**
 * Things a test file must undo (servers, pipelines, processes), run last first after each test (or, with
 * 'file', once after the file). One that fails does not stop the others.
 */
export function useCleanups(scope: 'test' | 'file' = 'test'): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  (scope === 'test' ? afterEach : afterAll)(async () => {
    while (cleanups.length > 0) {
      const undo = cleanups.pop();
      await Promise.resolve()
        .then(undo)
        .catch(() => undefined);
    }
  });
  return cleanups;
}
