/**
 * The README works as written (issue: a README that is a door): its library snippet runs against a real Redis and
 * queues what it says, and every command its table shows is a command of the CLI.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../src/batches.ts';
import { buildCli } from '../src/cli/main.ts';
import { useRedis } from './support/redis.ts';
import { tempDir } from './support/temp-dir.ts';

const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const redis = useRedis(import.meta.url);

describe('the README', () => {
  it('has a library snippet that runs as written and queues its invite', async () => {
    const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toContain('createInvitebus');
    const dir = tempDir('ib-readme-');
    const config = JSON.parse(/```json\n([\s\S]*?)```/.exec(readme)?.[1] ?? '{}') as { redis: { url: string; prefix?: string } };
    config.redis = { url: redis.url, prefix: `${redis.prefix}-readme` };
    writeFileSync(join(dir, 'invitebus.config.json'), JSON.stringify(config));
    // The snippet's imports are relative to the project; it runs from a folder holding the README's config.
    const file = join(dir, 'snippet.ts');
    writeFileSync(file, (snippet as string).replaceAll("'./src/", `'${root}/src/`));
    const { stdout } = await promisify(execFile)(process.execPath, [file], { cwd: dir, timeout: 30_000 });
    expect(stdout).toMatch(/total: 1/);
    expect(await batchStatus(redis.admin, `${redis.prefix}-readme`, 'hr-2026-11')).toMatchObject({ total: 1 });
  });

  it('shows only commands the CLI has', () => {
    const table = readme.slice(readme.indexOf('## Commands'), readme.indexOf('## Guarantees'));
    const shown = [...table.matchAll(/^\| `([a-z]+)(?: ([a-z]+))?/gm)].map((m) => [m[1] as string, m[2]] as const);
    expect(shown.length).toBeGreaterThan(10);
    const program = buildCli();
    for (const [name, sub] of shown) {
      const command = program.commands.find((c) => c.name() === name);
      expect(command, `invitebus ${name}`).toBeDefined();
      if (sub !== undefined && command?.commands.length)
        expect(
          command.commands.map((c) => c.name()),
          `invitebus ${name} ${sub}`,
        ).toContain(sub);
    }
  });
});
