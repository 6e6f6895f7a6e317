import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { BULLMQ_STALLED } from '../batches.ts';
import { type AccountConfig, type Config, retentionMs } from '../config/load.ts';
import { RetryableError } from '../errors.ts';
import type { EventStream } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { fullJitterDelay } from '../policies/backoff.ts';
import { HOLDS_ONLY_LIMITER, ratePerSecond } from '../policies/limiter.ts';
import { capWait } from '../policies/rate-limit-headers.ts';
import { CallHealth, transientRetryDelay } from '../policies/retry-health.ts';
import type { ProviderSession } from '../providers/adapter.ts';
import { createHttpClient, type HttpClient } from '../providers/http.ts';
import { adapterOf } from '../providers/index.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import type { InviteFields } from '../types.ts';
import { createCallGate, gated } from './call-gate.ts';
import { AccountPacer } from './pacer.ts';
import { createProcessor } from './processor.ts';

/** Counts and times every provider call. */
function instrumented(http: HttpClient, metrics: Metrics, labels: { account: string; provider: string }): HttpClient {
  return {
    async send(request) {
      const stop = metrics.requestDuration.startTimer(labels);
      const result = await http.send(request);
      stop();
      metrics.providerRequests.inc({ ...labels, status: result.status === undefined ? result.code : String(result.status) });
      return result;
    },
    close: () => http.close(),
  };
}

export interface AccountWorker {
  account: AccountConfig;
  /** Joins or sets the account's shared rate before jobs are taken. */
  ready: Promise<void>;
  worker: Worker;
  queue: Queue;
  /** Stops taking jobs, waits for in-flight calls up to the deadline, then closes. True when it finished in time. */
  close(deadlineMs: number): Promise<boolean>;
}

/**
 * Checks the profiles' fields for this account against the live provider when the worker starts (Stellas role
 * names), so a misspelt role is reported at once, not as one failure per person at delivery. Logged, never
 * fatal: a role list that cannot be read now is checked again when invites need it.
 */
function verifyProfiles(config: Config, account: AccountConfig, session: ProviderSession<InviteFields>, logger: Logger): void {
  if (session.verifyFields === undefined) return;
  for (const [profile, byAccount] of Object.entries(config.profiles)) {
    const fields = Object.hasOwn(byAccount, account.name) ? byAccount[account.name] : undefined;
    if (fields === undefined) continue;
    session.verifyFields(fields).then(
      (problems) => {
        for (const problem of problems) logger.error({ profile }, `profile '${profile}' for account '${account.name}': ${problem}`);
      },
      (err: unknown) => logger.warn({ err, profile }, 'could not check the profile against the provider'),
    );
  }
}

/** Starts the BullMQ worker of one account: its queue, its limiter, its concurrency, its provider session. */
export function startAccountWorker(options: {
  config: Config;
  account: AccountConfig;
  credentials: Record<string, string>;
  connection: Redis;
  events: EventStream;
  logger: Logger;
  metrics?: Metrics;
  /** Logs a Redis outage once instead of once per connection and retry. */
  outage?: OutageReporter;
  /** See ProcessorDeps.checkBatchLater. */
  checkBatchLater?: (batchId: string, liveForMs: number) => Promise<void>;
}): AccountWorker {
  const { config, account, events } = options;
  const logger = options.logger.child({ account: account.name, provider: account.provider });
  const adapter = adapterOf(account.provider);
  const tls = adapter.tls?.(options.credentials);
  const rawHttp = createHttpClient({ timeoutMs: account.timeoutMs, ...(tls === undefined ? {} : { tls }) });
  const measured = options.metrics === undefined ? rawHttp : instrumented(rawHttp, options.metrics, { account: account.name, provider: account.provider });
  // A provider that takes several invites per call needs that many jobs in flight to fill a call.
  const perCall = adapter.batching?.invitesPerCall(account.settings) ?? 1;
  const jobsInFlight = account.concurrency * perCall;
  const queue = new Queue(account.name, { connection: options.connection, prefix: config.redis.prefix });
  // Provider calls are paced by the account's call gate (src/worker/call-gate.ts), shared through Redis. One invite
  // per call: every request waits for a slot (sign-ins and lookups count too). Several per call (Sutro): the
  // session takes the slot itself, so invites keep joining the call while it waits.
  const countsCalls = perCall > 1;
  const lateness = options.metrics?.callSlotLateness.labels({ account: account.name });
  const gate = (onHold: 'wait' | 'throw') =>
    createCallGate({
      redis: options.connection,
      queue,
      prefix: config.redis.prefix,
      rateLimit: account.rateLimit,
      onHold,
      ...(lateness ? { onLate: (ms: number) => lateness.observe(ms / 1000) } : {}),
    });
  const callSlot = countsCalls ? gate('wait') : undefined;
  const http = account.rateLimit === undefined || countsCalls ? measured : gated(measured, gate('throw'));
  const session = adapter.createSession({
    name: account.name,
    baseUrl: account.baseUrl,
    settings: account.settings,
    credentials: options.credentials,
    http,
    ...(callSlot ? { callSlot } : {}),
  });
  verifyProfiles(config, account, session, logger);
  const markerTtlMs = retentionMs(config);
  const pacer =
    account.rateLimit === undefined || countsCalls
      ? undefined
      : new AccountPacer(options.connection, invitebusKeys(config.redis.prefix).pacedRate(account.name), ratePerSecond(account.rateLimit), logger);
  const health = new CallHealth();
  const processor = createProcessor({
    health,
    account,
    session,
    queue,
    events,
    logger,
    markerTtlMs,
    ...(options.checkBatchLater ? { checkBatchLater: options.checkBatchLater } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(pacer ? { pacer } : {}),
  });

  const worker = new Worker(account.name, processor.process, {
    connection: options.connection,
    prefix: config.redis.prefix,
    concurrency: jobsInFlight,
    // Started once the account's rate limit is in place (below).
    autorun: false,
    // Jobs are fetched as fast as slots free up; the call gate paces the calls. BullMQ's limiter never binds but
    // exists, so a queue-wide hold (a 429) stops fetching.
    limiter: { ...HOLDS_ONLY_LIMITER },
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
    settings: {
      backoffStrategy: (attemptsMade, _type, err) => {
        if (err instanceof RetryableError && err.waitMs !== undefined) return capWait(err.waitMs, account.rateLimited.maxWaitMs).waitMs;
        // A glitch on a healthy account is retried within seconds; during an outage the long schedule applies.
        return account.retry.healthAware ? transientRetryDelay(attemptsMade, health.recent(), account.retry) : fullJitterDelay(attemptsMade, account.retry);
      },
    },
  });

  worker.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'worker error'));
  queue.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'queue error'));
  // Jobs BullMQ fails on its own (stalled too often) never reach our processor's terminal path.
  worker.on('failed', (job, err) => {
    if (job === undefined || !BULLMQ_STALLED.test(err.message)) return;
    processor.recordStalled(job, err.message).catch((e: unknown) => logger.error({ err: e, jobId: job.id }, 'could not record stalled failure'));
  });

  // Before any job runs: an adaptive account joins its shared rate; no BullMQ global rate limit is left over from
  // an earlier version (it would pace the account a second time).
  const ready = Promise.all([pacer?.start(), queue.removeGlobalRateLimit()]).then(() => {
    worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped with an error'));
  });
  return {
    account,
    ready,
    worker,
    queue,
    async close(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      });
      // close() stops fetching and waits for in-flight jobs, forever if a call hangs: bound it. A close that
      // fails counts as unfinished; whatever happens, the timer, the session's timers, the queue and the HTTP agents
      // are released.
      const closing = worker.close().then(
        () => true as const,
        (err: unknown) => {
          logger.warn({ err }, 'worker close failed');
          return false as const;
        },
      );
      try {
        const finished = await Promise.race([closing, timedOut]);
        if (!finished) {
          logger.warn(
            { deadlineMs },
            'in-flight calls did not finish before the shutdown deadline; their jobs stay active until their lock expires, then another worker retries them',
          );
          await worker.disconnect().catch(() => undefined);
        }
        return finished;
      } finally {
        clearTimeout(timer);
        session.close();
        await queue.close().catch(() => undefined);
        rawHttp.close();
      }
    },
  };
}
