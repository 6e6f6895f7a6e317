/**
 * The operations core: one object per process that owns its Redis connection and does every operation invitebus
 * offers. The CLI, the HTTP API and the console are thin adapters around it (they parse, call and format); the
 * TypeScript library is this object. Built on the Producer (which only enqueues) and the batch, replay, lookup and
 * webhook modules; nothing here is specific to one surface.
 */
import type { Job } from 'bullmq';
import { pauseAccount, resumeAccount } from '../accounts.ts';
import { type BatchCheck, checkBatch } from '../batch-check.ts';
import { type BatchStatus, batchReport, batchStatus, type ReportLine } from '../batches.ts';
import { accountOf, type Config } from '../config/load.ts';
import type { EventStream } from '../events/stream.ts';
import { type CancelOptions, type CancelResult, cancelPerson } from '../invites/cancel.ts';
import { type FoundInvite, findInvite, findInvitesByEmail } from '../invites/lookup.ts';
import { type OnboardResult, type OnboardTargets, onboard } from '../onboarding/onboard.ts';
import { type PersonRow, peopleReport } from '../onboarding/people.ts';
import { type EnqueueOptions, type InviteManyResult, type InviteResultOne, Producer } from '../producer.ts';
import { invitebusKeys } from '../redis.ts';
import { connectRedis, type RedisClient } from '../redis-connection/factory.ts';
import { type ReplayResult, replayFailed } from '../replay.ts';
import { type AccountStats, accountStats, removedAccountStats } from '../stats.ts';
import type { InviteJobData, ReasonClass, ReplayFilter } from '../types.ts';
import { enableWebhook, replayWebhook, testWebhook, type WebhookStatus, webhookStatus } from '../webhooks/admin.ts';
import { controlQueue, replaySchedule, scheduleReplay, unscheduleReplay } from '../worker/control-queue.ts';

/** Who paused or resumed an account: told in its `account.paused` / `account.resumed` event. */
export type Operator = 'cli' | 'api' | 'console' | 'library';

/**
 * The one reading of a replay's filter, for every surface (CLI flags, API body, scheduled job data): each field
 * narrows; an absent or empty one does not.
 */
export function replayFilter(input: {
  accounts?: readonly string[] | undefined;
  batchId?: string | undefined;
  reason?: string | undefined;
  sinceMs?: number | undefined;
}): ReplayFilter {
  return {
    ...(input.accounts && input.accounts.length > 0 ? { accounts: [...input.accounts] } : {}),
    ...(input.batchId ? { batchId: input.batchId } : {}),
    ...(input.reason ? { reason: input.reason as ReasonClass } : {}),
    ...(input.sinceMs !== undefined ? { sinceMs: input.sinceMs } : {}),
  };
}

/** Options of `createInvitebus`. */
export interface InvitebusOptions {
  /** A connection to use (not closed by `close()`); default: one made from `config.redis`. */
  redis?: RedisClient;
}

/** One process's invitebus: every operation, over one Redis connection. */
export class Invitebus {
  /** The enqueue engine (queues and batch enrolment). */
  readonly producer: Producer;
  readonly #ownsRedis: boolean;

  constructor(config: Config, options: InvitebusOptions & { producer?: Producer } = {}) {
    this.#ownsRedis = options.redis === undefined && options.producer === undefined;
    this.producer = options.producer ?? new Producer(config, { redis: options.redis ?? connectRedis(config, 'producer') });
  }

  /** The core over a Producer someone else owns (its connection is closed by its owner). */
  static over(producer: Producer): Invitebus {
    return new Invitebus(producer.config, { producer });
  }

  /** The running configuration: the producer's, so a config reload in a `serve` process reaches every surface. */
  get config(): Config {
    return this.producer.config;
  }

  get redis(): RedisClient {
    return this.producer.redis;
  }

  /** The event stream (completion, batch and account events). */
  get events(): EventStream {
    return this.producer.events();
  }

  /** Queues invites into one account (validated by its provider's schema first; the valid rest is queued). */
  enqueue(account: string, invites: Iterable<unknown> | AsyncIterable<unknown>, options: EnqueueOptions = {}): Promise<InviteManyResult> {
    return this.producer.inviteMany(account, invites, options);
  }

  /** Queues one invite. */
  invite(account: string, invite: unknown, options: { batchId?: string } = {}): Promise<InviteResultOne> {
    return this.producer.invite(account, invite, options);
  }

  /** Onboards people into the tools of their profiles (or the given accounts), as one batch. */
  onboard(people: Iterable<unknown> | AsyncIterable<unknown>, targets: OnboardTargets, options: Parameters<typeof onboard>[3] = {}): Promise<OnboardResult> {
    return onboard(this.producer, people, targets, options);
  }

  readonly batches = {
    /** A batch's counters, or undefined when there is no such batch. */
    status: (batchId: string): Promise<BatchStatus | undefined> => batchStatus(this.redis, this.config.redis.prefix, batchId),
    /** One line per invite of the batch, then its rows refused at intake and its duplicates. */
    report: (batchId: string): AsyncGenerator<ReportLine> => batchReport(this.producer, batchId),
    /** One row per person, one column per account. */
    people: (batchId: string): Promise<{ accounts: string[]; people: PersonRow[] } | undefined> => peopleReport(this.producer, batchId),
    /** Counters recomputed from the jobs; with `repair`, drift repaired (idempotent). */
    check: (batchId: string, options: { repair?: boolean } = {}): Promise<BatchCheck> => checkBatch(this.producer, batchId, options),
    /** The newest batches' ids, newest first (the index keeps them for the retention). */
    recent: (count: number): Promise<string[]> => this.redis.zrevrange(invitebusKeys(this.config.redis.prefix).batches, 0, count - 1),
  };

  readonly accounts = {
    /**
     * Every configured account: job counts, paused (why, since when), rate-limit wait, limit and paced rate. With
     * `removed`, then the accounts no longer configured whose invites still wait in Redis (`removed: true`).
     */
    list: async (options: { removed?: boolean } = {}): Promise<AccountStats[]> => [
      ...(await accountStats(this.producer)),
      ...(options.removed ? await removedAccountStats(this.producer) : []),
    ],
    /** An account's failed invites, newest first. */
    failed: (name: string, count: number): Promise<Job<InviteJobData>[]> => this.producer.queue(accountOf(this.config, name).name).getFailed(0, count - 1),
    /** Pauses an account in every process; false if it already was. */
    pause: (name: string): Promise<boolean> => {
      const account = accountOf(this.config, name);
      return pauseAccount(this.producer.queue(name), this.events, { account: name, provider: account.provider, reason: 'operator' });
    },
    /** Resumes an account; false if it was not paused. */
    resume: (name: string, by?: Operator): Promise<boolean> => {
      const account = accountOf(this.config, name);
      return resumeAccount(this.producer.queue(name), this.events, { account: name, provider: account.provider, ...(by === undefined ? {} : { by }) });
    },
  };

  /** Moves matching failed invites back to waiting (each failure once, atomically; see src/replay.ts). */
  replay(filter: ReplayFilter, options: Parameters<typeof replayFailed>[2] = {}): Promise<ReplayResult> {
    return replayFailed(this.producer, filter, options);
  }

  readonly replays = {
    /** Replays matching failures every `everyMs`, run by whichever worker process takes the job. */
    schedule: (everyMs: number, filter: ReplayFilter) => this.#withControl((q) => scheduleReplay(q, everyMs, filter)),
    unschedule: () => this.#withControl((q) => unscheduleReplay(q)),
    scheduled: () => this.#withControl((q) => replaySchedule(q)),
  };

  /** Invites of a person (by address), across accounts. */
  find(email: string): Promise<FoundInvite[]> {
    return findInvitesByEmail(this.producer, email);
  }

  /**
   * Cancels a withdrawn hire's pending invites (every account, or one batch's): each removed atomically unless a
   * worker is sending it, counted `cancelled` in its batch, with an invite.cancelled event; what was already sent
   * is said per tool (src/invites/cancel.ts).
   */
  cancel(email: string, options: CancelOptions = {}): Promise<CancelResult> {
    return cancelPerson(this.producer, email, options);
  }

  /** One invite by its id. */
  findInvite(id: string): Promise<FoundInvite | undefined> {
    return findInvite(this.producer, id);
  }

  readonly webhooks = {
    list: (): Promise<WebhookStatus[]> => webhookStatus(this.producer),
    test: (name: string) => testWebhook(this.producer, name),
    replay: (name: string, sinceMs: number) => replayWebhook(this.producer, name, sinceMs),
    enable: (name: string) => enableWebhook(this.producer, name),
  };

  async #withControl<T>(fn: (queue: ReturnType<typeof controlQueue>) => Promise<T>): Promise<T> {
    const queue = controlQueue(this.config, this.redis);
    try {
      return await fn(queue);
    } finally {
      await queue.close();
    }
  }

  async close(): Promise<void> {
    const redis = this.redis;
    await this.producer.close();
    if (this.#ownsRedis) await redis.quit().catch(() => redis.disconnect());
  }
}

/** Builds the core once per process (graphile-worker's makeWorkerUtils). */
export async function createInvitebus(config: Config, options: InvitebusOptions = {}): Promise<Invitebus> {
  return new Invitebus(config, options);
}
