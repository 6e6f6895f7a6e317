import { randomUUID } from 'node:crypto';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type AccountConfig, accountOf, type Config } from './config/load.ts';
import { InvitebusError } from './errors.ts';
import { EventStream } from './events/stream.ts';
import { inviteJobId } from './policies/job-id.ts';
import { adapterOf } from './providers/index.ts';
import { connectProducerRedis, invitebusKeys, type OutageReporter } from './redis.ts';
import type { InviteFields, InviteJobData } from './types.ts';

/** One invite that failed validation: its position in the input, the field and why. */
export interface RejectedInvite {
  index: number;
  field: string;
  message: string;
}

/** One invite not queued as a duplicate: its position, that of the same address earlier in the input if so, its job id. */
export interface DuplicateInvite {
  index: number;
  /** Set when the same address came earlier in the same input; absent when the invite was already queued or sent. */
  ofIndex?: number;
  id: string;
}

export interface InviteManyResult {
  batchId: string;
  accepted: number;
  duplicates: number;
  rejected: RejectedInvite[];
  /** Each duplicate, when asked for with `reportDuplicates` (in no particular order). */
  duplicateRows?: DuplicateInvite[];
}

export interface InviteResultOne {
  id: string;
  duplicate: boolean;
}

/**
 * KEYS: batch hash, batch invite list, then one BullMQ job key per invite. ARGV: write ('1' to count into the
 * batch), ttl ms, now, then one "account/jobId" ref per invite. Returns the 1-based positions of the invites
 * whose job does not exist yet.
 */
const FRESH_SCRIPT = `
local fresh = {}
local refs = {}
for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    fresh[#fresh + 1] = i - 2
    refs[#refs + 1] = ARGV[i + 1]
  end
end
if ARGV[1] == '1' and #fresh > 0 then
  redis.call('HINCRBY', KEYS[1], 'total', #fresh)
  redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('RPUSH', KEYS[2], unpack(refs))
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return fresh`;

/** A valid invite on its way to Redis, with its job id and its position in the input. */
type ChunkEntry = { id: string; invite: InviteFields; index: number };

/** Name of the BullMQ job carrying an invite. */
export const INVITE_JOB = 'invite';

/** Largest number of jobs sent to Redis in one addBulk call. */
export const DEFAULT_CHUNK_SIZE = 1_000;

/** Validates one raw invite with the provider's schema. */
export function validateInvite(account: AccountConfig, raw: unknown): { ok: true; invite: InviteFields } | { ok: false; field: string; message: string } {
  const result = adapterOf(account.provider).inviteSchema.safeParse(raw);
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

  constructor(config: Config, options: { redis?: Redis; outage?: OutageReporter } = {}) {
    this.config = config;
    this.#redis = options.redis ?? connectProducerRedis(config.redis.url);
    this.#outage = options.outage;
    if (options.redis === undefined) {
      // Errors reach the caller through the failed command; without a listener ioredis would also print each.
      if (this.#outage) this.#outage.watch(this.#redis);
      else this.#redis.on('error', () => undefined);
    }
    if ((this.#redis as unknown as Record<string, unknown>).ibFresh === undefined) {
      this.#redis.defineCommand('ibFresh', { lua: FRESH_SCRIPT });
    }
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
    const checked = validateInvite(account, invite);
    if (!checked.ok) {
      throw new InvitebusError('INVITE_INVALID', `invalid invite for account '${accountName}': ${checked.field}: ${checked.message}`, {
        details: [`${checked.field}: ${checked.message}`],
      });
    }
    const id = inviteJobId(accountName, checked.invite.email);
    const result = await this.#addChunk(account, [{ id, invite: checked.invite, index: 0 }], options.batchId, false);
    if (options.batchId !== undefined) await this.events().sealBatch(options.batchId);
    return { id, duplicate: result.known.length > 0 };
  }

  /**
   * Enqueues many invites in chunks of `chunkSize` (one EXISTS pipeline and one addBulk per chunk, so no
   * single Redis call carries 100k jobs). Invalid invites are reported by index; the valid rest is queued.
   * Accepts any iterable, including an async one, so a caller can stream a file through it.
   */
  async inviteMany(
    accountName: string,
    invites: Iterable<unknown> | AsyncIterable<unknown>,
    options: {
      batchId?: string;
      chunkSize?: number;
      /** Validate and look up duplicates only; queue nothing. */
      dryRun?: boolean;
      /** List each duplicate in `duplicateRows`, not only count them. */
      reportDuplicates?: boolean;
      onProgress?: (progress: InviteManyResult & { seen: number }) => void;
    } = {},
  ): Promise<InviteManyResult> {
    const account = accountOf(this.config, accountName);
    const batchId = options.batchId ?? randomUUID();
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const duplicateRows: DuplicateInvite[] | undefined = options.reportDuplicates ? [] : undefined;
    const result: InviteManyResult = { batchId, accepted: 0, duplicates: 0, rejected: [], ...(duplicateRows ? { duplicateRows } : {}) };
    // Index of each id's first occurrence in the input, to name what a later occurrence duplicates.
    const seenIds = new Map<string, number>();
    let chunk: ChunkEntry[] = [];
    let index = 0;

    // Up to two chunks travel to Redis while the next is read and validated: I/O and CPU overlap.
    const inFlight: Promise<void>[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      const sending = chunk;
      chunk = [];
      if (inFlight.length >= 2) await inFlight.shift();
      inFlight.push(
        this.#addChunk(account, sending, batchId, options.dryRun ?? false).then((added) => {
          result.accepted += added.accepted;
          result.duplicates += added.known.length;
          for (const known of added.known) duplicateRows?.push({ index: known.index, id: known.id });
          options.onProgress?.({ ...result, seen: index });
        }),
      );
    };

    for await (const raw of invites) {
      const checked = validateInvite(account, raw);
      if (!checked.ok) {
        result.rejected.push({ index, field: checked.field, message: checked.message });
      } else {
        const id = inviteJobId(accountName, checked.invite.email);
        const first = seenIds.get(id);
        if (first !== undefined) {
          result.duplicates += 1; // the same person twice in one input
          duplicateRows?.push({ index, ofIndex: first, id });
        } else {
          seenIds.set(id, index);
          chunk.push({ id, invite: checked.invite, index });
          if (chunk.length >= chunkSize) await flush();
        }
      }
      index += 1;
    }
    await flush();
    await Promise.all(inFlight);
    // Sealed: every invite of the batch is enqueued, so its completion can be detected.
    if (!options.dryRun) await this.events().sealBatch(batchId);
    return result;
  }

  async #addChunk(account: AccountConfig, chunk: ChunkEntry[], batchId: string | undefined, dryRun: boolean) {
    const queue = this.queue(account.name);
    const keys = invitebusKeys(this.config.redis.prefix);
    const ttlMs = Math.max(this.config.retention.completedAgeSec, this.config.retention.failedAgeSec) * 1000;
    const now = Date.now();
    // One script per chunk: which ids BullMQ does not hold yet (addBulk would silently keep an existing job, so
    // we look first and report duplicates), and, for those, the batch's total and invite list, counted before
    // the jobs exist so no invite can finish before its batch knows its total.
    const freshIndexes = (await (this.#redis as unknown as Record<'ibFresh', (...args: (string | number)[]) => Promise<number[]>>).ibFresh(
      chunk.length + 2,
      keys.batch(batchId ?? ''),
      keys.batchJobs(batchId ?? ''),
      ...chunk.map(({ id }) => queue.toKey(id)),
      !dryRun && batchId !== undefined ? '1' : '0',
      String(ttlMs),
      String(now),
      ...chunk.map(({ id }) => `${account.name}/${id}`),
    )) as number[];
    const fresh = freshIndexes.map((i) => chunk[i - 1] as ChunkEntry);
    if (fresh.length > 0 && !dryRun) {
      await queue.addBulk(
        fresh.map(({ id, invite }) => {
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
    }
    const freshSet = new Set(fresh);
    return { accepted: fresh.length, known: chunk.filter((entry) => !freshSet.has(entry)) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    this.#queues.clear();
    if (this.#ownsRedis) await this.#redis.quit().catch(() => undefined);
  }
}
