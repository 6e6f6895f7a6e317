import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { providers } from '../../src/providers/index.ts';

const SHARED = new Set(['index.ts', 'adapter.ts', 'http.ts']);
const dir = join(import.meta.dirname, '../../src/providers');
// A provider is a file `<id>.ts` or a folder `<id>/` with an index.ts.
const providerIds = readdirSync(dir, { withFileTypes: true })
  .filter((e) => (e.isFile() && e.name.endsWith('.ts') && !SHARED.has(e.name)) || (e.isDirectory() && existsSync(join(dir, e.name, 'index.ts'))))
  .map((e) => e.name.replace(/\.ts$/, ''));

describe('provider registry', () => {
  it.each(providerIds)('registers %s under its own id', (id) => {
    expect(Object.keys(providers)).toContain(id);
    expect((providers as Record<string, { id: string }>)[id]?.id).toBe(id);
  });

  it.each(providerIds)('has a test file for %s that runs the conformance suite', (id) => {
    const testFile = join(import.meta.dirname, `${id}.test.ts`);
    expect(existsSync(testFile)).toBe(true);
    expect(readFileSync(testFile, 'utf8')).toContain('testProvider(');
  });

  it('has no registered provider without a file', () => {
    for (const id of Object.keys(providers)) expect(providerIds).toContain(id);
  });
});
