import { type BackendFactory, Queue, type RedisQueueBackend, Worker, type WorkerOptions } from 'bullmq';
import { BULLMQ_STALLED } from '../batches.ts';
import { queueOptions } from '../bullmq-options.ts';
import { type AccountConfig, type Config, retentionMs } from '../config/load.ts';
import { RetryableError } from '../errors.ts';
import type { EventStream } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { marginOf } from '../policies/adaptive-rate.ts';
import { fullJitterDelay } from '../policies/backoff.ts';
import { HOLDS_ONLY_LIMITER, ratePerSecond } from '../policies/limiter.ts';
import { capWait } from '../policies/rate-limit-headers.ts';
import { CallHealth, transientRetryDelay } from '../policies/retry-health.ts';
import type { ProviderSession } from '../providers/adapter.ts';
import { createHttpClient, type HttpClient } from '../providers/http.ts';
import { adapterOf } from '../providers/index.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { boundBlocking, workerLivenessOptions } from '../redis-connection/liveness.ts';
import type { InviteFields } from '../types.ts';
import { createCallGate, gated, type SlotYield, slotThenSend } from './call-gate.ts';
import type { HttpPool } from './http-pool.ts';
import { AccountPacer } from './pacer.ts';
import { createProcessor } from './processor.ts';

/** Counts and times every provider call. */
function instrumented(http: HttpClient, metrics: Metrics, labels: { account: string; provider: string }): HttpClient {
  return {
    async send(request, hooks) {
      const stop = metrics.requestDuration.startTimer(labels);
      const result = await http.send(request, hooks);
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
  /** Jobs this worker is running now. */
  inFlight(): number;
  /** Stops taking jobs, waits for in-flight calls up to the deadline, then closes. True when it finished in time. */
  close(deadlineMs: number): Promise<boolean>;
}

/**
 * How the account's BullMQ worker reaches Redis when it shares the process's connections (src/worker/account-engine.ts):
 * BullMQ's backend on the shared connection, its blocking wait answered by the shared marker watch.
 */
export interface SharedBackend {
  backendFactory: BackendFactory<RedisQueueBackend>;
  /** An idle wait lasts this long (s); then the account's worker is released. */
  drainDelayS: number;
  /** The process's HTTP clients (no agents per account). */
  http?: HttpPool;
  /** Gives the account's worker slot back while other accounts wait for one (a hold, a far call slot). */
  yieldSlot?: SlotYield;
  /** The account's calls' average duration (ms), kept across its worker's starts: `observe` adds one and returns the average. */
  callMs?: { average(): number | undefined; observe(ms: number): number };
  /** The account's first start in this process: its queue's meta is written and a leftover global rate limit removed. */
  firstStart?: boolean;
}

/** A paced account's calls are assumed to take this long (ms) until one was timed (then sized again from the measure). */
const DEFAULT_CALL_MS = 200;

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
      (err: unknown) =>
        logger.warn(
          { err, profile },
          `profile '${profile}' for account '${account.name}' could not be checked against the provider now; invites check it when they need it`,
        ),
    );
  }
}

/** Starts the BullMQ worker of one account: its queue, its limiter, its concurrency, its provider session. */
export function startAccountWorker(options: {
  config: Config;
  account: AccountConfig;
  credentials: Record<string, string>;
  connection: RedisClient;
  events: EventStream;
  logger: Logger;
  metrics?: Metrics;
  /** Logs a Redis outage once instead of once per connection and retry. */
  outage?: OutageReporter;
  /** See ProcessorDeps.checkBatchLater. */
  checkBatchLater?: (batchId: string, liveForMs: number) => Promise<void>;
  /** Shared connections and wait; without it the worker has BullMQ's own blocking connection. */
  shared?: SharedBackend;
}): AccountWorker {
  const { config, account, events } = options;
  const logger = options.logger.child({ account: account.name, provider: account.provider });
  const adapter = adapterOf(account.provider);
  const tls = adapter.tls?.(options.credentials);
  const httpOptions = { timeoutMs: account.timeoutMs, ...(tls === undefined ? {} : { tls }) };
  const rawHttp = options.shared?.http?.clientFor(httpOptions) ?? createHttpClient(httpOptions);
  const instrumentedHttp =
    options.metrics === undefined ? rawHttp : instrumented(rawHttp, options.metrics, { account: account.name, provider: account.provider });
  // Calls' duration, averaged, sizes a paced account's jobs at once (jobsAtOnce); kept by the engine across starts.
  let sized: Worker | undefined;
  /** When the account's last request was sent from this worker (ms since the epoch). */
  let lastSendAt = 0;
  const measured: HttpClient =
    options.shared?.callMs === undefined
      ? instrumentedHttp
      : {
          async send(request, hooks) {
            const started = performance.now();
            lastSendAt = Date.now();
            try {
              return await instrumentedHttp.send(request, hooks);
            } finally {
              const average = options.shared?.callMs?.observe(performance.now() - started);
              if (average !== undefined && sized !== undefined) {
                const wanted = jobsAtOnce(average);
                if (sized.concurrency !== wanted) sized.concurrency = wanted;
              }
            }
          },
          close: () => instrumentedHttp.close(),
        };
  // A provider that takes several invites per call needs that many jobs in flight to fill a call.
  const perCall = adapter.batching?.invitesPerCall(account.settings) ?? 1;
  const jobsInFlight = account.concurrency * perCall;
  // A paced account takes only the jobs its rate can start soon: its calls in flight plus those waiting for a near
  // slot. More would be fetched only to find their slot far and go back to delayed (and again at the next start).
  const yieldFarMs = options.shared?.yieldSlot?.farMs;
  const pacedRate = account.rateLimit !== undefined && perCall === 1 && yieldFarMs !== undefined ? ratePerSecond(account.rateLimit) : undefined;
  const jobsAtOnce = (callMs: number) =>
    pacedRate === undefined ? jobsInFlight : Math.min(jobsInFlight, Math.max(1, Math.ceil((pacedRate * (callMs + (yieldFarMs ?? 0))) / 1000)));
  // Many accounts share the connection: Redis's version was checked when it was first used, not once per account.
  // The queue's meta (version, events cap) is written at the account's first start in the process, not at every one.
  const firstStart = options.shared?.firstStart ?? true;
  const queue = new Queue(account.name, {
    connection: options.connection,
    ...queueOptions(config),
    ...(options.shared ? { skipVersionCheck: true } : {}),
    ...(firstStart ? {} : { skipMetasUpdate: true }),
  });
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
      ...(options.shared?.yieldSlot ? { yieldSlot: options.shared.yieldSlot } : {}),
    });
  const slotted = countsCalls ? slotThenSend(measured, gate('wait')) : undefined;
  const callSlot = slotted?.callSlot;
  const http = slotted?.http ?? (account.rateLimit === undefined ? measured : gated(measured, gate('throw')));
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

  let inFlight = 0;
  // An account slower than one call per farMs: once a call completes, its next slot is far, and the next job BullMQ
  // would fetch with the completion would only go back to delayed. Its worker is released first (a closing worker
  // completes without fetching), and the account comes back just before its next slot.
  const yieldSlot = options.shared?.yieldSlot;
  const intervalMs = pacedRate === undefined ? undefined : (1000 / pacedRate) * marginOf(account.rateLimit);
  const process: typeof processor.process = async (job, token) => {
    inFlight += 1;
    const startedAt = Date.now();
    try {
      const result = await processor.process(job, token);
      if (intervalMs !== undefined && yieldSlot?.onDone !== undefined && inFlight === 1 && lastSendAt >= startedAt && yieldSlot.mayYield()) {
        const nextInMs = lastSendAt + intervalMs - Date.now();
        if (nextInMs > yieldSlot.farMs) yieldSlot.onDone(nextInMs);
      }
      return result;
    } finally {
      inFlight -= 1;
    }
  };
  const workerOptions: WorkerOptions = {
    connection: options.connection,
    // A blocking wait answers within the socket timeout that finds a dead link. Shared: the wait is in memory
    // (the marker watch blocks for every account) and an idle one lasts until the account is released.
    ...(options.shared ? { drainDelay: options.shared.drainDelayS, skipVersionCheck: true } : workerLivenessOptions()),
    prefix: config.redis.prefix,
    concurrency: jobsAtOnce(options.shared?.callMs?.average() ?? DEFAULT_CALL_MS),
    // Started once the account's rate limit is in place (below).
    autorun: false,
    // Jobs are fetched as fast as slots free up; the call gate paces the calls. BullMQ's limiter never binds but
    // exists, so a queue-wide hold (a 429) stops fetching.
    limiter: { ...HOLDS_ONLY_LIMITER },
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => {
        if (err instanceof RetryableError && err.waitMs !== undefined) return capWait(err.waitMs, account.rateLimited.maxWaitMs).waitMs;
        // A glitch on a healthy account is retried within seconds; during an outage the long schedule applies.
        return account.retry.healthAware ? transientRetryDelay(attemptsMade, health.recent(), account.retry) : fullJitterDelay(attemptsMade, account.retry);
      },
    },
  };
  const worker = options.shared
    ? new Worker(account.name, process, workerOptions, options.shared.backendFactory)
    : boundBlocking(new Worker(account.name, process, workerOptions));
  sized = worker;

  // Each job's trouble after a lost connection is said once (BullMQ reports a failed completion, then the retry
  // path's own failure on the same job).
  const saidOf = new Set<string>();
  const sayOnce = (jobId: string) => {
    if (saidOf.has(jobId)) return false;
    if (saidOf.size >= 1_000) saidOf.clear();
    saidOf.add(jobId);
    return true;
  };
  worker.on('error', (err) => {
    if (options.outage?.error(err)) return;
    // A job whose lock expired while its connection was away: expected after an outage, and repaired (the stalled
    // check gives it to a worker again, whose run finds an outcome already recorded). Said without a stack.
    const lockLost = /^(could not renew lock for job|Missing lock for job) (\S+?)\.?( |$)/.exec(err.message);
    if (lockLost !== null) {
      const jobId = lockLost[2] as string;
      if (sayOnce(jobId)) logger.warn({ jobId }, `job ${jobId} lost its lock while Redis was away; the stalled check takes it back`);
      return;
    }
    // A completion that ran but whose answer was lost with its connection is sent again on the new one (ioredis
    // resends unanswered commands): the job, removed as it completed, is gone. Its sent record says it finished;
    // without one the job really is missing, an error.
    const missing = /^Missing key for job (\S+?)\. (\w+)$/.exec(err.message);
    if (missing === null) return logger.error({ err }, 'worker error');
    const jobId = missing[1] as string;
    events.sentRecord(account.name, jobId).then(
      (sent) => {
        if (sent === undefined) return logger.error({ err, jobId }, 'worker error');
        if (sayOnce(jobId)) {
          logger.warn(
            { jobId },
            `job ${jobId} had already finished when its ${missing[2]} reached Redis again (resent after a lost connection); nothing to do`,
          );
        }
      },
      () => logger.error({ err, jobId }, 'worker error'),
    );
  });
  queue.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'queue error'));
  // Jobs BullMQ fails on its own (stalled too often) never reach our processor's terminal path.
  worker.on('failed', (job, err) => {
    if (job === undefined || !BULLMQ_STALLED.test(err.message)) return;
    processor.recordStalled(job, err.message).catch((e: unknown) => logger.error({ err: e, jobId: job.id }, 'could not record stalled failure'));
  });

  // Before any job runs: an adaptive account joins its shared rate; no BullMQ global rate limit is left over from
  // an earlier version (it would pace the account a second time).
  const ready = Promise.all([pacer?.start(), firstStart ? queue.removeGlobalRateLimit() : undefined]).then(() => {
    worker.run().catch((err: unknown) => logger.error({ err }, 'worker stopped with an error'));
  });
  return {
    account,
    ready,
    worker,
    queue,
    inFlight: () => inFlight,
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
