import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';

const bench = join(import.meta.dirname, '../bench');

it('the bench imports nothing from the fault tests: what both use lives in test/support (no vitest there)', () => {
  const files = readdirSync(bench, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
  expect(files.length).toBeGreaterThan(0);
  const offenders = files.filter((f) => /from\s+['"][^'"]*test\/faults\//.test(readFileSync(f, 'utf8'))).map((f) => relative(bench, f));
  expect(offenders).toEqual([]);
  // What the bench takes from test/support must load without vitest.
  for (const f of files) {
    for (const [, spec] of readFileSync(f, 'utf8').matchAll(/from\s+['"]([^'"]*test\/support\/[^'"]+)['"]/g)) {
      const support = readFileSync(join(f, '..', spec ?? ''), 'utf8');
      expect(support, `${spec} is imported by the bench`).not.toMatch(/from\s+['"]vitest['"]/);
    }
  }
});
