import { isDeepStrictEqual } from 'node:util';
import { resolveCredentials } from '../config/credentials.ts';
import { diffConfig, type ReloadResult, refused } from '../config/diff.ts';
import { type AccountConfig, accountOf, type Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { EventStream } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { Producer } from '../producer.ts';
import { invitebusKeys, OutageReporter } from '../redis.ts';
import { connectRedis, describeRedis, duplicateClient, type RedisClient, redisSecretProblems } from '../redis-connection/factory.ts';
import { connectionHealth } from '../redis-connection/liveness.ts';
import { startWebhooks, webhookSecrets } from '../webhooks/index.ts';
import { AccountEngine, type EngineOptions } from './account-engine.ts';
import type { AccountWorker } from './account-worker.ts';
import { startControlWorker } from './control.ts';

export interface RunningWorkers {
  /** The accounts' BullMQ workers running now: those with work (or had it lately); idle accounts have none. */
  readonly workers: AccountWorker[];
  /** The accounts served and their runtime changes (addAccount, removeAccount, updateAccount). */
  engine: AccountEngine;
  events: EventStream;
  /**
   * Runs `next` if this process could start with it (every served account's credentials and Redis's secrets
   * found; no change that needs a restart), else keeps the running config and says why. Added accounts start;
   * removed ones drain (in-flight calls finish, their waiting jobs stay in Redis) and stop; changed ones drain
   * and start again with their new settings; unchanged ones are not touched. One reload at a time.
   */
  reload(next: Config): Promise<ReloadResult>;
  /** Graceful stop: in-flight calls finish (up to the configured deadline), connections close. */
  close(): Promise<{ clean: boolean }>;
}

/** The selected accounts (all by default) and their credentials, read once; every missing one listed. */
export function checkWorkerCredentials(config: Config, names: readonly string[] | undefined, env: NodeJS.ProcessEnv) {
  return credentialsOf(
    config,
    (names?.length ? names : Object.keys(config.accounts)).map((n) => accountOf(config, n)),
    env,
  );
}

function credentialsOf(config: Config, accounts: AccountConfig[], env: NodeJS.ProcessEnv) {
  // Redis's own secrets (password, TLS key) first: nothing runs without them.
  const problems: string[] = redisSecretProblems(config, env);
  const credentials = new Map<string, Record<string, string>>();
  for (const account of accounts) {
    const resolved = resolveCredentials(account.name, account.credentials, env, config.baseDir);
    problems.push(...resolved.problems);
    credentials.set(account.name, resolved.values);
  }
  return { accounts, credentials, problems };
}

/**
 * Serves the selected accounts (all by default) in this process through one AccountEngine: a fixed set of Redis
 * connections whatever the number of accounts, an account's BullMQ worker built when it has work. Credentials are
 * read here, once; every missing one is reported at once.
 */
export async function runWorkers(
  config: Config,
  options: {
    accounts?: readonly string[];
    env: NodeJS.ProcessEnv;
    logger: Logger;
    redis?: RedisClient;
    metrics?: Metrics;
    /** Reports Redis outages once per process (shared with the API in `serve`). */
    outage?: OutageReporter;
    /** Run scheduled replays in this process too (default true). */
    control?: boolean;
    /** Deliver webhooks from this process too (default true, when the config has any). */
    webhooks?: boolean;
    /** Idle release and sweep timings (tests). */
    engine?: EngineOptions;
  },
): Promise<RunningWorkers> {
  const { accounts, credentials, problems } = checkWorkerCredentials(config, options.accounts, options.env);
  if (problems.length > 0) {
    throw new InvitebusError('CREDENTIAL_MISSING', `missing credentials:\n  ${problems.join('\n  ')}`, { details: problems });
  }
  // Checked before anything starts: a missing webhook secret is a start-up error like a missing credential.
  if (options.webhooks !== false) webhookSecrets(config, options.env);

  // Each connection lost (and back) is said once, in this process's log.
  connectionHealth.useLog(options.logger);
  const redis = options.redis ?? connectRedis(config, 'worker', { env: options.env });
  const outage = options.outage ?? new OutageReporter(describeRedis(config.redis), options.logger);
  outage.watch(redis);
  // Completion events have a connection of their own that sends the commands of one tick in one write: with
  // many calls in flight, several invites' events leave together (a socket write costs more than the command).
  const eventsRedis = duplicateClient(redis, { enableAutoPipelining: true });
  outage.watch(eventsRedis);
  const events = new EventStream(eventsRedis, config.redis.prefix, config.events.maxLen);
  const producer = new Producer(config, { redis });
  const engine = new AccountEngine({
    config,
    redis,
    events,
    logger: options.logger,
    outage,
    checkBatchLater: (batchId, liveForMs) => producer.checkBatchLater(batchId, liveForMs),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
  });
  const control = options.control === false ? undefined : startControlWorker(config, redis, producer, options.logger, outage);
  const webhooks = options.webhooks === false ? undefined : startWebhooks({ config, env: options.env, connection: redis, logger: options.logger, outage });
  await Promise.all([
    engine.start(accounts.map((account) => ({ account, credentials: credentials.get(account.name) ?? {} }))),
    control?.waitUntilReady(),
    ...(webhooks?.deliveries ?? []).map((d) => d.worker.waitUntilReady()),
  ]);
  // Accounts with work found at start are starting: their workers are ready before the start is said.
  await Promise.all(engine.running.map((w) => w.ready));
  // The pid is the process to signal (SIGHUP reloads): under npx, npm and a wrapper sit between the shell and it.
  options.logger.info({ accounts: accounts.length, pid: process.pid }, 'workers started');

  let running = { config, credentials };
  let closing: Promise<{ clean: boolean }> | undefined;
  let reloading: Promise<unknown> = Promise.resolve();
  const reload = async (next: Config): Promise<ReloadResult> => {
    if (closing) return refused(['the workers are stopping']);
    // The served accounts of the new config: with --account, the selected ones it still has.
    const served = Object.values(next.accounts).filter((a) => !options.accounts?.length || options.accounts.includes(a.name));
    const checked = credentialsOf(next, served, options.env);
    const diff = diffConfig(running.config, next, { accounts: options.accounts, credentials: { current: running.credentials, next: checked.credentials } });
    const problems = [...diff.needsRestart, ...checked.problems];
    if (problems.length > 0) return refused(problems);
    const { needsRestart: _, ...plan } = diff;
    engine.useConfig(next);
    producer.useConfig(next);
    const credentialsOfAccount = (n: string) => checked.credentials.get(n) ?? {};
    // Removed accounts drain (their waiting jobs stay queued); changed ones drain and start again if they have work.
    await Promise.all([
      ...plan.removed.map((n) => engine.removeAccount(n, next.worker.shutdownTimeoutMs)),
      ...plan.changed.map((n) => engine.updateAccount(accountOf(next, n), credentialsOfAccount(n))),
    ]);
    // A new limit is the operator's word: the account's adapted rate starts again from it (a rate a 429 left under
    // the old limit would hold a raised limit back until probing climbed to it), and the story of that rate goes.
    const keys = invitebusKeys(next.redis.prefix);
    const newLimit = plan.changed.filter((n) => !isDeepStrictEqual(running.config.accounts[n]?.rateLimit, next.accounts[n]?.rateLimit));
    if (newLimit.length > 0) {
      await redis
        .del(...newLimit.flatMap((n) => [keys.pacedRate(n), keys.pacedRateChange(n)]))
        .catch((err: unknown) => options.logger.warn({ err }, 'could not reset the adapted rate'));
    }
    await Promise.all(plan.added.map((n) => engine.addAccount(accountOf(next, n), credentialsOfAccount(n))));
    running = { config: next, credentials: checked.credentials };
    // Accounts with work start at once: ready before the reload says it applied.
    await Promise.all(engine.running.map((w) => w.ready));
    return { applied: true, ...plan, problems: [] };
  };
  return {
    get workers() {
      return engine.running;
    },
    engine,
    events,
    reload(next) {
      const result = reloading.then(() => reload(next));
      reloading = result.catch(() => undefined);
      return result;
    },
    close() {
      closing ??= (async () => {
        await reloading;
        const results = [await engine.close(running.config.worker.shutdownTimeoutMs)];
        await control?.close().catch(() => undefined);
        await webhooks?.close().catch(() => undefined);
        await producer.close();
        await eventsRedis.quit().catch(() => eventsRedis.disconnect());
        if (options.redis === undefined) await redis.quit().catch(() => redis.disconnect());
        return { clean: results.every(Boolean) };
      })();
      return closing;
    },
  };
}
