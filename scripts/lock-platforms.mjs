#!/usr/bin/env node
// The registry this project is built against serves only the linux-x64 builds of packages that ship one
// native binary per platform (biome, esbuild, msgpackr-extract, ...). npm then leaves the other platforms'
// optional packages out of package-lock.json, and `npm ci` refuses the lock as "out of sync".
// This adds those entries back (version, optional, os/cpu/libc read from the package name, no tarball), so
// `npm ci` accepts the lock and skips them on this platform as it would anyway. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony'];
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32'];
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${name}`;
    if (lock.packages[target] || lock.packages[`${key}/${target}`]) continue;
    const parts = name.split(/[/-]/);
    const os = OS.find((o) => parts.includes(o) || (o === 'win32' && parts.includes('windows')));
    const cpu = CPU.find((c) => parts.includes(c));
    if (!os && !cpu) continue;
    lock.packages[target] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...(os ? { os: [os] } : {}),
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(parts.includes('musl') ? { libc: ['musl'] } : parts.includes('gnu') ? { libc: ['glibc'] } : {}),
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platforms: added ${added} platform entries`);
