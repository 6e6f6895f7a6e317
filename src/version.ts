import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of invitebus's package.json: the project's root when its TypeScript sources run as they are, and the
 * installed package's root when its compiled copy runs from `dist/` (one folder deeper: see docs/installation.md).
 * Files shipped beside the code (package.json, examples/) are found from here, never by counting `../`.
 */
export const PACKAGE_ROOT = packageRoot(import.meta.dirname);

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`invitebus: no package.json above ${from}`);
  }
}

/** invitebus's version, read once from package.json: the one place it is written. */
export const VERSION = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
