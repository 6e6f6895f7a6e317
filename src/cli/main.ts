import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runWorkerProcess } from '../../workers/invite-worker.ts';
import { pauseAccount, resumeAccount } from '../accounts.ts';
import { checkBatch } from '../batch-check.ts';
import { batchReport, batchStatus, REPORT_COLUMNS } from '../batches.ts';
import { accountOf, type Config, configOverrides, configPath, loadConfig } from '../config/load.ts';
import { csvLine } from '../csv.ts';
import { InvitebusError } from '../errors.ts';
import { identifierProblem } from '../identifiers.ts';
import { CSV_DELIMITERS } from '../input/readers.ts';
import { emailField } from '../invites/fields.ts';
import { findInvitesByEmail } from '../invites/lookup.ts';
import { createLogger } from '../logger.ts';
import { peopleCsv, peopleReport } from '../onboarding/people.ts';
import { EnqueueInterruptedError, Producer } from '../producer.ts';
import { isRedisUnreachable, openCommandRedis, redisUnavailable } from '../redis.ts';
import { parseDuration, type ReplayFilter, replayFailed } from '../replay.ts';
import { exitOnSignal, logUnhandledRejections } from '../signals.ts';
import { accountStats } from '../stats.ts';
import { REPLAYABLE_REASONS, type ReasonClass } from '../types.ts';
import { enableWebhook, replayWebhook, testWebhook, webhookStatus } from '../webhooks/admin.ts';
import { CLAIM_IDLE_MS } from '../webhooks/fanout.ts';
import { controlQueue, scheduleReplay, unscheduleReplay } from '../worker/control-queue.ts';
import { formatBatchCheck } from './batch-check.ts';
import type { EnqueueFlags } from './enqueue.ts';
import { enqueueCommand } from './enqueue-command.ts';
import { printEvents } from './events.ts';
import { replaySummary } from './replay-summary.ts';
import { terminalJson, terminalText, terminalValues } from './terminal-text.ts';
import { formatStatus, watchBatch } from './watch.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

type Globals = { config?: string; redisUrl?: string };

function config(cmd: Command): Config {
  const globals = cmd.optsWithGlobals<Globals>();
  return loadConfig(configPath(globals.config, process.env), configOverrides(globals, process.env));
}

/** Closing waits this long at most: a command that met an outage must still end in seconds. */
const CLOSE_TIMEOUT_MS = 2_000;

/**
 * Runs a short command with a producer on a connection that gives up on Redis within seconds (one line,
 * exit 2: see `main`), closing it afterwards.
 */
async function withProducer<T>(cmd: Command, fn: (producer: Producer, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = config(cmd);
  const redis = await openCommandRedis(cfg.redis.url);
  const producer = new Producer(cfg, { redis });
  try {
    return await fn(producer, cfg);
  } catch (error) {
    throw isRedisUnreachable(error) ? redisUnavailable(cfg.redis.url, error) : error;
  } finally {
    const closed = producer.close().then(() => redis.quit());
    await Promise.race([closed.catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_TIMEOUT_MS).unref())]);
    redis.disconnect();
  }
}

/** Time a stop may take beyond the in-flight deadline (closing queues and connections). */
const CLOSE_GRACE_MS = 5_000;

const duration = (value: string) => {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
/** A batch id, by the one identifier rule (src/identifiers.ts): refused as a usage error before anything runs. */
const batchId = (value: string) => {
  const problem = identifierProblem('batch id', value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
};
/** A person's address, by the same rule as an invite's: anything else is a usage error before anything runs. */
const emailArg = (value: string) => {
  const checked = emailField.safeParse(value);
  if (!checked.success) throw new InvalidArgumentError(checked.error.issues[0]?.message ?? 'not a valid email address');
  return value;
};
/** `--account a,b --account c`: every name, each by the identifier rule, in order, once. */
const accountList = (value: string, previous: string[]) => {
  const names = value.split(',').map((n) => n.trim());
  for (const name of names) {
    const problem = identifierProblem('account name', name);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
  }
  return [...new Set([...previous, ...names])];
};
const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
/**
 * `--set field=value`, repeatable, into one object. A value starting with `[` or `{` is read as JSON (UniBee's
 * `roleIds=["12"]`); anything else is a string.
 */
const setField = (value: string, previous: Record<string, unknown> = {}) => {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`'${value}' is not field=value (e.g. role=member)`);
  const field = value.slice(0, eq).trim();
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  if (/^\s*[[{]/.test(raw)) {
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new InvalidArgumentError(`${field}: '${raw}' is not valid JSON`);
    }
  }
  return { ...previous, [field]: parsed };
};

function replayFilter(opts: { account?: string[]; batch?: string; reason?: string; since?: number }): ReplayFilter {
  return {
    ...(opts.account ? { accounts: opts.account } : {}),
    ...(opts.batch ? { batchId: opts.batch } : {}),
    ...(opts.reason ? { reason: opts.reason as ReasonClass } : {}),
    ...(opts.since !== undefined ? { sinceMs: opts.since } : {}),
  };
}

function addReplayFilters(cmd: Command): Command {
  return cmd
    .option('--account <names>', 'only these accounts (comma-separated)', list)
    .option('--batch <id>', 'only invites of this batch', batchId)
    .addOption(new Option('--reason <class>', 'only failures of this class').choices(REPLAYABLE_REASONS))
    .option('--since <duration>', 'only invites that failed within this long (e.g. 1h)', duration);
}

export function buildCli(): Command {
  const program = new Command('invitebus')
    .description('Reliable delivery of team invitations to SaaS providers')
    .version(VERSION)
    .option('-c, --config <path>', 'config file (default: $INVITEBUS_CONFIG or ./invitebus.config.json)')
    .option('--redis-url <url>', 'Redis to use (default: $REDIS_URL, else redis.url of the config, else redis://127.0.0.1:6379)')
    .showHelpAfterError('(run with --help for usage)')
    // Usage errors exit 2 (see main); set before the commands so every one inherits it.
    .exitOverride();

  program
    .command('worker')
    .description('run the invite workers (all accounts by default) until SIGTERM/SIGINT')
    .option('--account <names>', 'comma-separated accounts to work on', list)
    .option('--metrics-port <port>', 'serve this process’s Prometheus metrics on this port', (v) => Number(v))
    .action(async (opts: { account?: string[]; metricsPort?: number }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<Globals>();
      await runWorkerProcess({
        ...(globals.config === undefined ? {} : { config: globals.config }),
        ...configOverrides(globals, process.env),
        ...(opts.account ? { accounts: opts.account } : {}),
        ...(opts.metricsPort === undefined ? {} : { metricsPort: opts.metricsPort }),
      });
    });

  program
    .command('serve')
    .description('run the HTTP API (/v1, /metrics, /docs, /dashboard); needs $INVITEBUS_API_TOKEN')
    .option('--port <port>', 'port (default: api.port, 8080)', (v) => Number(v))
    .option('--host <host>', 'address to bind (default: api.host, 127.0.0.1)')
    .option('--with-workers', 'also run the workers in this process')
    .action(async (opts: { port?: number; host?: string; withWorkers?: boolean }, cmd: Command) => {
      const cfg = config(cmd);
      const logger = createLogger({ level: cfg.log.level });
      logUnhandledRejections(logger);
      const { startServer } = await import('../api/serve.ts');
      // Installed first: a SIGTERM while the start waits for Redis ends the process cleanly too.
      let server: Awaited<ReturnType<typeof startServer>> | undefined;
      exitOnSignal(async () => server?.close(), {
        deadlineMs: cfg.worker.shutdownTimeoutMs + CLOSE_GRACE_MS,
        onLate: () => logger.warn('shutdown deadline passed; exiting with connections still closing'),
      });
      server = await startServer(cfg, {
        env: process.env,
        logger,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        withWorkers: opts.withWorkers ?? false,
      });
      console.log(`invitebus API on ${server.url} (OpenAPI at ${server.url}/docs, dashboard at ${server.url}/dashboard)`);
    });

  program
    .command('enqueue')
    .description(
      'queue the invites of a CSV (header row, email column) or JSONL file: into accounts (--account a,b), by a profile ' +
        "(--profile NAME), or by each row's profile column; one batch (the onboarding) across all of them",
    )
    .option('--account <names>', 'accounts to invite every row into (comma-separated, repeatable); fields from the row', accountList, [])
    .option('--profile <name>', "a profile from the config's profiles: its accounts and fields, for rows without a profile column")
    .requiredOption('--file <path>', '.csv or .jsonl file')
    .option('--batch <id>', 'batch (onboarding) id (default: a new UUID)', batchId)
    .option('--dry-run', 'validate and count only; queue nothing')
    .option('--strict', 'queue nothing if any row is invalid')
    .option('--rejects <path>', 'write rejected and duplicate rows as CSV (line,field,message; with account when several)')
    .addOption(new Option('--delimiter <char>', 'CSV separator (default: detected from the header row)').choices(Object.keys(CSV_DELIMITERS)))
    .action(async (opts: EnqueueFlags, cmd: Command) => {
      await withProducer(cmd, async (producer, cfg) => {
        process.exitCode = await enqueueCommand(producer, cfg, opts);
      });
    });

  program
    .command('status')
    .argument('<batch>', 'the batch id', batchId)
    .description('per-outcome counts and progress of a batch')
    .option('--watch', 'follow it live until the batch is done')
    .action(async (batch: string, opts: { watch?: boolean }, cmd: Command) => {
      await withProducer(cmd, async (producer, cfg) => {
        const status = opts.watch
          ? await watchBatch(producer, batch, { tty: process.stdout.isTTY })
          : await batchStatus(producer.redis, cfg.redis.prefix, batch);
        if (status === undefined) {
          console.error(`no batch '${batch}'`);
          process.exitCode = 1;
        } else if (!opts.watch) console.log(formatStatus(status));
      });
    });

  program
    .command('batches')
    .description('batch maintenance')
    .command('check')
    .argument('<batch>', 'the batch id', batchId)
    .description('recompute a batch from its jobs and their recorded results, report any drift; --repair fixes it (safe to rerun)')
    .option('--repair', 'record stranded results and rewrite drifted counters')
    .option('--json', 'as JSON')
    .action(async (batch: string, opts: { repair?: boolean; json?: boolean }, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const check = await checkBatch(producer, batch, { repair: opts.repair ?? false });
        console.log(opts.json ? JSON.stringify(check) : formatBatchCheck(check));
        // Drift found and left: exit 1, so a cron job notices.
        process.exitCode = !check.repaired && (check.drift.length > 0 || check.stranded.length > 0) ? 1 : 0;
      });
    });

  program
    .command('report')
    .argument('<batch>', 'the batch id', batchId)
    .description(
      'one line per invite of a batch (outcome, reason, attempts, provider request id, when), then the rows refused at ' +
        'intake and the duplicates; --by person: one row per person, one column per account, done or needs attention',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .addOption(new Option('--by <unit>', 'one line per invite or per person').choices(['invite', 'person']).default('invite'))
    .action(async (batch: string, opts: { format: 'csv' | 'json'; by: 'invite' | 'person' }, cmd: Command) => {
      await withProducer(cmd, async (producer, cfg) => {
        if ((await batchStatus(producer.redis, cfg.redis.prefix, batch)) === undefined) {
          console.error(`no batch '${batch}'`);
          process.exitCode = 1;
          return;
        }
        if (opts.by === 'person') {
          const report = (await peopleReport(producer, batch)) ?? { accounts: [], people: [] };
          if (opts.format === 'json') for (const person of report.people) process.stdout.write(`${terminalJson(person)}\n`);
          else for (const line of peopleCsv(terminalValues(report))) process.stdout.write(line);
          return;
        }
        if (opts.format === 'csv') process.stdout.write(`${REPORT_COLUMNS.join(',')}\n`);
        for await (const line of batchReport(producer, batch)) {
          // Messages come from providers and files: nothing in them may act on the terminal.
          process.stdout.write(opts.format === 'json' ? `${terminalJson(line)}\n` : csvLine(terminalValues(line), REPORT_COLUMNS));
        }
      });
    });

  program
    .command('find')
    .argument('<email>', "the person's address", emailArg)
    .description('every invite of one person across accounts: state, outcome, reason, attempts, provider request id, when')
    .option('--json', 'as JSON lines')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const found = await findInvitesByEmail(producer, email);
        if (found.length === 0) {
          console.error(`no invite of ${email} in any account (never queued, or removed after retention)`);
          process.exitCode = 1;
          return;
        }
        for (const f of found) {
          if (opts.json) {
            console.log(terminalJson(f));
            continue;
          }
          const when = new Date(f.finishedAt ?? f.enqueuedAt ?? 0).toISOString();
          const detail = [
            f.outcome || f.state,
            f.reason && `reason ${f.reason}`,
            `attempts ${f.attempts}`,
            f.status && `HTTP ${f.status}`,
            f.requestId && `request ${f.requestId}`,
          ]
            .filter(Boolean)
            .join(', ');
          console.log(
            terminalText(`${f.account}: ${f.state} (${detail}) ${f.finishedAt ? 'finished' : 'queued'} ${when}${f.message ? ` — ${f.message}` : ''}`),
          );
        }
      });
    });

  const webhooks = program.command('webhooks').description('the endpoints results are pushed to: health, test, replay, enable');
  webhooks
    .command('list', { isDefault: true })
    .description('each endpoint: URL (no query), events, disabled or failing since when, last answer, deliveries waiting/failed/not started')
    .option('--json', 'as JSON lines')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const list = await webhookStatus(producer);
        if (list.length === 0) console.log('no webhooks configured (add "webhooks" to the config)');
        for (const w of list) {
          if (opts.json) {
            console.log(terminalJson(w));
            continue;
          }
          const health = w.disabled
            ? `DISABLED since ${new Date(w.disabledAt ?? 0).toISOString()}`
            : w.failingSince
              ? `failing since ${new Date(w.failingSince).toISOString()}`
              : w.notStarted > 0
                ? `failing: ${w.notStarted} deliveries could not be started (Redis refused them; see the worker log), retried every ${CLAIM_IDLE_MS / 1000} s`
                : 'ok';
          console.log(
            terminalText(
              `${w.name}: ${w.url} (${w.events.join(', ')}) ${health}; last answer ${w.lastStatus ?? '-'}; waiting ${w.waiting}, delayed ${w.delayed}, failed ${w.failed}, delivered ${w.completed}, not yet delivered or queued ${w.pending}`,
            ),
          );
        }
      });
    });
  webhooks
    .command('test')
    .argument('<name>', 'the webhook')
    .description('send a signed webhook.test event now and print how the receiver answered (needs a worker process)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const result = await testWebhook(producer, name);
        console.log(terminalText(`${name}: ${result.message}`));
        process.exitCode = result.delivered ? 0 : 1;
      });
    });
  webhooks
    .command('replay')
    .argument('<name>', 'the webhook')
    .requiredOption('--since <duration>', 'events of the last ... (e.g. 2h)', duration)
    .description('send the endpoint again every event it subscribes to from the last --since (same webhook-id: receivers drop what they have)')
    .action(async (name: string, opts: { since: number }, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const { queued } = await replayWebhook(producer, name, opts.since);
        console.log(`${name}: ${queued} events queued for delivery`);
      });
    });
  webhooks
    .command('enable')
    .argument('<name>', 'the webhook')
    .description('send now: enable a disabled endpoint, and send deliveries waiting for a retry at once (after a receiver outage)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const { wasDisabled, sentNow } = await enableWebhook(producer, name);
        console.log(`${name}: ${wasDisabled ? 'enabled' : 'was not disabled'}; ${sentNow} deliveries waiting for a retry sent now`);
      });
    });

  const replay = addReplayFilters(program.command('replay').description('move failed invites back to waiting with fresh attempts'))
    .option('--dry-run', 'only count what would be replayed')
    .option('--set <field=value>', 'change a field of every replayed invite (repeatable; checked by the provider schema first)', setField)
    .action(
      async (opts: { account?: string[]; batch?: string; reason?: string; since?: number; dryRun?: boolean; set?: Record<string, unknown> }, cmd: Command) => {
        await withProducer(cmd, async (producer) => {
          const result = await replayFailed(producer, replayFilter(opts), { dryRun: opts.dryRun ?? false, ...(opts.set ? { set: opts.set } : {}) });
          console.log(replaySummary(result, opts.dryRun ?? false));
        }).catch((error: unknown) => {
          if (!isRedisUnreachable(error)) throw error;
          // Each failure moves in one step (src/commands/move-failure.lua): none is left half way.
          throw new InvitebusError(
            'REDIS_UNAVAILABLE',
            `${(error as Error).message}\nthe replay stopped part way: every failure it reached was moved or left failed, none half way; run the same command again to replay the rest`,
            { cause: error },
          );
        });
      },
    );
  addReplayFilters(replay.command('schedule').description('replay on a timer (a BullMQ job scheduler run by the workers)'))
    .requiredOption('--every <duration>', 'e.g. 1h', duration)
    .action(async (_opts: unknown, cmd: Command) => {
      // Filters given after `schedule` may have been parsed as `replay`'s own: read both.
      const opts = cmd.optsWithGlobals<{ every: number; account?: string[]; batch?: string; reason?: string; since?: number }>();
      await withProducer(cmd, async (producer, cfg) => {
        const queue = controlQueue(cfg, producer.redis);
        await scheduleReplay(queue, opts.every, replayFilter(opts));
        await queue.close();
        console.log(`replay scheduled every ${opts.every / 1000} s`);
      });
    });
  replay
    .command('unschedule')
    .description('stop the scheduled replay')
    .action(async (_opts: unknown, cmd: Command) => {
      await withProducer(cmd, async (producer, cfg) => {
        const queue = controlQueue(cfg, producer.redis);
        const removed = await unscheduleReplay(queue);
        await queue.close();
        console.log(removed ? 'scheduled replay removed' : 'no scheduled replay');
      });
    });

  program
    .command('stats')
    .description('per account: waiting, active, delayed, completed, failed, paused (and why), rate-limit wait')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const stats = await accountStats(producer);
        if (opts.json) {
          console.log(JSON.stringify(stats, null, 2));
          return;
        }
        console.log('account                  provider     waiting  active delayed completed  failed  state');
        for (const s of stats) {
          const state = s.paused
            ? `paused (${s.pausedReason ?? 'operator'}${s.pausedMessage ? `: ${s.pausedMessage}` : ''})`
            : s.rateLimitWaitMs > 0
              ? `rate-limited ${(s.rateLimitWaitMs / 1000).toFixed(1)} s`
              : 'running';
          const n = (v: number, w: number) => String(v).padStart(w);
          console.log(
            `${s.account.padEnd(24)} ${s.provider.padEnd(12)} ${n(s.waiting, 7)} ${n(s.active, 7)} ${n(s.delayed, 7)} ${n(s.completed, 9)} ${n(s.failed, 7)}  ${state}`,
          );
        }
      });
    });

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <account>`)
      .description(action === 'pause' ? 'stop delivering an account’s invites (they stay waiting)' : 'deliver a paused account’s invites again')
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        await withProducer(cmd, async (producer, cfg) => {
          const account = accountOf(cfg, name);
          const queue = producer.queue(name);
          const info = { account: name, provider: account.provider };
          const changed =
            action === 'pause'
              ? await pauseAccount(queue, producer.events(), { ...info, reason: 'operator' })
              : await resumeAccount(queue, producer.events(), info);
          console.log(`${name}: ${changed ? `${action}d` : `already ${action === 'pause' ? 'paused' : 'running'}`}`);
        });
      });
  }

  program
    .command('events')
    .description('print completion and account events as JSON lines')
    .option('--follow', 'keep waiting for new events')
    .option('--group <group>', 'read as this consumer group and acknowledge each event')
    .option('--consumer <name>', 'consumer name within the group', 'cli')
    .action(async (opts: { follow?: boolean; group?: string; consumer: string }, cmd: Command) => {
      await withProducer(cmd, async (producer) => {
        const controller = new AbortController();
        process.on('SIGINT', () => controller.abort());
        process.on('SIGTERM', () => controller.abort());
        await printEvents(producer.redis, producer.events().key, {
          follow: opts.follow ?? false,
          ...(opts.group ? { group: opts.group, consumer: opts.consumer } : {}),
          signal: controller.signal,
        });
      });
    });

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
      const { startSandbox, SANDBOX_CREDENTIALS } = await import('../sandbox/index.ts');
      const sandbox = await startSandbox({
        ...(opts.port === 0 ? {} : { port: opts.port }), // 0: any free ports
        host: opts.host,
        chaos: { latencyMs: opts.latency, rate429: opts.rate429, rate5xx: opts.rate5xx },
      });
      for (const [id, server] of Object.entries(sandbox.servers)) console.log(`${id.padEnd(12)} ${server.url}`);
      if (opts.writeConfig) {
        // Complete as written: `invitebus serve --with-workers --config FILE` runs after the exports below.
        const written = { api: { token: { env: 'INVITEBUS_API_TOKEN' } }, accounts: sandbox.accounts };
        writeFileSync(opts.writeConfig, `${JSON.stringify(written, null, 2)}\n`);
        console.log(
          `config written to ${opts.writeConfig}; in another shell, run these, then \`invitebus serve --with-workers --config ${opts.writeConfig}\`:`,
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
      const { runDemo } = await import('../demo/demo.ts');
      const keepUntil = () =>
        new Promise<void>((resolve) => {
          process.on('SIGINT', () => resolve());
          process.on('SIGTERM', () => resolve());
        });
      process.exitCode = await runDemo({ ...configOverrides(cmd.optsWithGlobals<Globals>(), process.env), ...(opts.keep ? { keepUntil } : {}) });
    });

  return program;
}

/** The exit code of an enqueue that stopped short: 3 for Redis, 128 + the signal's number when the user stopped it. */
function interruptedExit(error: EnqueueInterruptedError): number {
  if (error.stage !== 'stopped') return 3;
  return error.cause === 'SIGTERM' ? 143 : 130;
}

/**
 * Runs the CLI. Exit codes: 0 done; 1 some input rows were rejected (enqueue) or a batch is unknown; 2 usage,
 * configuration, credentials or Redis unreachable (one line on stderr saying what to do); 3 Redis failed during
 * an enqueue, or after it queued everything but before it closed the batch (the confirmed count is printed; the
 * same command can be rerun safely); 130 an enqueue stopped by Ctrl-C (the same line).
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
    // printed; rerunning it is safe). 130 (143): an enqueue stopped by Ctrl-C (SIGTERM), with the same line.
    process.exit(error instanceof EnqueueInterruptedError ? interruptedExit(error) : 2);
  }
}
