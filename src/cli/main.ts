import { Command, CommanderError } from 'commander';
import { InvitebusError } from '../errors.ts';
import { EnqueueInterruptedError } from '../producer.ts';
import { VERSION } from '../version.ts';
import { registerAccounts } from './commands/accounts.ts';
import { registerBatches } from './commands/batches.ts';
import { registerCancel } from './commands/cancel.ts';
import { registerEnqueue } from './commands/enqueue.ts';
import { registerEvents } from './commands/events.ts';
import { registerFind } from './commands/find.ts';
import { registerReplay } from './commands/replay.ts';
import { registerRun } from './commands/run.ts';
import { registerSandbox } from './commands/sandbox.ts';
import { registerWebhooks } from './commands/webhooks.ts';

/** The command line: global options, then one module per command group (src/cli/commands/), each registering itself. */
export function buildCli(): Command {
  const program = new Command('invitebus')
    .description('Reliable delivery of team invitations to SaaS providers')
    .version(VERSION)
    .option('-c, --config <path>', 'config file (default: $INVITEBUS_CONFIG or ./invitebus.config.json)')
    .option('--redis-url <url>', 'Redis to use (default: $REDIS_URL, else redis.url of the config, else redis://127.0.0.1:6379)')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors exit 2 (see main); set before the commands so every one inherits it.
    .exitOverride();
  for (const register of [
    registerRun,
    registerEnqueue,
    registerBatches,
    registerFind,
    registerCancel,
    registerWebhooks,
    registerReplay,
    registerAccounts,
    registerEvents,
    registerSandbox,
  ])
    register(program);
  return program;
}

/**
 * The exit code of a failed command: for an enqueue that stopped short, 3 for Redis and 128 + the signal's number
 * when the user stopped it; 3 for writes not confirmed on enough replicas (redis.waitReplicas); else 2.
 */
function exitCodeOf(error: unknown): number {
  if (error instanceof InvitebusError && error.code === 'NOT_REPLICATED') return 3;
  if (!(error instanceof EnqueueInterruptedError)) return 2;
  if (error.stage !== 'stopped') return 3;
  return error.cause === 'SIGTERM' ? 143 : 130;
}

/**
 * Runs the CLI. Exit codes: 0 done; 1 some input rows were rejected (enqueue, cancel --file), a batch is unknown, or a
 * cancel found no invite of a person or one being sent right now; 2 usage,
 * configuration, credentials or Redis unreachable (one line on stderr saying what to do); 3 Redis failed during
 * an enqueue, or after it queued everything but before it closed the batch, or an enqueue's or replay's writes
 * were not confirmed on `redis.waitReplicas` replicas in time (the confirmed count is printed; the same command
 * can be rerun safely); 130 an enqueue stopped by Ctrl-C (the same line).
 */
export async function main(argv = process.argv): Promise<void> {
  // `invitebus report | head`: the reader left, so stop quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed the usage error (or the help / version asked for).
      process.exit(error.exitCode === 0 ? 0 : 2);
    }
    console.error(error instanceof InvitebusError || error instanceof Error ? error.message : String(error));
    // Exit now: a failed start (missing credentials, no Redis) must not linger on open handles. 3: an enqueue
    // stopped part-way by Redis, or queued everything but could not close its batch (what was confirmed is
    // printed; rerunning it is safe), or writes not confirmed on enough replicas. 130 (143): an enqueue stopped
    // by Ctrl-C (SIGTERM), with the same line.
    process.exit(exitCodeOf(error));
  }
}
