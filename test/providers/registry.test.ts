import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { providers } from '../../src/providers/index.ts';

const SHARED = new Set(['index.ts', 'adapter.ts', 'http.ts']);
const dir = join(import.meta.dirname, '../../src/providers');
const providerFiles = readdirSync(dir).filter((f) => f.endsWith('.ts') && !SHARED.has(f));

describe('provider registry', () => {
  it.each(providerFiles)('registers %s under its own id', (file) => {
    const id = file.replace(/\.ts$/, '');
    expect(Object.keys(providers)).toContain(id);
    expect((providers as Record<string, { id: string }>)[id]?.id).toBe(id);
  });

  it.each(providerFiles)('has a test file for %s that runs the conformance suite', (file) => {
    const testFile = join(import.meta.dirname, file.replace(/\.ts$/, '.test.ts'));
    expect(existsSync(testFile)).toBe(true);
    expect(readFileSync(testFile, 'utf8')).toContain('testProvider(');
  });

  it('has no registered provider without a file', () => {
    for (const id of Object.keys(providers)) expect(providerFiles).toContain(`${id}.ts`);
  });
});
