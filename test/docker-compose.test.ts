import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCli } from '../src/cli/main.ts';
import { loadConfig } from '../src/config/load.ts';
import { providerIds } from '../src/providers/index.ts';
import { startSandbox } from '../src/sandbox/index.ts';

const root = join(import.meta.dirname, '..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; build?: string; command?: string[]; ports?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
};

// No Docker engine runs here: these check the file's structure, not a running stack.
describe('docker-compose.yml', () => {
  it('has redis, api, worker and sandbox', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['api', 'redis', 'sandbox', 'worker']);
  });

  it('runs Redis with append-only persistence and noeviction', () => {
    const cmd = compose.services.redis?.command ?? [];
    expect(cmd[0]).toBe('redis-server');
    expect(cmd.join(' ')).toContain('--appendonly yes');
    expect(cmd.join(' ')).toContain('--maxmemory-policy noeviction');
  });

  it('runs the real CLI commands, whose options exist', () => {
    const cli = buildCli();
    for (const [service, expected] of [
      ['api', 'serve'],
      ['worker', 'worker'],
      ['sandbox', 'sandbox'],
    ] as const) {
      const command = compose.services[service]?.command ?? [];
      expect(command[0]).toBe(expected);
      const sub = cli.commands.find((c) => c.name() === expected);
      const known = new Set((sub?.options ?? []).map((o) => o.long));
      for (const arg of command.filter((a) => a.startsWith('--'))) expect(known, `${service}: ${arg}`).toContain(arg);
      expect(compose.services[service]?.build).toBe('.');
    }
  });

  it('lets the worker scale: no fixed host ports or container name', () => {
    expect(compose.services.worker?.ports).toBeUndefined();
    expect(compose.services.worker).not.toHaveProperty('container_name');
  });

  it('mounts a valid config that points at the sandbox service', () => {
    expect(compose.services.api?.volumes).toContain('./examples/compose.config.json:/config/invitebus.config.json:ro');
    const config = loadConfig(join(root, 'examples/compose.config.json'));
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(Object.values(config.accounts).every((a) => a.baseUrl.startsWith('http://sandbox:'))).toBe(true);
    for (const account of Object.values(config.accounts)) {
      for (const ref of Object.values(account.credentials)) if ('env' in ref) expect(compose.services.worker?.environment).toHaveProperty(ref.env);
    }
  });

  it('points each account at the port the sandbox service gives its provider, with the sandbox account settings', async () => {
    const base = Number(/^\d+$/.exec(compose.services.sandbox?.command?.at(-1) ?? '')?.[0]);
    const sandbox = await startSandbox({ port: 0 });
    try {
      const config = loadConfig(join(root, 'examples/compose.config.json'));
      // The sandbox service listens on consecutive ports from --port, in registry order.
      for (const [i, id] of providerIds.entries()) {
        const expected = { ...sandbox.accounts[`sandbox-${id}`], baseUrl: `http://sandbox:${base + i}` };
        expect(JSON.parse(readFileSync(join(root, 'examples/compose.config.json'), 'utf8')).accounts[`sandbox-${id}`]).toEqual(expected);
        expect(config.accounts[`sandbox-${id}`]?.provider).toBe(id);
      }
    } finally {
      await sandbox.close();
    }
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  it('is multi-stage: dependencies built in one stage, copied into a runtime stage', () => {
    const stages = [...text.matchAll(/^FROM\s+(\S+)\s+AS\s+(\S+)/gim)].map((m) => [m[1], m[2]]);
    expect(stages).toEqual([
      ['node:24-alpine', 'deps'],
      ['node:24-alpine', 'runtime'],
    ]);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/COPY --from=deps \/app\/node_modules/);
    expect(text).toMatch(/USER node/);
    expect(text).toMatch(/ENTRYPOINT \["node", "bin\/invitebus.js"\]/);
  });
});
