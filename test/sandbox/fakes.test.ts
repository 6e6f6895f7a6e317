import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { providerIds } from '../../src/providers/index.ts';
import { fakes } from '../../src/sandbox/fakes.ts';

const root = resolve(import.meta.dirname, '../..');

/** Relative modules a file loads at run time: static and dynamic imports and re-exports, not `import type`. */
function runtimeImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...[...source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1]),
    ...[...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]),
  ];
  return specifiers.filter((s): s is string => s?.startsWith('.') === true).map((s) => resolve(dirname(file), s));
}

/** Every file reachable from `entries` through run-time imports. */
function reachable(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = [...entries];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    todo.push(...runtimeImports(file));
  }
  return seen;
}

describe('the sandbox registry', () => {
  it.each(providerIds)('has a fake for adapter %s', (id) => {
    const fake = fakes[id];
    expect(fake, `src/sandbox/fakes.ts registers no fake for ${id}`).toBeDefined();
    expect(typeof fake.fake).toBe('function');
    expect(Object.keys(fake.env).length).toBeGreaterThan(0);
  });

  it('has no fake without an adapter', () => {
    expect(Object.keys(fakes).sort()).toEqual([...providerIds].sort());
  });
});

describe('production code loads no fake', () => {
  const workers = readdirSync(join(root, 'workers'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, 'workers', f));
  const entries = [join(root, 'src/providers/index.ts'), ...workers];

  it('finds the walker working: the sandbox registry reaches every fake', () => {
    const fromSandbox = [...reachable([join(root, 'src/sandbox/fakes.ts')])].filter((f) => f.endsWith('/sandbox.ts'));
    expect(fromSandbox.length).toBe(providerIds.length);
  });

  it.each(entries.map((e) => relative(root, e)))('reaches no sandbox.ts from %s', (entry) => {
    const fakesLoaded = [...reachable([join(root, entry)])].filter((f) => f.endsWith('/sandbox.ts') || f.includes('/src/sandbox/'));
    expect(fakesLoaded.map((f) => relative(root, f))).toEqual([]);
  });
});
