import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** Every Markdown file of the docs: the README, CONTRIBUTING, the changelog, bench/ and docs/ (recursively). */
function docFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : []));
  const top = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', 'bench/README.md'].map((f) => join(root, f));
  return [...top.filter((f) => existsSync(f)), ...walk(join(root, 'docs')), ...walk(join(root, 'bench/results'))];
}

/** Relative link targets in a Markdown text: [text](target) and ![alt](target), without URLs or pure anchors. */
function relativeLinks(text: string): string[] {
  const withoutCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] as string)
    .filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#'));
}

describe('the docs', () => {
  it('link only to files that exist', () => {
    const broken: string[] = [];
    for (const file of docFiles()) {
      for (const target of relativeLinks(readFileSync(file, 'utf8'))) {
        const path = join(dirname(file), decodeURIComponent(target.split('#')[0] as string));
        if (!existsSync(path)) broken.push(`${relative(root, file)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('keep the README a door: at most 250 lines', () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n').length;
    expect(lines).toBeLessThanOrEqual(250);
  });

  it('quote no test counts (they go stale with every commit)', () => {
    const counts = docFiles().flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/\d[\d,]* (?:tests|test files)\b/g)].map((m) => `${relative(root, file)}: ${m[0]}`),
    );
    expect(counts).toEqual([]);
  });

  it('show the two commands CI runs', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const ci = readFileSync(join(root, '.ci/run'), 'utf8');
    expect(readme).toContain('npm install && npm run demo');
    expect(readme).toContain('npm test');
    expect(ci).toMatch(/^npm install\b/m);
    expect(ci).toMatch(/^npm run demo$/m);
    expect(ci).toMatch(/^npm test\b/m);
  });
});
