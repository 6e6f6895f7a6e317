import { randomUUID } from 'node:crypto';
import { type Job, type JobsOptions, Queue } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import pRetry from 'p-retry';
import { queueOptions } from './bullmq-options.ts';
import { type AccountConfig, accountOf, type Config, retentionMs } from './config/load.ts';
import { InvitebusError } from './errors.ts';
import { EventStream } from './events/stream.ts';
import { checkIdentifier } from './identifiers.ts';
import { type Person, personOf } from './invites/person.ts';
import { decodeSentRecord } from './invites/sent-record.ts';
import { validateInvite } from './invites/validate.ts';
import { inviteJobId, normaliseEmail } from './policies/job-id.ts';
import { invitebusKeys, type OutageReporter } from './redis.ts';
import { connectRedis, type RedisClient } from './redis-connection/factory.ts';
import { requireReplicated } from './redis-connection/wait-replicas.ts';
import { ENROLL } from './redis-scripts/enroll-invites.ts';
import { type Scripts, scripts, WRITER_HEARTBEAT_MS } from './redis-scripts/index.ts';
import { FIRST_OCCURRENCE } from './redis-scripts/mark-seen.ts';
import { correctionAction, moveFailure } from './redis-scripts/move-failure.ts';
import type { InviteFields, InviteJobData } from './types.ts';
import { checkBatchLater, controlQueue } from './worker/control-queue.ts';

/** One invite that failed validation: its position in the input, the account it was for, the field and why. */
export interface RejectedInvite {
  index: number;
  /** Who the row was (address and name), when the caller said (onboardings). */
  who?: string;
  /** The row's person (externalId, names), when it had a valid one: an HR system matches the refusal back by it. */
  person?: Person;
  /** Set when the input spans accounts (an onboarding); a row can be valid for one tool and not another. */
  account?: string;
  field: string;
  message: string;
}

/** One invite not queued as a duplicate: its position, that of the same address earlier in the input if so, its job id. */
export interface DuplicateInvite {
  index: number;
  who?: string;
  person?: Person;
  account?: string;
  /** Set when the same address came earlier in the same input; absent when the invite was already queued or sent. */
  ofIndex?: number;
  id: string;
}

/** Why an invite's new time was not applied, in a person's terms. */
export function notRescheduledText(n: NotRescheduled): string {
  const when = n.finishedOn === undefined ? '' : ` on ${new Date(n.finishedOn).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  if (n.state === 'completed') return `already sent${when}: not rescheduled`;
  if (n.state === 'active') return 'being sent now: not rescheduled';
  if (n.state === 'failed') return `failed${when}: not rescheduled (replay or correct it)`;
  if (n.state === 'removed') return 'removed meanwhile: not rescheduled';
  return `already due (its time has come, or it had none): it goes out now, not rescheduled`;
}

/** A row not queued, as an enqueue finds it: refused by validation, or a duplicate. */
export type NotQueued = ({ kind: 'rejected' } & RejectedInvite) | ({ kind: 'duplicate' } & DuplicateInvite);

/** One invite of an enqueue that may span accounts: the account, its raw fields, its position in the input. */
export interface EnqueueItem {
  account: string;
  invite: unknown;
  /** The input row it came from; several items (one per account) may share a row. */
  index: number;
  /** Who the row is (address and name), copied into its rejection or duplicate. */
  who?: string;
  /**
   * The row's person (externalId, names; src/invites/person.ts), already read and checked by the caller (an
   * onboarding reads it once per row, not once per tool). Without it, it is read from the invite's own fields.
   */
  person?: Person;
  /** When to send it (a start date's inviteAt): a delayed job until then; absent or past: now. */
  schedule?: InviteSchedule;
}

/** When an invite is sent: the instant, and the person's zone it is shown in. */
export interface InviteSchedule {
  /** Epoch ms. */
  at: number;
  /** IANA time zone. */
  timeZone: string;
}

/** An invite already in the batch whose new time could not be applied: it is due, being sent, sent or failed. */
export interface NotRescheduled {
  index: number;
  who?: string;
  account: string;
  id: string;
  /** Its BullMQ state (completed: sent). */
  state: string;
  /** When it finished (ms), if it did. */
  finishedOn?: number;
}

/** Options of an enqueue (inviteMany, enqueue, onboard). */
export interface EnqueueOptions {
  batchId?: string;
  chunkSize?: number;
  /** Validate and look up duplicates only; queue nothing. */
  dryRun?: boolean;
  /** List each duplicate in `duplicateRows`, not only count them. */
  reportDuplicates?: boolean;
  /**
   * Takes each row not queued (rejected, duplicate) as it is found, instead of `rejected` and `duplicateRows`
   * collecting them, so an input of any size is reported in constant memory. Awaited: it can hold the enqueue back.
   */
  onNotQueued?: (row: NotQueued) => void | Promise<void>;
  /** Stops the reading when aborted: chunks already sent finish, then EnqueueInterruptedError (stage 'stopped'). */
  signal?: AbortSignal;
  onProgress?: (progress: InviteManyResult & { seen: number }) => void;
  /** Runs after every invite is in and before the batch is sealed (so before it can complete). */
  beforeSeal?: (result: InviteManyResult) => Promise<void>;
}

export interface InviteManyResult {
  batchId: string;
  accepted: number;
  /** Of the accepted: corrections that replaced a failed invite of the same person (different fields). */
  replaced: number;
  duplicates: number;
  /**
   * Invites of people already in this very batch (a rerun, or another enqueue of the same batch at the same
   * time): neither queued again nor duplicates.
   */
  alreadyInBatch: number;
  /** Each refused invite (empty when `onNotQueued` takes them). */
  rejected: RejectedInvite[];
  /** Each duplicate, when asked for with `reportDuplicates` (in no particular order). */
  duplicateRows?: DuplicateInvite[];
  /** Of the invites already in this batch: those moved to a new time (a corrected start date). */
  rescheduled?: number;
  /** Invites already in this batch given a new time too late: already due, being sent, sent or failed. */
  notRescheduled?: NotRescheduled[];
  /** Per account (an enqueue across accounts): invites accepted, duplicates and rejected. */
  byAccount?: Record<string, { accepted: number; duplicates: number; rejected: number }>;
}

export interface InviteResultOne {
  id: string;
  duplicate: boolean;
}

/** A valid invite on its way to Redis, with its job id and its position in the input. */
type ChunkEntry = { id: string; invite: InviteFields; index: number; who?: string; person?: Person; schedule?: InviteSchedule };

/** Job data without its person: a correction's own person (or none) takes its place. */
function withoutPerson(data: InviteJobData): Omit<InviteJobData, 'person'> {
  const { person: _, ...rest } = data;
  return rest;
}

/** The fields of an invite as compared for corrections: keys sorted, the address normalised. */
export function inviteIdentity(invite: InviteFields): string {
  const sorted = Object.keys(invite)
    .sort()
    .map((k) => [k, k === 'email' ? normaliseEmail(invite.email) : invite[k]]);
  return JSON.stringify(sorted);
}

/**
 * Where an enqueue stopped short: Redis failed while queueing (`queue`: the rest is unknown), after every
 * invite was queued but while closing the batch (`seal`), or the caller stopped it (`stopped`, Ctrl-C).
 */
export type InterruptedStage = 'queue' | 'seal' | 'stopped';

/** What an enqueue's NOT_REPLICATED error says besides the replicas: what is queued, and that a rerun is safe. */
const ENQUEUE_RERUN = 'Running the same enqueue again is safe (nothing is counted or sent twice)';

/** The one line an interrupted enqueue says: what was confirmed, and that running it again is safe. */
function interruptedMessage(result: InviteManyResult, read: number, rejected: number, stage: InterruptedStage, cause: unknown): string {
  const b = result.batchId;
  const others = `${result.alreadyInBatch > 0 ? `${result.alreadyInBatch} already in this batch, ` : ''}${result.duplicates} duplicates, ${rejected} rejected`;
  if (stage === 'seal') {
    const why = (cause as { message?: unknown } | undefined)?.message;
    return `batch ${b}: all ${result.accepted + result.alreadyInBatch} queued (${result.accepted} new; ${others}), but Redis failed while closing the batch${typeof why === 'string' ? ` (${why})` : ''}; run the same command again to close the batch: nothing is counted or sent twice`;
  }
  const confirmed = `${result.accepted} invites confirmed queued (${others}) of ${read} read`;
  if (stage === 'stopped') {
    return `stopped: batch ${b}: ${confirmed}. Running the same command again is safe: it queues the rest, and nothing is counted or sent twice`;
  }
  return `Redis failed during the enqueue of batch ${b}: ${confirmed}; the rest is unknown. Running the same enqueue again is safe: nothing is counted or sent twice`;
}

/**
 * An enqueue stopped short (see InterruptedStage). `result` counts what was confirmed queued before that.
 * Running the same enqueue again is safe: nothing is counted or delivered twice.
 */
export class EnqueueInterruptedError extends InvitebusError {
  readonly result: InviteManyResult;
  /** Input rows read before it stopped. */
  readonly read: number;
  readonly stage: InterruptedStage;

  constructor(result: InviteManyResult, read: number, cause: unknown, stage: InterruptedStage = 'queue', rejected = result.rejected.length) {
    super('ENQUEUE_INTERRUPTED', interruptedMessage(result, read, rejected, stage, cause), { cause });
    this.result = result;
    this.read = read;
    this.stage = stage;
  }
}

/** How long a run's in-file duplicate check outlives its last chunk (src/redis-scripts/mark-seen.lua): a crashed run's is dropped then. */
const RUN_SEEN_TTL_MS = 60 * 60_000;

/** Name of the BullMQ job carrying an invite. */
export const INVITE_JOB = 'invite';

/** Largest number of jobs sent to Redis in one addBulk call. */
export const DEFAULT_CHUNK_SIZE = 1_000;

export { validateInvite };

/**
 * BullMQ options every invite job gets: its idempotent id, attempts, our backoff and retention; a scheduled one is
 * a delayed job whose time (its timestamp + delay) is exactly the scheduled instant. A job that succeeds is removed
 * as it completes (`count: 0`): its sent record (src/invites/sent-record.ts) is what is kept, for `age` (the success
 * retention, which the worker reads from here). A failed job stays whole for its retention: replays move it back.
 */
export function jobOptions(config: Config, account: AccountConfig, jobId: string, scheduledFor?: number, now = Date.now()): JobsOptions {
  return {
    jobId,
    ...(scheduledFor !== undefined && scheduledFor > now ? { timestamp: now, delay: scheduledFor - now } : {}),
    attempts: account.retry.attempts,
    backoff: { type: 'invitebus' },
    removeOnComplete: { age: config.retention.completedAgeSec, count: 0 },
    removeOnFail: { age: config.retention.failedAgeSec },
  };
}

/**
 * Puts invites on their accounts' queues. Everything is validated before it is queued; an invite already
 * known (same account and address, within retention) is reported as a duplicate and not queued again.
 */
export class Producer {
  #config: Config;
  readonly #redis: RedisClient;
  readonly #ownsRedis: boolean;
  readonly #queues = new Map<string, Queue>();
  readonly #outage: OutageReporter | undefined;
  readonly #scripts: Scripts;
  #control: Queue | undefined;
  /** Accounts this producer has recorded in the set of accounts with queued invites (once each). */
  readonly #recorded = new Set<string>();

  constructor(config: Config, options: { redis?: RedisClient; outage?: OutageReporter; redisOptions?: RedisOptions; env?: NodeJS.ProcessEnv } = {}) {
    this.#config = config;
    this.#redis =
      options.redis ??
      connectRedis(config, 'producer', {
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.redisOptions === undefined ? {} : { overrides: options.redisOptions }),
      });
    this.#outage = options.outage;
    if (options.redis === undefined) {
      // Errors reach the caller through the failed command; without a listener ioredis would also print each.
      if (this.#outage) this.#outage.watch(this.#redis);
      else this.#redis.on('error', () => undefined);
    }
    this.#scripts = scripts(this.#redis);
    this.#ownsRedis = options.redis === undefined;
  }

  /** The running configuration (replaced by a config reload). */
  get config(): Config {
    return this.#config;
  }

  /**
   * Takes over a reloaded config (src/reload.ts): accounts, profiles and intake apply to the next call. Only
   * for a config whose Redis settings are the running ones (a reload refuses any other).
   */
  useConfig(config: Config): void {
    this.#config = config;
  }

  /** The producer's Redis connection (also used for reads: batches, stats). */
  get redis(): RedisClient {
    return this.#redis;
  }

  /** The completion/account event stream, on the producer's connection. */
  events(): EventStream {
    return new EventStream(this.#redis, this.config.redis.prefix, this.config.events.maxLen);
  }

  /** The BullMQ queue of an account (one queue per account). */
  queue(accountName: string): Queue {
    accountOf(this.config, accountName);
    let queue = this.#queues.get(accountName);
    if (queue === undefined) {
      queue = new Queue(accountName, { connection: this.#redis, ...queueOptions(this.config) });
      // Same: a failed command rejects; BullMQ would otherwise print every connection error it re-emits.
      queue.on('error', (error) => this.#outage?.error(error));
      this.#queues.set(accountName, queue);
    }
    return queue;
  }

  /** Enqueues one invite. Throws INVITE_INVALID (with the field) when it does not validate. */
  async invite(accountName: string, invite: unknown, options: { batchId?: string } = {}): Promise<InviteResultOne> {
    // One invite with a batch id is a batch of one (sealed at once); without, no batch counters.
    const account = accountOf(this.config, accountName);
    if (options.batchId !== undefined) checkIdentifier('batch id', options.batchId);
    const checked = validateInvite(account, invite);
    if (!checked.ok) {
      throw new InvitebusError('INVITE_INVALID', `invalid invite for account '${accountName}': ${checked.field}: ${checked.message}`, {
        details: [`${checked.field}: ${checked.message}`],
      });
    }
    const read = personOf(invite);
    if (!read.ok) {
      throw new InvitebusError('INVITE_INVALID', `invalid invite for account '${accountName}': ${read.field}: ${read.message}`, {
        details: [`${read.field}: ${read.message}`],
      });
    }
    const id = inviteJobId(accountName, checked.invite.email);
    const writer = options.batchId === undefined ? undefined : randomUUID();
    const entry: ChunkEntry = { id, invite: checked.invite, index: 0, ...(read.person ? { person: read.person } : {}) };
    const result = await this.#addChunk(account, [entry], options.batchId, writer, false);
    if (options.batchId !== undefined && writer !== undefined) await this.sealBatch(options.batchId, writer);
    const duplicate = result.accepted === 0;
    await this.confirmReplicated({ done: `invite ${id}${duplicate ? ' (a duplicate)' : ''} is queued on the Redis primary`, rerun: ENQUEUE_RERUN });
    return { id, duplicate };
  }

  /**
   * Enqueues many invites in chunks of `chunkSize` (one EXISTS pipeline and one addBulk per chunk, so no
   * single Redis call carries 100k jobs). Invalid invites are reported by index; the valid rest is queued.
   * Accepts any iterable, including an async one, so a caller can stream a file through it.
   */
  async inviteMany(accountName: string, invites: Iterable<unknown> | AsyncIterable<unknown>, options: EnqueueOptions = {}): Promise<InviteManyResult> {
    accountOf(this.config, accountName);
    async function* items(): AsyncGenerator<EnqueueItem> {
      let index = 0;
      for await (const invite of invites) yield { account: accountName, invite, index: index++ };
    }
    const result = await this.enqueue(items(), options);
    // One account: its rejections and duplicates need not name it, nor the answer break down by account.
    for (const r of result.rejected) delete r.account;
    for (const d of result.duplicateRows ?? []) delete d.account;
    delete result.byAccount;
    return result;
  }

  /**
   * Enqueues invites that may span accounts, all in one batch (an onboarding: each person into each of their
   * tools). Each account's valid invites go in chunks of `chunkSize` (a duplicate check, an enrolment and one
   * addBulk per chunk); invalid ones are reported by index and account; the valid rest is queued.
   * One writer holds the batch open until every account's invites are in, so it completes once, when the last
   * of them finishes. Memory does not grow with the input: the in-file duplicate check lives in Redis for the
   * run (src/redis-scripts/mark-seen.lua), and with `onNotQueued` no row is kept.
   */
  async enqueue(items: Iterable<EnqueueItem> | AsyncIterable<EnqueueItem>, options: EnqueueOptions = {}): Promise<InviteManyResult> {
    const batchId = options.batchId === undefined ? randomUUID() : checkIdentifier('batch id', options.batchId);
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const sink = options.onNotQueued;
    const duplicateRows: DuplicateInvite[] | undefined = options.reportDuplicates && sink === undefined ? [] : undefined;
    const result: InviteManyResult = {
      batchId,
      accepted: 0,
      replaced: 0,
      duplicates: 0,
      alreadyInBatch: 0,
      rejected: [],
      ...(duplicateRows ? { duplicateRows } : {}),
    };
    const byAccount: NonNullable<InviteManyResult['byAccount']> = {};
    const tally = (account: string) => (byAccount[account] ??= { accepted: 0, duplicates: 0, rejected: 0 });
    result.byAccount = byAccount;
    let rejected = 0;
    const report = async (row: NotQueued) => {
      if (row.kind === 'rejected') rejected += 1;
      if (sink !== undefined) return sink(row);
      const { kind, ...rest } = row;
      if (kind === 'rejected') result.rejected.push(rest as RejectedInvite);
      else duplicateRows?.push(rest as DuplicateInvite);
    };
    const chunks = new Map<string, ChunkEntry[]>();
    // Input positions read (an input row may give several items, one per account, one after the other).
    let seen = 0;
    let lastIndex: number | undefined;

    // This enqueue is a writer of the batch until it seals: the batch cannot complete while one is running.
    const writer = randomUUID();
    const runKey = invitebusKeys(this.config.redis.prefix).runSeen(writer);
    // Up to two chunks' worth of invites (2 × chunkSize) travel to Redis while the next are read and validated: I/O
    // and CPU overlap. Counted in invites, not chunks: 10,000 accounts of 5 invites each are 10,000 small chunks,
    // which two at a time took 5 round trips each in turn (7.3 s for 50,000 invites; 24 s beside a busy worker).
    // Every chunk's promise is handled at once (a failure is kept, never left unhandled); a failure stops the reading.
    const inFlight: Array<{ done: Promise<void>; size: number }> = [];
    let inFlightSize = 0;
    let failure: unknown;
    const flush = async (accountName: string) => {
      const sending = chunks.get(accountName) ?? [];
      if (sending.length === 0) return;
      chunks.set(accountName, []);
      while (inFlight.length > 0 && inFlightSize + sending.length > 2 * chunkSize) {
        const oldest = inFlight.shift() as { done: Promise<void>; size: number };
        await oldest.done;
        inFlightSize -= oldest.size;
      }
      if (failure !== undefined) return;
      const account = accountOf(this.config, accountName);
      inFlightSize += sending.length;
      inFlight.push({
        size: sending.length,
        done: this.#addChunk(account, sending, batchId, writer, options.dryRun ?? false, runKey)
          .then(async (added) => {
            const t = tally(accountName);
            result.accepted += added.accepted;
            t.accepted += added.accepted;
            result.replaced += added.replaced;
            result.alreadyInBatch += added.inBatch;
            // Told only when there is something to tell: the answer keeps its shape for API clients otherwise.
            if (added.rescheduled > 0) result.rescheduled = (result.rescheduled ?? 0) + added.rescheduled;
            if (added.notRescheduled.length > 0) result.notRescheduled = [...(result.notRescheduled ?? []), ...added.notRescheduled];
            result.duplicates += added.known.length + added.inFile.length;
            t.duplicates += added.known.length + added.inFile.length;
            const who = (e: ChunkEntry) => ({ ...(e.who ? { who: e.who } : {}), ...(e.person ? { person: e.person } : {}) });
            for (const e of added.inFile) await report({ kind: 'duplicate', index: e.index, account: accountName, ofIndex: e.ofIndex, id: e.id, ...who(e) });
            for (const e of added.known) await report({ kind: 'duplicate', index: e.index, account: accountName, id: e.id, ...who(e) });
            for (const lost of added.lost) {
              t.rejected += 1;
              await report({
                kind: 'rejected',
                index: lost.index,
                account: accountName,
                field: '(invite)',
                message: 'its job vanished while it was queued; enqueue it again',
              });
            }
            options.onProgress?.({ ...result, seen });
          })
          .catch((error: unknown) => {
            failure ??= error;
          }),
      });
    };

    for await (const item of items) {
      if (failure !== undefined || options.signal?.aborted) break;
      if (item.index !== lastIndex) {
        seen += 1;
        lastIndex = item.index;
      }
      const account = accountOf(this.config, item.account);
      const who = { ...(item.who === undefined ? {} : { who: item.who }), ...(item.person === undefined ? {} : { person: item.person }) };
      const checked = validateInvite(account, item.invite);
      // The person is checked too: kept with the job, never sent unless the provider's invite fields take it.
      const read = item.person === undefined ? personOf(item.invite) : { ok: true as const, person: item.person };
      if (!checked.ok || !read.ok) {
        const refusal = checked.ok ? (read as { field: string; message: string }) : checked;
        tally(account.name).rejected += 1;
        await report({ kind: 'rejected', index: item.index, account: account.name, ...who, field: refusal.field, message: refusal.message });
        continue;
      }
      const person = read.person === undefined ? {} : { person: read.person };
      const chunk = chunks.get(account.name) ?? [];
      chunks.set(account.name, chunk);
      const schedule = item.schedule === undefined ? {} : { schedule: item.schedule };
      chunk.push({ id: inviteJobId(account.name, checked.invite.email), invite: checked.invite, index: item.index, ...who, ...person, ...schedule });
      if (chunk.length >= chunkSize) await flush(account.name);
    }
    const stopped = options.signal?.aborted === true;
    if (failure === undefined && !stopped) for (const account of [...chunks.keys()]) await flush(account);
    await Promise.all(inFlight.map((f) => f.done));
    // The run's duplicate check is of no further use; its TTL drops it if Redis cannot be told now.
    // Tried three times: a connection replaced under load (its socket timed out) fails the DEL once; a key left
    // behind lives its TTL (an hour) in Redis for nothing.
    const forget = () =>
      pRetry(() => this.#redis.del(runKey), { retries: 2, minTimeout: 200, factor: 1 }).then(
        () => undefined,
        () => undefined,
      );
    if (failure !== undefined || stopped) {
      void forget();
      throw new EnqueueInterruptedError(result, seen, failure ?? options.signal?.reason, failure === undefined ? 'stopped' : 'queue', rejected);
    }
    // Sealed: every invite of this enqueue is in; the batch completes when its last invite finishes. A failure
    // here leaves every invite queued and the batch open: the error says so, and a rerun closes it.
    if (!options.dryRun) {
      try {
        await options.beforeSeal?.(result);
        await this.sealBatch(batchId, writer);
      } catch (error) {
        void forget();
        throw new EnqueueInterruptedError(result, seen, error, 'seal', rejected);
      }
    }
    await forget();
    if (!options.dryRun) {
      const queued = result.accepted + result.alreadyInBatch;
      await this.confirmReplicated({
        done: `batch ${batchId}: ${queued} invite${queued === 1 ? '' : 's'} queued on the Redis primary (${result.accepted} new)`,
        rerun: ENQUEUE_RERUN,
      });
    }
    return result;
  }

  /**
   * With `redis.waitReplicas`: returns once that many replicas have every write this producer has made (src/redis-
   * connection/wait-replicas.ts), else throws NOT_REPLICATED with `what` (what is on the primary; that a rerun is
   * safe). Without it: returns at once. Called last by every operation that reports writes as done.
   */
  async confirmReplicated(what: { done: string; rerun: string }): Promise<void> {
    await requireReplicated(this.#redis, this.config.redis.prefix, this.config.redis.waitReplicas, what);
  }

  /**
   * Queues one chunk (see src/redis-scripts/enroll-invites.lua): drop the invites this run has already seen
   * (src/redis-scripts/mark-seen.lua), enrol the invites whose jobs exist for this batch,
   * addBulk the ones without a job, enrol those. An invite whose job exists for another batch (or none) is a
   * duplicate, one whose job is this batch's is already in it, unless that job failed and the new fields
   * differ: then it is a correction and replaces the failed job (#replaceFailed). Every step is idempotent,
   * so a rerun after a failure counts nothing twice.
   */
  async #addChunk(account: AccountConfig, chunk: ChunkEntry[], batchId: string | undefined, writer: string | undefined, dryRun: boolean, runKey?: string) {
    const queue = this.queue(account.name);
    const ttlMs = retentionMs(this.config);
    const now = Date.now();
    const batch = batchId ?? '';
    const enroll = async (entries: ChunkEntry[], mode: 'enroll' | 'check') =>
      this.#scripts.enrollInvites({
        prefix: this.config.redis.prefix,
        queue,
        account: account.name,
        batchId: batch,
        ttlMs,
        writerId: writer ?? '',
        heartbeatMs: WRITER_HEARTBEAT_MS,
        mode: batchId === undefined || dryRun ? 'check' : mode,
        jobIds: entries.map(({ id }) => id),
      });
    const markSeen = async () => (runKey === undefined ? undefined : await this.#scripts.markSeen({ runKey, ttlMs: RUN_SEEN_TTL_MS, entries: chunk }));

    // Second occurrences are dropped before anything is enrolled: enrolling one could make its first occurrence's
    // job (just added by a chunk still in flight) a member before that chunk's own enrolment counts it as added.
    const firsts = await markSeen();
    const inFile: Array<ChunkEntry & { ofIndex: number }> = [];
    const unseen: ChunkEntry[] = [];
    chunk.forEach((entry, i) => {
      const first = firsts?.[i] ?? FIRST_OCCURRENCE;
      if (first !== FIRST_OCCURRENCE) inFile.push({ ...entry, ofIndex: first });
      else unseen.push(entry);
    });
    const codes = unseen.length > 0 ? await enroll(unseen, 'enroll') : [];
    const fresh = unseen.map((entry, i) => ({ entry, code: codes[i] }));
    const missing = fresh.filter((f) => f.code === ENROLL.noJob).map((f) => f.entry);
    let accepted = fresh.filter((f) => f.code === ENROLL.enrolled).length;
    let inBatch = fresh.filter((f) => f.code === ENROLL.member).length;
    const known = fresh.filter((f) => f.code === ENROLL.otherBatch).map((f) => f.entry);
    const replaced = new Set<ChunkEntry>();
    for (const { entry } of fresh.filter((f) => f.code === ENROLL.failed)) {
      const verdict = await this.#replaceFailed(queue, entry, batchId, dryRun);
      if (verdict === 'replace') {
        replaced.add(entry);
        missing.push(entry);
      } else if (verdict === 'member') inBatch += 1;
      else known.push(entry);
    }
    const lost: ChunkEntry[] = [];
    const none = { rescheduled: 0, notRescheduled: [] as NotRescheduled[] };
    if (dryRun) return { accepted: accepted + missing.length, replaced: replaced.size, inBatch, known, inFile, lost, ...none };
    // People already in this batch may come with another time (a corrected start date): their jobs are moved.
    const members = fresh.filter((f) => f.code === ENROLL.member).map((f) => f.entry);
    const moved = batchId === undefined || members.length === 0 ? none : await this.#reschedule(queue, members, batchId);
    if (missing.length > 0) {
      if (!this.#recorded.has(account.name)) {
        // So that an account removed from the config while its invites wait is still found (`invitebus accounts`).
        await this.#redis.sadd(invitebusKeys(this.config.redis.prefix).accounts, account.name);
        this.#recorded.add(account.name);
      }
      await queue.addBulk(
        missing.map(({ id, invite, person, schedule }) => {
          const data: InviteJobData = {
            account: account.name,
            provider: account.provider,
            invite,
            ...(person === undefined ? {} : { person }),
            enqueuedAt: now,
            ...(batchId === undefined ? {} : { batchId }),
            ...(schedule === undefined ? {} : { scheduledFor: schedule.at, timeZone: schedule.timeZone }),
          };
          return { name: INVITE_JOB, data, opts: jobOptions(this.config, account, id, schedule?.at, now) };
        }),
      );
      const after = await enroll(missing, 'enroll');
      missing.forEach((entry, i) => {
        const code = after[i];
        // A correction in the same batch is a member already: it replaced its own failed job.
        const mine = code === ENROLL.enrolled || (code === ENROLL.member && replaced.has(entry)) || (batchId === undefined && code === ENROLL.otherBatch);
        if (mine) accepted += 1;
        else if (code === ENROLL.noJob) lost.push(entry);
        else {
          replaced.delete(entry);
          // Another enqueue created it first: of this batch (the same enqueue run twice at once), or of another.
          if (code === ENROLL.member) inBatch += 1;
          else known.push(entry);
        }
      });
      // The batch's scheduled invites, by time: status counts those still ahead without reading their jobs. A
      // crash before this is made good by a rerun (#reschedule adds the members it finds scheduled).
      const ahead = missing.filter((e, i) => e.schedule !== undefined && e.schedule.at > now && (after[i] === ENROLL.enrolled || replaced.has(e)));
      if (batchId !== undefined && ahead.length > 0) await this.#markScheduled(batchId, account.name, ahead);
    }
    return { accepted, replaced: replaced.size, inBatch, known, inFile, lost, ...moved };
  }

  /** Adds invites to their batch's schedule zset (ref → time). */
  async #markScheduled(batchId: string, account: string, entries: readonly ChunkEntry[]): Promise<void> {
    const key = invitebusKeys(this.config.redis.prefix).batchScheduled(batchId);
    const pairs = entries.flatMap((e) => [String(e.schedule?.at), `${account}/${e.id}`]);
    await this.#redis
      .multi()
      .zadd(key, ...pairs)
      .pexpire(key, retentionMs(this.config))
      .exec();
  }

  /**
   * Invites already in this batch, enqueued again: those whose time changed (another start date, or none now)
   * are moved by reschedule-invite.lua, which moves only a job still waiting for its time and never adds one.
   * One that is due, active, sent or failed stays as it is and is reported. The jobs' data is read in one
   * pipeline; an unchanged time costs nothing more.
   */
  async #reschedule(queue: Queue, entries: readonly ChunkEntry[], batchId: string): Promise<{ rescheduled: number; notRescheduled: NotRescheduled[] }> {
    let rescheduled = 0;
    const notRescheduled: NotRescheduled[] = [];
    // A rerun of a file without dates into a batch that never had a scheduled invite reads nothing more.
    const scheduledKey = invitebusKeys(this.config.redis.prefix).batchScheduled(batchId);
    if (!entries.some((e) => e.schedule !== undefined) && (await this.#redis.exists(scheduledKey)) === 0) return { rescheduled, notRescheduled };
    let pending = [...entries];
    // A job whose data changed between the read and the move is read again (a bounded number of times).
    for (let round = 0; round < 3 && pending.length > 0; round += 1) {
      const pipeline = this.#redis.pipeline();
      const sentKey = (id: string) => invitebusKeys(this.config.redis.prefix).sent(queue.name, id);
      for (const e of pending) pipeline.hget(queue.toKey(e.id), 'data').get(sentKey(e.id));
      const replies = (await pipeline.exec()) ?? [];
      const retry: ChunkEntry[] = [];
      const ahead: ChunkEntry[] = [];
      for (const [i, entry] of pending.entries()) {
        const raw = replies[2 * i]?.[1];
        if (typeof raw !== 'string') {
          // Sent, its job removed as it completed: a new time is too late, the same time is a rerun.
          const sent = decodeSentRecord(replies[2 * i + 1]?.[1] as string | null);
          const same = sent?.scheduledFor === entry.schedule?.at && (entry.schedule === undefined || sent?.timeZone === entry.schedule.timeZone);
          if (sent !== undefined && sent.batchId === batchId && !same) {
            notRescheduled.push({
              index: entry.index,
              ...(entry.who ? { who: entry.who } : {}),
              account: queue.name,
              id: entry.id,
              state: 'completed',
              finishedOn: sent.finishedAt,
            });
          }
          continue; // removed meanwhile (or sent): nothing to move
        }
        let data: InviteJobData;
        try {
          data = JSON.parse(raw) as InviteJobData;
        } catch {
          continue;
        }
        const at = entry.schedule?.at;
        const zone = entry.schedule?.timeZone;
        if (data.scheduledFor === at && (at === undefined || data.timeZone === zone)) {
          if (at !== undefined && at > Date.now()) ahead.push(entry); // a rerun: its place in the batch's schedule
          continue;
        }
        const { scheduledFor: _at, timeZone: _zone, ...rest } = data;
        const next: InviteJobData = { ...rest, ...(at === undefined ? {} : { scheduledFor: at, timeZone: zone as string }) };
        const verdict = await this.#scripts.rescheduleInvite({
          prefix: this.config.redis.prefix,
          queue,
          account: queue.name,
          jobId: entry.id,
          batchId,
          expectedData: raw,
          data: JSON.stringify(next),
          scheduledFor: at,
          now: Date.now(),
          ttlMs: retentionMs(this.config),
        });
        if (verdict === 'rescheduled') rescheduled += 1;
        else if (verdict === 'changed') retry.push(entry);
        else if (verdict === 'not_waiting') {
          const job = await queue.getJob(entry.id);
          const state = job === undefined ? 'removed' : await job.getState();
          notRescheduled.push({
            index: entry.index,
            ...(entry.who ? { who: entry.who } : {}),
            account: queue.name,
            id: entry.id,
            state,
            ...(job?.finishedOn ? { finishedOn: job.finishedOn } : {}),
          });
        }
      }
      if (ahead.length > 0) await this.#markScheduled(batchId, queue.name, ahead);
      pending = retry;
    }
    return { rescheduled, notRescheduled };
  }

  /**
   * A correction: the invite's job failed and the new fields differ, so the failed job is removed for a new
   * one (fresh attempts, its own events). Identical fields are no correction: the invite is already in this
   * batch ('member') or a duplicate. The failure is claimed first, as a replay claims it
   * (src/redis-scripts/claim-replay.lua), so two corrections, or a correction and a replay, move it once. In the same
   * batch its recorded failure is forgotten (the batch counts the new run instead); in another batch the old
   * batch keeps it. 'replace': the caller adds the new job.
   */
  async #replaceFailed(queue: Queue, entry: ChunkEntry, batchId: string | undefined, dryRun: boolean): Promise<'replace' | 'member' | 'duplicate'> {
    const job = (await queue.getJob(entry.id)) as Job<InviteJobData> | undefined;
    if (job === undefined) return dryRun ? 'duplicate' : 'replace'; // removed meanwhile (retention): a plain new invite
    const unchanged = (): 'member' | 'duplicate' => (batchId !== undefined && job.data?.batchId === batchId ? 'member' : 'duplicate');
    const old = job.data?.invite as InviteFields | undefined;
    if (old !== undefined && typeof old.email === 'string' && inviteIdentity(old) === inviteIdentity(entry.invite)) return unchanged();
    if (dryRun) return 'replace';
    const oldBatch = typeof job.data.batchId === 'string' ? job.data.batchId : '';
    const sameBatch = oldBatch !== '' && oldBatch === batchId;
    // One step (src/redis-scripts/move-failure.lua): the new fields, fresh attempts, and in the same batch the recorded
    // failure forgotten (the batch counts the new run instead); in another batch the old batch keeps it. Two
    // corrections, or a correction and a replay, move it once: the second finds it no longer failed.
    const moved = await moveFailure(this.#redis, this.config.redis.prefix, {
      queue,
      account: queue.name,
      jobId: entry.id,
      enqueuedAt: job.data.enqueuedAt,
      batchId: oldBatch,
      action: correctionAction(),
      // The correction's person replaces the failed one's, as its fields do (absent: none kept).
      data: {
        ...withoutPerson(job.data),
        invite: entry.invite,
        ...(entry.person === undefined ? {} : { person: entry.person }),
        enqueuedAt: Date.now(),
        ...(batchId === undefined ? {} : { batchId }),
      },
      ttlMs: retentionMs(this.config),
      mode: sameBatch ? 'forget' : 'keep',
    });
    return moved === 'moved' ? 'replace' : unchanged();
  }
  /**
   * Ends one enqueue of a batch (seals it: all its invites are in) and completes it if that was the last thing
   * missing. When another writer is still registered (running, or dead with a heartbeat not yet expired), a
   * delayed check on the control queue completes the batch once that heartbeat expires. Writer '' only checks.
   */
  async sealBatch(batchId: string, writer: string): Promise<void> {
    await this.#afterWriter(batchId, await this.events().sealBatch(batchId, writer, 'seal'));
  }

  /** Ends one replay or correction of a batch: like sealBatch, but it does not seal a batch still being enqueued. */
  async releaseBatch(batchId: string, writer: string): Promise<void> {
    await this.#afterWriter(batchId, await this.events().sealBatch(batchId, writer, 'release'));
  }

  async #afterWriter(batchId: string, liveForMs: number): Promise<void> {
    if (liveForMs > 0) await this.checkBatchLater(batchId, liveForMs);
  }

  /** Checks the batch's completion again once a writer live for `liveForMs` more (Redis time) has expired. */
  async checkBatchLater(batchId: string, liveForMs: number): Promise<void> {
    this.#control ??= controlQueue(this.config, this.#redis);
    await checkBatchLater(this.#control, batchId, liveForMs);
  }

  async close(): Promise<void> {
    await this.#control?.close();
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => undefined);
  }
}
