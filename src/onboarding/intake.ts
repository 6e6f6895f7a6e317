/**
 * The intake log of a batch: the rows refused at intake and the duplicates, each with when, where in the input,
 * who and why, kept beside the batch (same retention) so a report tells the whole story of the file an HR
 * team sent, not only what was queued.
 */
import { retentionMs } from '../config/load.ts';
import type { Person } from '../invites/person.ts';
import type { Producer } from '../producer.ts';
import { invitebusKeys } from '../redis.ts';

/** One row (or one of its tools) that was not queued. */
export interface IntakeEntry {
  kind: 'refused' | 'duplicate';
  /** Epoch ms of the intake. */
  at: number;
  /** Where the row was: "line 12" (a file), "person 3" (an API body). */
  position: string;
  /** The file or interface it came in by. */
  source: string;
  /** The account it was refused for; absent when the whole row was refused. */
  account?: string;
  /** The person, as given: address and name. */
  who?: string;
  /** The row's person (externalId, names), when it had a valid one. */
  person?: Person;
  field?: string;
  message: string;
}

/** Entries kept per batch: a file of garbage must not fill Redis. The count beyond is still reported. */
export const INTAKE_KEEP = 100_000;

/** Entries appended to the intake log per round trip. */
const INTAKE_CHUNK = 1_000;

/**
 * Appends entries to a batch's intake log and counts them on the batch (pipelined in chunks of INTAKE_CHUNK,
 * each chunk's entries and counts in one MULTI; the log trimmed to the newest INTAKE_KEEP). `alreadyInBatch`:
 * rows of this run that named people already in the batch, counted beside them.
 */
export async function recordIntake(producer: Producer, batchId: string, entries: readonly IntakeEntry[], alreadyInBatch = 0): Promise<void> {
  if (entries.length === 0 && alreadyInBatch === 0) return;
  const keys = invitebusKeys(producer.config.redis.prefix);
  const key = keys.batchIntake(batchId);
  const ttl = retentionMs(producer.config);
  for (let i = 0; i === 0 || i < entries.length; i += INTAKE_CHUNK) {
    const slice = entries.slice(i, i + INTAKE_CHUNK);
    // Counted on the batch too: status and batch.completed tell an HR system what never became an invite.
    const refused = slice.filter((e) => e.kind === 'refused').length;
    const multi = producer.redis
      .multi()
      .hincrby(keys.batch(batchId), 'refused', refused)
      .hincrby(keys.batch(batchId), 'duplicates', slice.length - refused);
    if (i === 0 && alreadyInBatch > 0) multi.hincrby(keys.batch(batchId), 'alreadyInBatch', alreadyInBatch);
    multi.pexpire(keys.batch(batchId), ttl);
    if (slice.length > 0) {
      multi
        .rpush(key, ...slice.map((e) => JSON.stringify(e)))
        .ltrim(key, -INTAKE_KEEP, -1)
        .pexpire(key, ttl);
    }
    await multi.exec();
  }
}

/**
 * A batch's intake log as an enqueue writes it: entries are buffered and appended INTAKE_CHUNK at a time with
 * at most one append in flight, so an input with any number of bad rows is logged in constant memory. A failed
 * append is kept and thrown by `close` (before the batch is sealed): the rows go on being read meanwhile, and a
 * Redis that is really gone stops the enqueue's own chunks first.
 */
export class IntakeLog {
  readonly #producer: Producer;
  readonly #batchId: string;
  #buffer: IntakeEntry[] = [];
  #writing: Promise<void> = Promise.resolve();
  #failure: unknown;

  constructor(producer: Producer, batchId: string) {
    this.#producer = producer;
    this.#batchId = batchId;
  }

  /** Adds one entry; waits only while the previous append is still being written. */
  async add(entry: IntakeEntry): Promise<void> {
    this.#buffer.push(entry);
    if (this.#buffer.length >= INTAKE_CHUNK) await this.#append(0);
  }

  /** Writes what is buffered and the run's count of rows already in the batch; throws if any append failed. */
  async close(alreadyInBatch: number): Promise<void> {
    await this.#append(alreadyInBatch);
    await this.#writing;
    if (this.#failure !== undefined) throw this.#failure;
  }

  async #append(alreadyInBatch: number): Promise<void> {
    await this.#writing;
    const entries = this.#buffer;
    this.#buffer = [];
    if (this.#failure !== undefined) return;
    this.#writing = recordIntake(this.#producer, this.#batchId, entries, alreadyInBatch).catch((error: unknown) => {
      this.#failure ??= error;
    });
  }
}

/** A batch's intake log, oldest first, read page by page. */
export async function* readIntake(producer: Producer, batchId: string, pageSize = 1000): AsyncGenerator<IntakeEntry> {
  const key = invitebusKeys(producer.config.redis.prefix).batchIntake(batchId);
  for (let start = 0; ; start += pageSize) {
    const page = await producer.redis.lrange(key, start, start + pageSize - 1);
    for (const raw of page) yield JSON.parse(raw) as IntakeEntry;
    if (page.length < pageSize) return;
  }
}
