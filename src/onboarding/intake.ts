/**
 * The intake log of a batch: the rows refused at intake and the duplicates, each with when, where in the input,
 * who and why, kept beside the batch (same retention) so a report tells the whole story of the file an HR
 * team sent, not only what was queued.
 */
import { retentionMs } from '../config/load.ts';
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
  field?: string;
  message: string;
}

/** Entries kept per batch: a file of garbage must not fill Redis. The count beyond is still reported. */
export const INTAKE_KEEP = 100_000;

/** Appends entries to a batch's intake log (pipelined in chunks; trimmed to the newest INTAKE_KEEP). */
export async function recordIntake(producer: Producer, batchId: string, entries: readonly IntakeEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const keys = invitebusKeys(producer.config.redis.prefix);
  const key = keys.batchIntake(batchId);
  // Counted on the batch too: status and batch.completed tell an HR system what never became an invite.
  const refused = entries.filter((e) => e.kind === 'refused').length;
  await producer.redis
    .multi()
    .hincrby(keys.batch(batchId), 'refused', refused)
    .hincrby(keys.batch(batchId), 'duplicates', entries.length - refused)
    .pexpire(keys.batch(batchId), retentionMs(producer.config))
    .exec();
  for (let i = 0; i < entries.length; i += 1000) {
    await producer.redis
      .multi()
      .rpush(key, ...entries.slice(i, i + 1000).map((e) => JSON.stringify(e)))
      .ltrim(key, -INTAKE_KEEP, -1)
      .pexpire(key, retentionMs(producer.config))
      .exec();
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
