#!/usr/bin/env node
// invitebus runs its TypeScript sources directly (Node >= 22.18 strips types); there is no build step.
// `npm run` and `npx` put the project's pinned Node (the `node` devDependency) first on PATH. Started by an
// older `node` (a global install, `npm link`, a shell), this re-runs itself on that pinned Node when it is
// installed, else says in one line what to do. Plain JavaScript: it must parse on any Node.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major > 22 || (major === 22 && minor >= 18)) {
  const { main } = await import('../src/cli/main.ts');
  await main();
} else {
  const pinned = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  if (!existsSync(pinned)) {
    console.error(
      `invitebus needs Node.js >= 22.18 (this is ${process.version}): run \`npm install\` in the project to get its own Node, or install Node 24 (.nvmrc)`,
    );
    process.exit(2);
  }
  const child = spawn(pinned, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
