import { DelayedError, type Job, type Queue, UnrecoverableError, Worker } from 'bullmq';
import { pauseAccount } from '../accounts.ts';
import type { AccountConfig } from '../config/load.ts';
import { RetryableError } from '../errors.ts';
import type { EventStream, InviteEvent, SentOptions } from '../events/stream.ts';
import { IDENTIFIER_RULE, isIdentifier } from '../identifiers.ts';
import { describeValue } from '../input/describe-value.ts';
import { type Person, personOfData } from '../invites/person.ts';
import { validateInvite } from '../invites/validate.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { rateLimitBackoff } from '../policies/backoff.ts';
import { capWait } from '../policies/rate-limit-headers.ts';
import type { CallHealth } from '../policies/retry-health.ts';
import type { ProviderSession } from '../providers/adapter.ts';
import { AccountHeld } from '../providers/http.ts';
import type { InviteFields, InviteJobData, InviteResult, Outcome, ReasonClass } from '../types.ts';
import type { AccountPacer } from './pacer.ts';

export interface ProcessorDeps {
  account: AccountConfig;
  session: ProviderSession<InviteFields>;
  queue: Queue;
  events: EventStream;
  logger: Logger;
  /** How long terminal markers live: the longer of the two retentions. */
  markerTtlMs: number;
  metrics?: Metrics;
  /** Adapts the account's rate (accounts with a configured rateLimit). */
  pacer?: AccountPacer;
  /**
   * Schedules a completion check of a batch that a writer (an enqueue or a replay) still held open when this
   * invite's result was counted: if that writer died, the batch still completes once its heartbeat expires.
   */
  checkBatchLater?: (batchId: string, liveForMs: number) => Promise<void>;
  /** The account's recent calls in this process: whether a transient failure is a glitch or an outage. */
  health?: CallHealth;
}

type InviteJob = Job<InviteJobData, InviteResult>;

/** What a job's data really holds: anything, since bull-board, an older version or a hand can write it. */
type UntrustedData = { account?: unknown; provider?: unknown; invite?: { email?: unknown }; batchId?: unknown; enqueuedAt?: unknown } | undefined;

/**
 * The fields an event needs, read defensively from data that may not have the expected shape. The person is
 * absent from jobs queued before invitebus kept it; one that does not hold is left out, never a failure.
 */
function eventFields(job: InviteJob): { email: string; person: Person; batchId: string | undefined; enqueuedAt: number } {
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : undefined) as UntrustedData;
  const email = data?.invite?.email;
  return {
    email: typeof email === 'string' ? email : '',
    person: personOfData(data) ?? {},
    batchId: typeof data?.batchId === 'string' ? data.batchId : undefined,
    enqueuedAt: typeof data?.enqueuedAt === 'number' && Number.isFinite(data.enqueuedAt) ? data.enqueuedAt : job.timestamp,
  };
}

/**
 * How a success of this job is kept: as a sent record (src/invites/sent-record.ts) when the job is removed as it
 * completes (`removeOnComplete: { count: 0, age }`, the producer's since invitebus keeps them compact; `age` is
 * the success retention), else undefined: a job queued by an earlier version stays a whole completed job.
 */
export function sentOptions(job: Pick<InviteJob, 'opts' | 'data'>): SentOptions | undefined {
  const keep = job.opts?.removeOnComplete;
  if (typeof keep !== 'object' || keep === null || keep.count !== 0 || !('age' in keep) || typeof keep.age !== 'number') return undefined;
  const data = (typeof job.data === 'object' && job.data !== null ? job.data : {}) as { scheduledFor?: unknown; timeZone?: unknown };
  return {
    ttlMs: keep.age * 1000,
    ...(typeof data.scheduledFor === 'number' ? { scheduledFor: data.scheduledFor } : {}),
    ...(typeof data.timeZone === 'string' ? { timeZone: data.timeZone } : {}),
  };
}

/**
 * Checks a job's data with the account's provider schema, as the producer did before queueing it: the worker
 * trusts nothing it reads from Redis. Returns the invite to send (normalised by the schema) or why not.
 */
export function checkJobData(account: AccountConfig, data: unknown): { ok: true; invite: InviteFields } | { ok: false; message: string } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: '(data): not an object' };
  const d = data as UntrustedData & object;
  if (d.account !== account.name) return { ok: false, message: `account: the job names account ${describeValue(d.account)}, not '${account.name}'` };
  if (d.provider !== undefined && d.provider !== account.provider)
    return { ok: false, message: `provider: the job names provider ${describeValue(d.provider)}, not '${account.provider}'` };
  if (typeof d.enqueuedAt !== 'number' || !Number.isFinite(d.enqueuedAt)) return { ok: false, message: 'enqueuedAt: not a time in ms' };
  if (d.batchId !== undefined && !isIdentifier(d.batchId)) return { ok: false, message: `batchId: ${IDENTIFIER_RULE}` };
  const checked = validateInvite(account, d.invite);
  if (!checked.ok) return { ok: false, message: `invite.${checked.field}: ${checked.message}` };
  return { ok: true, invite: checked.invite };
}

/**
 * The one place where an outcome becomes queue behaviour:
 * - invited / already_member: complete, with the outcome as return value;
 * - rejected: fail at once (UnrecoverableError), no retry;
 * - rate_limited: the whole account queue waits (BullMQ's global limiter), the job goes back to waiting
 *   without spending an attempt; bounded by `rateLimited.maxStarts`;
 * - retryable: throw, so BullMQ retries with our full-jitter backoff (or the provider's Retry-After);
 * - auth_failed / account_blocked: pause the account queue and put the job back, nothing fails.
 * Terminal outcomes write exactly one completion event.
 */
export function createProcessor(deps: ProcessorDeps) {
  const { account, session, queue, events, logger } = deps;
  const debug = logger.isLevelEnabled('debug');
  let consecutiveRateLimits = 0;
  let lastHoldUntil = 0;
  /**
   * The hold each rate-limited answer led to, by answer: the jobs of one call (Sutro: up to `addressesPerCall`)
   * share one outcome object, and one 429 is one backoff step and one hold whatever the number of jobs it carried.
   */
  const holdsByAnswer = new WeakMap<Outcome, Promise<number>>();

  function eventOf(job: InviteJob, type: InviteEvent['type'], outcome: Outcome, reasonClass?: ReasonClass, attempts = job.attemptsMade + 1): InviteEvent {
    // Undefined fields are left out when the event is written.
    const { email, person, batchId, enqueuedAt } = eventFields(job);
    return {
      type,
      inviteId: job.id as string,
      account: account.name,
      provider: account.provider,
      email,
      externalId: person.externalId,
      firstName: person.firstName,
      lastName: person.lastName,
      outcome: outcome.kind,
      reasonClass,
      message: outcome.message,
      status: outcome.status,
      requestId: outcome.requestId,
      providerId: outcome.providerId,
      attempts,
      batchId,
      enqueuedAt,
      finishedAt: Date.now(),
    };
  }

  /** Writes the terminal event (once) and counts it. */
  async function record(job: InviteJob, type: InviteEvent['type'], outcome: Outcome, reasonClass?: ReasonClass, attempts?: number): Promise<void> {
    const event = eventOf(job, type, outcome, reasonClass, attempts);
    const { written, writerLiveMs } = await events.recordTerminal(event, outcome, deps.markerTtlMs, sentOptions(job));
    if (writerLiveMs > 0 && event.batchId !== undefined) await deps.checkBatchLater?.(event.batchId, writerLiveMs);
    if (written && deps.metrics) {
      const labels = { account: account.name, provider: account.provider };
      deps.metrics.invites.inc({ ...labels, outcome: outcome.kind });
      deps.metrics.inviteLatency.observe(labels, (event.finishedAt - event.enqueuedAt) / 1000);
    }
  }

  async function fail(job: InviteJob, outcome: Outcome, reasonClass: ReasonClass, message: string): Promise<never> {
    await record(job, 'invite.failed', outcome, reasonClass);
    throw new UnrecoverableError(`${reasonClass}: ${message}`);
  }

  /** Finishes a job whose terminal event a previous (crashed) run already wrote, without calling again. */
  async function replayRecorded(recorded: Outcome): Promise<InviteResult> {
    if (recorded.kind === 'invited' || recorded.kind === 'already_member') return { outcome: recorded, finishedAt: Date.now() };
    throw new UnrecoverableError(`${recorded.kind}: ${recorded.message ?? 'recorded before a crash'}`);
  }

  /**
   * Holds the whole account queue (every worker process) for `requestedMs`, capped by config, and says so
   * on the event stream: the provider asked for it (429) or its window is spent (remaining 0).
   */
  async function holdAccount(requestedMs: number, reason: 'rate_limited' | 'window_spent', log: Logger, message?: string, pacedRate?: number): Promise<number> {
    const { waitMs, capped } = capWait(requestedMs, account.rateLimited.maxWaitMs);
    const until = Date.now() + waitMs;
    // The jobs of one batched call (Sutro) all carry the same answer: one hold and one event for them.
    if (Math.abs(until - lastHoldUntil) < 100) return waitMs;
    lastHoldUntil = until;
    deps.metrics?.rateLimitWaits.inc({ account: account.name });
    if (capped) log.warn({ requestedMs, waitMs }, 'provider asked for a longer wait than rateLimited.maxWaitMs; capped');
    // BullMQ refuses a 0 ms limit; "Retry-After: 0" still means "not this instant".
    await queue.rateLimit(Math.max(1, waitMs));
    await events.publishAccount({
      type: 'account.rate_limited',
      account: account.name,
      provider: account.provider,
      reason,
      waitMs,
      until,
      ...(message === undefined ? {} : { message }),
      ...(pacedRate === undefined ? {} : { pacedRate }),
      at: Date.now(),
    });
    log.info({ waitMs, reason }, 'account waits');
    return waitMs;
  }

  /**
   * The terminal event of a job BullMQ failed on its own (stalled too often): it never reached the terminal path
   * below. Its attempts are those BullMQ counted; no attempt of ours was running.
   */
  function recordStalled(job: InviteJob, message: string): Promise<void> {
    return record(job, 'invite.failed', { kind: 'retryable', message }, 'stalled', job.attemptsMade);
  }

  async function process(job: InviteJob, token?: string): Promise<InviteResult> {
    // The job's child logger is made only when something is logged: most invites log nothing at info level.
    let child: Logger | undefined;
    const log = () => {
      child ??= logger.child({ jobId: job.id, attempt: job.attemptsMade + 1 });
      return child;
    };
    if (job.attemptsStarted > 1) {
      const recorded = await events.recordedOutcome({ account: account.name, inviteId: job.id as string, enqueuedAt: eventFields(job).enqueuedAt });
      if (recorded !== undefined) {
        log().info({ outcome: recorded.kind }, 'terminal outcome already recorded by an earlier run; not calling the provider again');
        return replayRecorded(recorded);
      }
    }

    // Nothing unvalidated reaches a provider: the data is checked before every call, not only at enqueue.
    const checked = checkJobData(account, job.data);
    if (!checked.ok) {
      const message = `invalid_job_data: ${checked.message}`;
      log().warn({ reason: message }, 'job data does not hold; failed without calling the provider');
      return fail(job, { kind: 'rejected', message }, 'rejected', message);
    }

    let outcome: Outcome;
    try {
      outcome = await session.deliver(checked.invite);
    } catch (err) {
      // Held (another call's 429 or a spent window) before anything was sent: back to waiting without spending an
      // attempt; BullMQ fetches nothing more until the hold ends.
      // The account gave its worker slot to another one until its next call is near (or its hold ends): the job
      // waits until the account runs again (a delayed job's marker wakes it), its worker closes meanwhile.
      if (err instanceof AccountHeld && err.backAt !== undefined && token !== undefined) {
        await job.moveToDelayed(err.backAt, token);
        throw new DelayedError();
      }
      if (err instanceof AccountHeld) throw Worker.RateLimitError();
      throw err;
    }
    if (outcome === undefined) throw new Error('adapter returned no outcome');
    if (debug) log().debug({ outcome: outcome.kind, status: outcome.status }, 'provider answered');
    if (outcome.kind === 'retryable') deps.health?.record(false);
    else if (outcome.kind === 'invited' || outcome.kind === 'already_member' || outcome.kind === 'rejected') deps.health?.record(true);
    if (outcome.pace !== undefined && outcome.kind !== 'rate_limited') {
      if (outcome.pace.remaining <= 0) await holdAccount(outcome.pace.resetMs, 'window_spent', log());
      else await deps.pacer?.pace(outcome.pace.remaining, outcome.pace.resetMs);
    }

    switch (outcome.kind) {
      case 'invited':
      case 'already_member': {
        consecutiveRateLimits = 0;
        deps.pacer?.success();
        await record(job, 'invite.succeeded', outcome);
        // Per-invite success is on the event stream; at info level 100k of these would flood the logs.
        if (debug) log().debug({ outcome: outcome.kind, status: outcome.status }, 'invite delivered');
        return { outcome, finishedAt: Date.now() };
      }
      case 'rejected': {
        log().warn({ status: outcome.status, reason: outcome.message }, 'invite rejected by provider');
        return fail(job, outcome, 'rejected', outcome.message);
      }
      case 'rate_limited': {
        if (job.attemptsStarted >= account.rateLimited.maxStarts) {
          return fail(job, outcome, 'rate_limited_exhausted', `still rate-limited after ${job.attemptsStarted} starts`);
        }
        // Each job still counts the start toward its own maxStarts (above); the account counts the call once.
        let hold = holdsByAnswer.get(outcome);
        if (hold === undefined) {
          hold = (async () => {
            consecutiveRateLimits += 1;
            const pacedRate = await deps.pacer?.rateLimited();
            const requested = outcome.waitMs ?? rateLimitBackoff(consecutiveRateLimits, account.rateLimited);
            return holdAccount(requested, 'rate_limited', log(), outcome.message, pacedRate);
          })();
          holdsByAnswer.set(outcome, hold);
        }
        // The call's other jobs go back to waiting only once the hold is set, so none is fetched again before it.
        await hold;
        throw Worker.RateLimitError();
      }
      case 'retryable': {
        const attempts = job.opts.attempts ?? 1;
        if (job.attemptsMade + 1 >= attempts) {
          return fail(job, outcome, 'retries_exhausted', `${outcome.message} (after ${attempts} attempts)`);
        }
        log().warn({ status: outcome.status, reason: outcome.message }, 'transient failure; will retry');
        throw new RetryableError(outcome.message, outcome.waitMs);
      }
      case 'auth_failed':
      case 'account_blocked': {
        const reason = outcome.kind === 'auth_failed' ? 'auth_failed' : outcome.reason;
        const paused = await pauseAccount(queue, events, { account: account.name, provider: account.provider, reason, message: outcome.message });
        if (paused) log().error({ reason, status: outcome.status, providerMessage: outcome.message }, 'account paused: resume it once fixed');
        // Back to waiting (the queue is paused, so nobody takes it) without spending an attempt.
        throw Worker.RateLimitError();
      }
    }
  }

  return { process, recordStalled };
}
