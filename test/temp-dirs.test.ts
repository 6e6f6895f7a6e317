import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/temp-dir.ts';

const testRoot = import.meta.dirname;
const fileDir = tempDir('ib-temp-dir-file-');
let testDir = '';

describe('tempDir', () => {
  it('makes a folder that lives as long as the test that made it', () => {
    testDir = tempDir('ib-temp-dir-test-');
    expect(existsSync(testDir)).toBe(true);
    expect(existsSync(fileDir)).toBe(true);
  });

  it('has removed the last test’s folder, and keeps the file’s', () => {
    expect(testDir).not.toBe('');
    expect(existsSync(testDir)).toBe(false);
    expect(existsSync(fileDir)).toBe(true);
  });
});

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

it('no test makes a temporary folder except through tempDir, which removes it (no run leaves one behind)', () => {
  const makers = sources(testRoot)
    .filter((f) => !f.endsWith('support/temp-dir.ts') && f !== import.meta.filename)
    .filter((f) => /\bmkdtemp(Sync)?\(/.test(readFileSync(f, 'utf8')))
    .map((f) => relative(testRoot, f));
  expect(makers).toEqual([]);
});
