import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's chromium (installed by .ci/run when missing), or CHROMIUM_PATH. */
export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && existsSync(p));

/** Outside CI, a machine without chromium skips the browser tests (with a note); in CI they must run. */
export const browserMissing = CHROMIUM === undefined && process.env.CI !== 'true';
if (browserMissing) process.stderr.write('browser tests skipped: no chromium (apt-get install chromium, or set CHROMIUM_PATH)\n');

export async function launch(): Promise<Browser> {
  if (CHROMIUM === undefined) throw new Error('no chromium: apt-get install chromium, or set CHROMIUM_PATH');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const SHOTS = join(import.meta.dirname, '../../.tmp/screenshots');

/** Runs a browser step; on failure writes a screenshot of the page (.tmp/screenshots/NAME.png) before failing. */
export async function step<T>(page: Page, name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    mkdirSync(SHOTS, { recursive: true });
    const file = join(SHOTS, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
    throw new Error(`${name}: ${(error as Error).message} (screenshot: ${file})`, { cause: error });
  }
}
