import { Command } from 'commander';
import { runWorkerProcess } from '../../workers/invite-worker.ts';
import { pauseAccount, resumeAccount } from '../accounts.ts';
import { accountOf, type Config, configPath, loadConfig } from '../config/load.ts';
import type { EventStream } from '../events/stream.ts';
import { Producer } from '../producer.ts';

function config(cmd: Command): Config {
  const opts = cmd.optsWithGlobals<{ config?: string }>();
  return loadConfig(configPath(opts.config, process.env));
}

/** Runs a function with a producer (and the event stream on its connection), closing both afterwards. */
async function withProducer<T>(cfg: Config, fn: (producer: Producer, events: EventStream) => Promise<T>): Promise<T> {
  const producer = new Producer(cfg);
  try {
    return await fn(producer, producer.events());
  } finally {
    await producer.close();
  }
}

export function buildCli(): Command {
  const program = new Command('invitebus')
    .description('Reliable delivery of team invitations to SaaS providers')
    .option('-c, --config <path>', 'config file (default: $INVITEBUS_CONFIG or ./invitebus.config.json)')
    .showHelpAfterError();

  program
    .command('worker')
    .description('run the invite workers (all accounts by default) until SIGTERM/SIGINT')
    .option('--account <names>', 'comma-separated accounts to work on')
    .action(async (opts: { account?: string }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ config?: string }>();
      await runWorkerProcess({
        ...(globals.config === undefined ? {} : { config: globals.config }),
        ...(opts.account === undefined
          ? {}
          : {
              accounts: opts.account
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean),
            }),
      });
    });

  program
    .command('demo')
    .description('run the whole pipeline locally against a sandbox provider (starts its own Redis unless REDIS_URL is set)')
    .action(async () => {
      const { runDemo } = await import('../demo/demo.ts');
      process.exitCode = await runDemo({ redisUrl: process.env.REDIS_URL });
    });

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <account>`)
      .description(action === 'pause' ? 'stop delivering an account’s invites (they stay waiting)' : 'deliver a paused account’s invites again')
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        const cfg = config(cmd);
        const account = accountOf(cfg, name);
        await withProducer(cfg, async (producer, events) => {
          const queue = producer.queue(name);
          const info = { account: name, provider: account.provider };
          const changed = action === 'pause' ? await pauseAccount(queue, events, { ...info, reason: 'operator' }) : await resumeAccount(queue, events, info);
          console.log(`${name}: ${changed ? `${action}d` : `already ${action === 'pause' ? 'paused' : 'running'}`}`);
        });
      });
  }
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
