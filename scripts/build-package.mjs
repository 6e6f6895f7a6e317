#!/usr/bin/env node
// The installable package's code (run by `npm pack` and `npm publish` as `prepack`). In the project, Node runs the
// TypeScript sources as they are; Node refuses to strip types from files under node_modules, so the package ships
// them compiled: `tsc -p tsconfig.build.json` writes dist/src and dist/workers (relative imports rewritten to
// .js), and the files the code reads beside itself (Lua scripts, the console's assets) are copied next to them.
// `postpack` removes dist/ again (`--clean`), so the project never runs a stale copy.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('build-package: tsc failed');
  process.exit(tsc.status ?? 1);
}
let copied = 0;
for (const top of ['src', 'workers']) {
  for (const entry of readdirSync(join(root, top), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith('.ts')) continue;
    const from = join(entry.parentPath, entry.name);
    cpSync(from, join(dist, relative(root, from)));
    copied += 1;
  }
}
console.error(`build-package: dist/ written (${copied} files besides the compiled code)`);
