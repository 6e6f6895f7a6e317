import type { Job } from 'bullmq';
import { reasonOf } from './batches.ts';
import type { Producer } from './producer.ts';
import type { InviteJobData, ReasonClass } from './types.ts';

/** Which failed invites to replay. Every field narrows; none means every failed invite. */
export interface ReplayFilter {
  accounts?: string[];
  batchId?: string;
  reason?: ReasonClass;
  /** Only invites that failed within this many ms. */
  sinceMs?: number;
}

export interface ReplayResult {
  matched: number;
  replayed: number;
  byAccount: Record<string, number>;
}

/** Parses "90s", "15m", "1h", "2d" (or plain ms) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a duration: use e.g. 90s, 15m, 1h, 2d`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Math.round(Number(m[1]) * unit);
}

function matches(job: Job<InviteJobData>, filter: ReplayFilter, now: number): boolean {
  if (filter.batchId !== undefined && job.data.batchId !== filter.batchId) return false;
  if (filter.sinceMs !== undefined && (job.finishedOn ?? 0) < now - filter.sinceMs) return false;
  if (filter.reason !== undefined && reasonOf(job.failedReason) !== filter.reason) return false;
  return true;
}

/**
 * Moves failed invites that match the filter back to waiting with fresh attempts. Only failed jobs are
 * looked at, so an invite that succeeded is never sent again; running it twice replays nothing new.
 * Each replayed invite's recorded outcome is forgotten first, so it gets a new completion event.
 */
export async function replayFailed(producer: Producer, filter: ReplayFilter, options: { dryRun?: boolean } = {}): Promise<ReplayResult> {
  const accounts = filter.accounts?.length ? filter.accounts : Object.keys(producer.config.accounts);
  const events = producer.events();
  const now = Date.now();
  const result: ReplayResult = { matched: 0, replayed: 0, byAccount: {} };
  for (const account of accounts) {
    const queue = producer.queue(account);
    // Collect first: retrying moves jobs out of the failed set while we page through it.
    const selected: Job<InviteJobData>[] = [];
    const total = await queue.getFailedCount();
    for (let start = 0; start < total; start += 500) {
      for (const job of (await queue.getFailed(start, start + 499)) as Job<InviteJobData>[]) {
        if (job && matches(job, filter, now)) selected.push(job);
      }
    }
    result.matched += selected.length;
    if (options.dryRun) {
      result.byAccount[account] = selected.length;
      continue;
    }
    let replayed = 0;
    for (const job of selected) {
      await events.unrecord({
        account,
        inviteId: job.id as string,
        enqueuedAt: job.data.enqueuedAt,
        ...(job.data.batchId ? { batchId: job.data.batchId } : {}),
      });
      try {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed += 1;
      } catch {
        // Not failed any more (another replay got there first): nothing to do.
      }
    }
    result.byAccount[account] = replayed;
    result.replayed += replayed;
  }
  return result;
}
