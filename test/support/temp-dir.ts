import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';

/**
 * A fresh folder under the system's temporary folder, removed with everything in it once the test that made it
 * ends (made inside a test) or once the file ends (made at a file's top level or in a hook): no run leaves one behind.
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    onTestFinished(remove);
  } catch {
    // Not inside a running test: the folder lives as long as the file's tests.
    afterAll(remove);
  }
  return dir;
}
