/**
 * The installable package (issue 23): `npm pack` makes a package that installs in a clean folder outside the
 * project and runs `invitebus demo` there end to end, as a user does it: with the machine's own `node`, `npm` and
 * `npx` (the project's pinned Node taken off PATH), and `node@24` installed beside invitebus when the machine's
 * Node is older than the package needs (docs/installation.md). Slow (a build, an install from the registry).
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCli } from '../support/cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const cli = useCli();
/** PATH without any node_modules/.bin (where npx and vitest put the project's pinned Node): the machine's own tools. */
const PATH = (process.env.PATH ?? '')
  .split(':')
  .filter((dir) => !dir.includes('/node_modules/'))
  .join(':');
const machine = (command: string, args: string[], cwd: string) => cli.start(args, { PATH }, [command], cwd).done;

/** Whether the machine's own Node runs invitebus itself (>= 22.18), else `node@24` is installed beside it. */
async function machineNodeIsRecent(): Promise<{ version: string; recent: boolean }> {
  const version = (await machine('node', ['--version'], ROOT)).stdout.trim();
  const [major = 0, minor = 0] = version.slice(1).split('.').map(Number);
  return { version, recent: major > 22 || (major === 22 && minor >= 18) };
}

describe('the installable package', () => {
  it('packs, installs in an empty folder and runs `invitebus demo` there', async () => {
    const packs = tempDir('invitebus-pack-');
    const packed = await machine('npm', ['pack', '--pack-destination', packs], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = join(packs, `invitebus-${pkg.version}.tgz`);
    expect(readdirSync(packs)).toEqual([`invitebus-${pkg.version}.tgz`]);
    // postpack removed the build: the project never runs a stale copy.
    expect(readdirSync(ROOT)).not.toContain('dist');

    const user = tempDir('invitebus-user-');
    writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'hr-onboarding', private: true }));
    const node = await machineNodeIsRecent();
    const extra = node.recent ? [] : [`node@${pkg.devDependencies.node}`];
    const installed = await machine('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...extra], user);
    expect(installed.code, installed.stderr).toBe(0);
    const files = readdirSync(join(user, 'node_modules/invitebus'), { recursive: true }).map(String);
    expect(files).toContain('dist/src/cli/main.js');
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);

    const version = await machine('npx', ['invitebus', '--version'], user);
    expect(version.stdout.trim()).toBe(pkg.version);
    const demo = await machine('npx', ['invitebus', 'demo'], user);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/demo: started redis-server on redis:\/\/127\.0\.0\.1:\d+/);
    expect(demo.stdout).toMatch(/demo: webhook receiver got (\d+) of \1 events/);
    expect(demo.stdout).toContain('demo: every invite reached a terminal outcome, the numbers add up and the HR system was told');
    expect(demo.stderr).not.toContain('EBADENGINE');
    console.log(`package: node ${node.version}; pack ${packed.ms} ms, install ${installed.ms} ms, demo ${demo.ms} ms`);

    if (!node.recent) {
      // Without a recent Node to run it, the command says so in one line (here: its bin alone, no node@24 near).
      const lonely = join(tempDir('invitebus-lonely-'), 'bin');
      mkdirSync(lonely, { recursive: true });
      copyFileSync(join(user, 'node_modules/invitebus/bin/invitebus.js'), join(lonely, 'invitebus.js'));
      const old = await machine('node', [join(lonely, 'invitebus.js'), 'demo'], user);
      expect(old.code).toBe(2);
      expect(old.stderr.trim()).toBe(
        `invitebus needs Node.js >= 22.18 (this is ${node.version}): install Node.js 24 LTS, or \`npm install node@24\` beside invitebus and run it with \`npx invitebus\` (in the project: \`npm install\`)`,
      );
    }
  }, 400_000);

  it('runs in the project with `npx invitebus` under the machine’s Node', async () => {
    // npm may warn EBADENGINE about invitebus itself here (a fresh clone's npx links the project through its cache
    // and checks `engines`): harmless, the pinned Node runs it (docs/installation.md).
    const run = await machine('npx', ['invitebus', '--version'], ROOT);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
