import { randomUUID } from 'node:crypto';
import { type Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { type Scripts, scripts, WRITER_HEARTBEAT_MS } from './commands/index.ts';
import { correctionAction, moveFailure } from './commands/move-failure.ts';
import { type AccountConfig, accountOf, type Config, retentionMs } from './config/load.ts';
import { InvitebusError } from './errors.ts';
import { EventStream } from './events/stream.ts';
import { checkIdentifier } from './identifiers.ts';
import { safeParseInput } from './input/zod-messages.ts';
import { inviteJobId, normaliseEmail } from './policies/job-id.ts';
import { adapterOf } from './providers/index.ts';
import { connectProducerRedis, invitebusKeys, type OutageReporter } from './redis.ts';
import type { InviteFields, InviteJobData } from './types.ts';
import { checkBatchLater, controlQueue } from './worker/control.ts';

/** One invite that failed validation: its position in the input, the account it was for, the field and why. */
export interface RejectedInvite {
  index: number;
  /** Who the row was (address and name), when the caller said (onboardings). */
  who?: string;
  /** Set when the input spans accounts (an onboarding); a row can be valid for one tool and not another. */
  account?: string;
  field: string;
  message: string;
}

/** One invite not queued as a duplicate: its position, that of the same address earlier in the input if so, its job id. */
export interface DuplicateInvite {
  index: number;
  who?: string;
  account?: string;
  /** Set when the same address came earlier in the same input; absent when the invite was already queued or sent. */
  ofIndex?: number;
  id: string;
}

/** One invite of an enqueue that may span accounts: the account, its raw fields, its position in the input. */
export interface EnqueueItem {
  account: string;
  invite: unknown;
  /** The input row it came from; several items (one per account) may share a row. */
  index: number;
  /** Who the row is (address and name), copied into its rejection or duplicate. */
  who?: string;
}

/** Options of an enqueue (inviteMany, enqueue, onboard). */
export interface EnqueueOptions {
  batchId?: string;
  chunkSize?: number;
  /** Validate and look up duplicates only; queue nothing. */
  dryRun?: boolean;
  /** List each duplicate in `duplicateRows`, not only count them. */
  reportDuplicates?: boolean;
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
  rejected: RejectedInvite[];
  /** Each duplicate, when asked for with `reportDuplicates` (in no particular order). */
  duplicateRows?: DuplicateInvite[];
  /** Per account (an enqueue across accounts): invites accepted, duplicates and rejected. */
  byAccount?: Record<string, { accepted: number; duplicates: number; rejected: number }>;
}

export interface InviteResultOne {
  id: string;
  duplicate: boolean;
}

/** A valid invite on its way to Redis, with its job id and its position in the input. */
type ChunkEntry = { id: string; invite: InviteFields; index: number; who?: string };

/** The codes of src/commands/enroll-invites.lua. */
const ENROLL = { member: 0, enrolled: 1, otherBatch: 2, failed: 3, noJob: 4 } as const;

/** The fields of an invite as compared for corrections: keys sorted, the address normalised. */
export function inviteIdentity(invite: InviteFields): string {
  const sorted = Object.keys(invite)
    .sort()
    .map((k) => [k, k === 'email' ? normaliseEmail(invite.email) : invite[k]]);
  return JSON.stringify(sorted);
}

/**
 * Redis failed in the middle of `inviteMany`. `result` counts what was confirmed queued before that; the rest
 * is unknown. Running the same enqueue again is safe: nothing is counted or delivered twice.
 */
export class EnqueueInterruptedError extends InvitebusError {
  readonly result: InviteManyResult;
  /** Input items read before the failure. */
  readonly read: number;

  constructor(result: InviteManyResult, read: number, cause: unknown) {
    super(
      'ENQUEUE_INTERRUPTED',
      `Redis failed during the enqueue of batch ${result.batchId}: ${result.accepted} invites confirmed queued (${result.duplicates} duplicates, ${result.rejected.length} rejected) of ${read} read; the rest is unknown. Running the same enqueue again is safe: nothing is counted or sent twice`,
      { cause },
    );
    this.result = result;
    this.read = read;
  }
}

/** Name of the BullMQ job carrying an invite. */
export const INVITE_JOB = 'invite';

/** Largest number of jobs sent to Redis in one addBulk call. */
export const DEFAULT_CHUNK_SIZE = 1_000;

/** Validates one raw invite with the provider's schema. */
export function validateInvite(account: AccountConfig, raw: unknown): { ok: true; invite: InviteFields } | { ok: false; field: string; message: string } {
  const result = safeParseInput(adapterOf(account.provider).inviteSchema, raw);
  if (result.success) return { ok: true, invite: result.data };
  const [first, ...rest] = result.error.issues;
  const field = first?.path.map(String).join('.') || '(invite)';
  const more = rest.map((i) => `${i.path.map(String).join('.') || '(invite)'}: ${i.message}`);
  return { ok: false, field, message: [first?.message ?? 'invalid', ...more].join('; ') };
}

/** BullMQ options every invite job gets: its idempotent id, attempts, our backoff and retention. */
export function jobOptions(config: Config, account: AccountConfig, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: account.retry.attempts,
    backoff: { type: 'invitebus' },
    removeOnComplete: { age: config.retention.completedAgeSec },
    removeOnFail: { age: config.retention.failedAgeSec },
  };
}

/**
 * Puts invites on their accounts' queues. Everything is validated before it is queued; an invite already
 * known (same account and address, within retention) is reported as a duplicate and not queued again.
 */
export class Producer {
  readonly config: Config;
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #queues = new Map<string, Queue>();
  readonly #outage: OutageReporter | undefined;
  readonly #scripts: Scripts;
  #control: Queue | undefined;

  constructor(config: Config, options: { redis?: Redis; outage?: OutageReporter; redisOptions?: RedisOptions } = {}) {
    this.config = config;
    this.#redis = options.redis ?? connectProducerRedis(config.redis.url, options.redisOptions);
    this.#outage = options.outage;
    if (options.redis === undefined) {
      // Errors reach the caller through the failed command; without a listener ioredis would also print each.
      if (this.#outage) this.#outage.watch(this.#redis);
      else this.#redis.on('error', () => undefined);
    }
    this.#scripts = scripts(this.#redis);
    this.#ownsRedis = options.redis === undefined;
  }

  /** The producer's Redis connection (also used for reads: batches, stats). */
  get redis(): Redis {
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
      queue = new Queue(accountName, { connection: this.#redis, prefix: this.config.redis.prefix });
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
    const id = inviteJobId(accountName, checked.invite.email);
    const writer = options.batchId === undefined ? undefined : randomUUID();
    const result = await this.#addChunk(account, [{ id, invite: checked.invite, index: 0 }], options.batchId, writer, false);
    if (options.batchId !== undefined && writer !== undefined) await this.sealBatch(options.batchId, writer);
    return { id, duplicate: result.accepted === 0 };
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
   * tools). Each account's valid invites go in chunks of `chunkSize` (one EXISTS pipeline and one addBulk per
   * chunk); invalid ones are reported by index and account; the valid rest is queued. One writer holds the
   * batch open until every account's invites are in, so it completes once, when the last of them finishes.
   */
  async enqueue(items: Iterable<EnqueueItem> | AsyncIterable<EnqueueItem>, options: EnqueueOptions = {}): Promise<InviteManyResult> {
    const batchId = options.batchId === undefined ? randomUUID() : checkIdentifier('batch id', options.batchId);
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const duplicateRows: DuplicateInvite[] | undefined = options.reportDuplicates ? [] : undefined;
    const result: InviteManyResult = {
      batchId,
      accepted: 0,
      replaced: 0,
      duplicates: 0,
      rejected: [],
      ...(duplicateRows ? { duplicateRows } : {}),
    };
    const byAccount: NonNullable<InviteManyResult['byAccount']> = {};
    const tally = (account: string) => (byAccount[account] ??= { accepted: 0, duplicates: 0, rejected: 0 });
    result.byAccount = byAccount;
    // Index of each id's first occurrence in the input, to name what a later occurrence duplicates.
    const seenIds = new Map<string, number>();
    const chunks = new Map<string, ChunkEntry[]>();
    let seen = 0;

    // This enqueue is a writer of the batch until it seals: the batch cannot complete while one is running.
    const writer = randomUUID();
    // Up to two chunks travel to Redis while the next is read and validated: I/O and CPU overlap. Every chunk's
    // promise is handled at once (a failure is kept, never left unhandled), and a failure stops the reading.
    const inFlight: Promise<void>[] = [];
    let failure: unknown;
    const flush = async (accountName: string) => {
      const sending = chunks.get(accountName) ?? [];
      if (sending.length === 0) return;
      chunks.set(accountName, []);
      if (inFlight.length >= 2) await inFlight.shift();
      if (failure !== undefined) return;
      const account = accountOf(this.config, accountName);
      inFlight.push(
        this.#addChunk(account, sending, batchId, writer, options.dryRun ?? false).then(
          (added) => {
            const t = tally(accountName);
            result.accepted += added.accepted;
            t.accepted += added.accepted;
            result.replaced += added.replaced;
            result.duplicates += added.known.length;
            t.duplicates += added.known.length;
            for (const known of added.known)
              duplicateRows?.push({ index: known.index, account: accountName, id: known.id, ...(known.who ? { who: known.who } : {}) });
            for (const lost of added.lost) {
              t.rejected += 1;
              result.rejected.push({
                index: lost.index,
                account: accountName,
                field: '(invite)',
                message: 'its job vanished while it was queued; enqueue it again',
              });
            }
            options.onProgress?.({ ...result, seen });
          },
          (error: unknown) => {
            failure ??= error;
          },
        ),
      );
    };

    for await (const item of items) {
      if (failure !== undefined) break;
      seen = item.index + 1;
      const account = accountOf(this.config, item.account);
      const who = item.who === undefined ? {} : { who: item.who };
      const checked = validateInvite(account, item.invite);
      if (!checked.ok) {
        tally(account.name).rejected += 1;
        result.rejected.push({ index: item.index, account: account.name, ...who, field: checked.field, message: checked.message });
        continue;
      }
      const id = inviteJobId(account.name, checked.invite.email);
      const first = seenIds.get(id);
      if (first !== undefined) {
        result.duplicates += 1; // the same person twice in one input
        tally(account.name).duplicates += 1;
        duplicateRows?.push({ index: item.index, account: account.name, ofIndex: first, id, ...who });
        continue;
      }
      seenIds.set(id, item.index);
      const chunk = chunks.get(account.name) ?? [];
      chunks.set(account.name, chunk);
      chunk.push({ id, invite: checked.invite, index: item.index, ...who });
      if (chunk.length >= chunkSize) await flush(account.name);
    }
    if (failure === undefined) for (const account of [...chunks.keys()]) await flush(account);
    await Promise.all(inFlight);
    if (failure !== undefined) throw new EnqueueInterruptedError(result, seen, failure);
    // Sealed: every invite of this enqueue is in; the batch completes when its last invite finishes.
    if (!options.dryRun) {
      await options.beforeSeal?.(result);
      await this.sealBatch(batchId, writer);
    }
    return result;
  }

  /**
   * Queues one chunk (see src/commands/enroll-invites.lua): enrol the invites whose jobs exist for this
   * batch, addBulk the ones without a job, enrol those. An invite whose job exists for another batch (or
   * none) is a duplicate, unless that job failed and the new fields differ: then it is a correction and
   * replaces the failed job (#replaceFailed). Every step is idempotent, so a rerun after a failure counts
   * nothing twice.
   */
  async #addChunk(account: AccountConfig, chunk: ChunkEntry[], batchId: string | undefined, writer: string | undefined, dryRun: boolean) {
    const queue = this.queue(account.name);
    const keys = invitebusKeys(this.config.redis.prefix);
    const ttlMs = retentionMs(this.config);
    const now = Date.now();
    const batch = batchId ?? '';
    const enroll = async (entries: ChunkEntry[], mode: 'enroll' | 'check') =>
      (await this.#scripts.enrollInvites(
        7 + entries.length,
        keys.batch(batch),
        keys.batchMembers(batch),
        keys.batchResults(batch),
        keys.batchJobs(batch),
        keys.batchWriters(batch),
        queue.keys.failed as string,
        keys.batches,
        ...entries.map(({ id }) => queue.toKey(id)),
        batch,
        String(ttlMs),
        String(now),
        writer ?? '',
        String(WRITER_HEARTBEAT_MS),
        batchId === undefined || dryRun ? 'check' : mode,
        ...entries.map(({ id }) => `${account.name}/${id}`),
      )) as number[];

    const before = await enroll(chunk, 'enroll');
    const missing = chunk.filter((_, i) => before[i] === ENROLL.noJob);
    let accepted = chunk.filter((_, i) => before[i] === ENROLL.enrolled).length;
    const known = chunk.filter((_, i) => before[i] === ENROLL.member || before[i] === ENROLL.otherBatch);
    const replaced = new Set<ChunkEntry>();
    for (const entry of chunk.filter((_, i) => before[i] === ENROLL.failed)) {
      if (await this.#replaceFailed(queue, entry, batchId, dryRun)) {
        replaced.add(entry);
        missing.push(entry);
      } else known.push(entry);
    }
    const lost: ChunkEntry[] = [];
    if (dryRun) return { accepted: accepted + missing.length, replaced: replaced.size, known, lost };
    if (missing.length > 0) {
      await queue.addBulk(
        missing.map(({ id, invite }) => {
          const data: InviteJobData = {
            account: account.name,
            provider: account.provider,
            invite,
            enqueuedAt: now,
            ...(batchId === undefined ? {} : { batchId }),
          };
          return { name: INVITE_JOB, data, opts: jobOptions(this.config, account, id) };
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
          known.push(entry); // another producer created it first, for another batch (or this one)
        }
      });
    }
    return { accepted, replaced: replaced.size, known, lost };
  }

  /**
   * A correction: the invite's job failed and the new fields differ, so the failed job is removed for a new
   * one (fresh attempts, its own events). Identical fields stay a duplicate. The failure is claimed first, as
   * a replay claims it (src/commands/claim-replay.lua), so two corrections, or a correction and a replay, move
   * it once. In the same batch its recorded failure is forgotten (the batch counts the new run instead); in
   * another batch the old batch keeps it. Returns whether the caller should add the new job.
   */
  async #replaceFailed(queue: Queue, entry: ChunkEntry, batchId: string | undefined, dryRun: boolean): Promise<boolean> {
    const job = (await queue.getJob(entry.id)) as Job<InviteJobData> | undefined;
    if (job === undefined) return !dryRun; // removed meanwhile (retention): a plain new invite
    const old = job.data?.invite as InviteFields | undefined;
    if (old !== undefined && typeof old.email === 'string' && inviteIdentity(old) === inviteIdentity(entry.invite)) return false;
    if (dryRun) return true;
    const oldBatch = typeof job.data.batchId === 'string' ? job.data.batchId : '';
    const sameBatch = oldBatch !== '' && oldBatch === batchId;
    // One step (src/commands/move-failure.lua): the new fields, fresh attempts, and in the same batch the recorded
    // failure forgotten (the batch counts the new run instead); in another batch the old batch keeps it. Two
    // corrections, or a correction and a replay, move it once: the second finds it no longer failed.
    const moved = await moveFailure(this.#redis, this.config.redis.prefix, {
      queue,
      account: queue.name,
      jobId: entry.id,
      enqueuedAt: job.data.enqueuedAt,
      batchId: oldBatch,
      action: correctionAction(),
      data: {
        ...job.data,
        invite: entry.invite,
        enqueuedAt: Date.now(),
        ...(batchId === undefined ? {} : { batchId }),
      },
      ttlMs: retentionMs(this.config),
      mode: sameBatch ? 'forget' : 'keep',
    });
    return moved === 'moved';
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
