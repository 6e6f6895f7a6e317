#!/usr/bin/env node
// In the project, invitebus runs its TypeScript sources directly (Node >= 22.18 strips types); the installed
// package runs their compiled copy in dist/ (Node strips no types under node_modules; `npm pack` builds it).
// `npm run` and `npx` put node_modules/.bin first on PATH: the project's pinned Node (the `node` devDependency),
// or in a project that installed invitebus beside `node@24`, that Node. Started by an older `node` (a global
// install, `npm link`, a shell), this re-runs itself on such a `node` package when one resolves from here, else
// says in one line what to do. Plain JavaScript: it must parse on any Node.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// V8 grows its young generation up to 64 MB semi-spaces under invitebus's allocation rate, and the process keeps
// that memory: RSS then grows with the amount of work although nothing is retained (measured: 100,000 rows
// enqueued, live heap 21 MB after GC, RSS 290 MB; 8 MB semi-spaces: RSS 176 MB, as fast). And it sizes its old
// generation lazily: a worker whose live heap stays at ~30 MB grew to 226 MB RSS over 20,000 invites, 160 MB with
// the old generation capped at 128 MB (as fast). The long-running, streaming commands (`worker`, `enqueue`) get
// that cap: INVITEBUS_HEAP_MB changes it (many accounts, huge Stellas member lists); a --max-old-space-size in
// NODE_OPTIONS wins. Flags are set when V8 starts, so the CLI re-runs itself with those it lacks.
const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
// The command is the first argument that is neither an option nor a global option's value (`-c FILE enqueue`).
const withValue = new Set(['-c', '--config', '--redis-url']);
const command = process.argv.slice(2).find((a, i, all) => !a.startsWith('-') && !withValue.has(all[i - 1] ?? ''));
const capped = ['worker', 'enqueue'].includes(command ?? '');
const heapMb = Number(process.env.INVITEBUS_HEAP_MB) > 0 ? Number(process.env.INVITEBUS_HEAP_MB) : 128;
const wanted = [['--max-semi-space-size', '--max-semi-space-size=8'], ...(capped ? [['--max-old-space-size', `--max-old-space-size=${heapMb}`]] : [])];
const missing = wanted.filter(([name]) => !given.some((a) => a.startsWith(name))).map(([, flag]) => flag);
// A re-run never re-runs again, whatever it lacks: no chain of processes.
const flagged = missing.length === 0 || process.env.INVITEBUS_WRAPPER_PID !== undefined;

const [major, minor] = process.versions.node.split('.').map(Number);
const recent = major > 22 || (major === 22 && minor >= 18);
if (recent && flagged) {
  // Re-run by the wrapper below: if the wrapper is killed outright (SIGKILL), stop as on SIGTERM, never orphaned.
  const wrapper = Number(process.env.INVITEBUS_WRAPPER_PID);
  if (wrapper > 0) {
    setInterval(() => {
      if (process.ppid !== wrapper) process.kill(process.pid, 'SIGTERM');
    }, 1000).unref();
  }
  // The sources where they are (the project), else the compiled package. A variable, so no tool rewrites it.
  const sources = new URL('../src/cli/main.ts', import.meta.url);
  const entry = existsSync(sources) ? sources.href : new URL('../dist/src/cli/main.js', import.meta.url).href;
  const { main } = await import(entry);
  await main();
} else {
  const pinned = recent ? process.execPath : nodePackageBinary();
  if (pinned === undefined) {
    console.error(
      `invitebus needs Node.js >= 22.18 (this is ${process.version}): install Node.js 24 LTS, or \`npm install node@24\` beside invitebus and run it with \`npx invitebus\` (in the project: \`npm install\`)`,
    );
    process.exit(2);
  }
  // The flags it was started with too: without them, `node --max-old-space-size=256 bin/invitebus.js worker` re-ran
  // with only the semi-space flag, which re-ran with only the old-space one, and so on (thousands of processes).
  const child = spawn(pinned, [...process.execArgv, ...missing, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, INVITEBUS_WRAPPER_PID: String(process.pid) },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die of the same signal, as the child did (the forwarding listener would otherwise swallow it).
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}

/** The binary of the registry's `node` package as resolved from here (the project's devDependency, or a sibling of the installed package), if installed. */
function nodePackageBinary() {
  try {
    const bin = join(dirname(createRequire(import.meta.url).resolve('node/package.json')), 'bin/node');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}
