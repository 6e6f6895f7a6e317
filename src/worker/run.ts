import type { Redis } from 'ioredis';
import { resolveCredentials } from '../config/credentials.ts';
import { accountOf, type Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { EventStream } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { Producer } from '../producer.ts';
import { connectWorkerRedis, OutageReporter } from '../redis.ts';
import { startWebhooks, webhookSecrets } from '../webhooks/index.ts';
import { type AccountWorker, startAccountWorker } from './account-worker.ts';
import { startControlWorker } from './control.ts';

export interface RunningWorkers {
  workers: AccountWorker[];
  events: EventStream;
  /** Graceful stop: in-flight calls finish (up to the configured deadline), connections close. */
  close(): Promise<{ clean: boolean }>;
}

/** The selected accounts (all by default) and their credentials, read once; every missing one listed. */
export function checkWorkerCredentials(config: Config, names: readonly string[] | undefined, env: NodeJS.ProcessEnv) {
  const accounts = (names?.length ? names : Object.keys(config.accounts)).map((n) => accountOf(config, n));
  const problems: string[] = [];
  const credentials = new Map<string, Record<string, string>>();
  for (const account of accounts) {
    const resolved = resolveCredentials(account.name, account.credentials, env, config.baseDir);
    problems.push(...resolved.problems);
    credentials.set(account.name, resolved.values);
  }
  return { accounts, credentials, problems };
}

/**
 * Starts one BullMQ worker per selected account (all by default) in this process. Credentials are read
 * here, once; every missing one is reported at once.
 */
export async function runWorkers(
  config: Config,
  options: {
    accounts?: readonly string[];
    env: NodeJS.ProcessEnv;
    logger: Logger;
    redis?: Redis;
    metrics?: Metrics;
    /** Reports Redis outages once per process (shared with the API in `serve`). */
    outage?: OutageReporter;
    /** Run scheduled replays in this process too (default true). */
    control?: boolean;
    /** Deliver webhooks from this process too (default true, when the config has any). */
    webhooks?: boolean;
  },
): Promise<RunningWorkers> {
  const { accounts, credentials, problems } = checkWorkerCredentials(config, options.accounts, options.env);
  if (problems.length > 0) {
    throw new InvitebusError('CREDENTIAL_MISSING', `missing credentials:\n  ${problems.join('\n  ')}`, { details: problems });
  }
  // Checked before anything starts: a missing webhook secret is a start-up error like a missing credential.
  if (options.webhooks !== false) webhookSecrets(config, options.env);

  const redis = options.redis ?? connectWorkerRedis(config.redis.url);
  const outage = options.outage ?? new OutageReporter(config.redis.url, options.logger);
  outage.watch(redis);
  // Completion events have a connection of their own that sends the commands of one tick in one write: with
  // many calls in flight, several invites' events leave together (a socket write costs more than the command).
  const eventsRedis = redis.duplicate({ enableAutoPipelining: true });
  outage.watch(eventsRedis);
  const events = new EventStream(eventsRedis, config.redis.prefix, config.events.maxLen);
  const producer = new Producer(config, { redis });
  const workers = accounts.map((account) =>
    startAccountWorker({
      config,
      account,
      credentials: credentials.get(account.name) ?? {},
      connection: redis,
      events,
      logger: options.logger,
      outage,
      checkBatchLater: (batchId, liveForMs) => producer.checkBatchLater(batchId, liveForMs),
      ...(options.metrics ? { metrics: options.metrics } : {}),
    }),
  );
  const control = options.control === false ? undefined : startControlWorker(config, redis, producer, options.logger, outage);
  const webhooks = options.webhooks === false ? undefined : startWebhooks({ config, env: options.env, connection: redis, logger: options.logger, outage });
  await Promise.all([
    ...workers.map((w) => w.worker.waitUntilReady()),
    ...workers.map((w) => w.ready),
    control?.waitUntilReady(),
    ...(webhooks?.deliveries ?? []).map((d) => d.worker.waitUntilReady()),
  ]);
  options.logger.info({ accounts: accounts.map((a) => a.name) }, 'workers started');

  let closing: Promise<{ clean: boolean }> | undefined;
  return {
    workers,
    events,
    close() {
      closing ??= (async () => {
        const results = await Promise.all(workers.map((w) => w.close(config.worker.shutdownTimeoutMs)));
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
