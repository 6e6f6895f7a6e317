/** `sandbox` and `demo`: local fakes and the whole pipeline. */

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configOverrides } from '../../config/load.ts';
import { exitOnSignal } from '../../signals.ts';
import { CLOSE_GRACE_MS, type Globals } from '../context.ts';

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('local fake servers for the five providers, answering as their documentation says')
    .option('--port <port>', 'first port (five consecutive ports; 0: any free ports)', (v) => Number(v), 4010)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--latency <ms>', 'added to every answer', (v) => Number(v), 0)
    .option('--rate-429 <share>', 'share of calls answered with a rate limit (0..1)', (v) => Number(v), 0)
    .option('--rate-5xx <share>', 'share of calls answered 503 (0..1)', (v) => Number(v), 0)
    .option('--write-config <path>', 'write an invitebus config whose accounts point at the sandbox')
    .action(async (opts: { port: number; host: string; latency: number; rate429: number; rate5xx: number; writeConfig?: string }) => {
      const { startSandbox, SANDBOX_CREDENTIALS, EXAMPLE_ACCOUNTS, exampleAccounts, sampleProfiles } = await import('../../sandbox/index.ts');
      const sandbox = await startSandbox({
        ...(opts.port === 0 ? {} : { port: opts.port }), // 0: any free ports
        host: opts.host,
        chaos: { latencyMs: opts.latency, rate429: opts.rate429, rate5xx: opts.rate5xx },
      });
      for (const [id, server] of Object.entries(sandbox.servers)) console.log(`${id.padEnd(12)} ${server.url}`);
      if (opts.writeConfig) {
        // Complete as written: `invitebus serve --with-workers --config FILE` runs after the exports below. The
        // accounts bear the docs' example names (acme-uptime, ...): every example of the docs runs against them; the
        // profiles are the bundled sample's teams, so `enqueue --file examples/hires.csv` reads its profile column.
        const written = {
          api: { token: { env: 'INVITEBUS_API_TOKEN' } },
          accounts: exampleAccounts(sandbox),
          profiles: sampleProfiles((id) => EXAMPLE_ACCOUNTS[id]),
        };
        writeFileSync(opts.writeConfig, `${JSON.stringify(written, null, 2)}\n`);
        console.log(
          `config written to ${opts.writeConfig}; in another shell, run these, then \`npx invitebus serve --with-workers --config ${opts.writeConfig}\`:`,
        );
        for (const [k, v] of Object.entries(SANDBOX_CREDENTIALS)) console.log(`  export ${k}=${v}`);
        console.log(`  export INVITEBUS_API_TOKEN=${randomBytes(16).toString('hex')}`);
      }
      exitOnSignal(() => sandbox.close(), { deadlineMs: CLOSE_GRACE_MS });
    });

  program
    .command('demo')
    .description('the whole pipeline locally: Redis, sandbox, workers, API and console, 40 hires onboarded into five tools')
    .option('--keep', 'after the run, leave the API, console and sandbox running (prints the console URL and a login token) until Ctrl-C')
    .action(async (opts: { keep?: boolean }, cmd: Command) => {
      const { runDemo } = await import('../../demo/demo.ts');
      const keepUntil = () =>
        new Promise<void>((resolve) => {
          process.on('SIGINT', () => resolve());
          process.on('SIGTERM', () => resolve());
        });
      process.exitCode = await runDemo({ ...configOverrides(cmd.optsWithGlobals<Globals>(), process.env), ...(opts.keep ? { keepUntil } : {}) });
    });
}
