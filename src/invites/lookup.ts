import type { Job } from 'bullmq';
import { cancellationOf, cancelledLine, type ReportLine, reportLine, sentLine } from '../batches.ts';
import { isInviteId } from '../identifiers.ts';
import { inviteJobId } from '../policies/job-id.ts';
import type { Producer } from '../producer.ts';
import { invitebusKeys } from '../redis.ts';
import type { InviteJobData, InviteResult } from '../types.ts';
import { decodeSentRecord } from './sent-record.ts';

/** One invite as looked up: its report line and when it was queued and finished (ms). */
export type FoundInvite = ReportLine & { enqueuedAt?: number; finishedAt?: number };

/**
 * Reads the invites named by (account, job id) pairs: which exist (or succeeded and were kept as a sent record, or
 * were cancelled) is asked in one pipelined round trip, then only the jobs are read.
 */
async function read(producer: Producer, candidates: Array<[account: string, id: string]>): Promise<FoundInvite[]> {
  if (candidates.length === 0) return [];
  const keys = invitebusKeys(producer.config.redis.prefix);
  const pipeline = producer.redis.pipeline();
  for (const [account, id] of candidates) pipeline.exists(producer.queue(account).toKey(id)).get(keys.cancelled(account, id)).get(keys.sent(account, id));
  const replies = (await pipeline.exec()) ?? [];
  const found: FoundInvite[] = [];
  const events = producer.events();
  for (const [i, [account, id]] of candidates.entries()) {
    /** An invite without a job: sent (its sent record) or cancelled (its tombstone), else nothing. */
    const gone = async (): Promise<void> => {
      // Sent: its job was removed as it completed, its sent record says how and when.
      const sent = decodeSentRecord((replies[3 * i + 2]?.[1] as string | null) ?? (await producer.redis.get(keys.sent(account, id))));
      if (sent !== undefined) {
        found.push({ ...sentLine(`${account}/${id}`, sent), enqueuedAt: sent.enqueuedAt, finishedAt: sent.finishedAt });
        return;
      }
      // Cancelled (a withdrawn hire): its job is gone, its tombstone says when.
      const cancelled = cancellationOf(replies[3 * i + 1]?.[1] as string | null);
      if (cancelled !== undefined) found.push({ ...cancelledLine(`${account}/${id}`, cancelled), ...(cancelled.at ? { finishedAt: cancelled.at } : {}) });
    };
    if (replies[3 * i]?.[1] !== 1) {
      await gone();
      continue;
    }
    const job = (await producer.queue(account).getJob(id)) as Job<InviteJobData, InviteResult> | undefined;
    // Removed between the two reads: it completed just now (its sent record was written before) or was cancelled.
    if (job === undefined) {
      await gone();
      continue;
    }
    const line = await reportLine(job, `${account}/${id}`, events);
    found.push({ ...line, enqueuedAt: job.data.enqueuedAt, ...(job.finishedOn ? { finishedAt: job.finishedOn } : {}) });
  }
  return found;
}

/** The invite with this id, in whichever account holds it. */
export async function findInvite(producer: Producer, id: string): Promise<FoundInvite | undefined> {
  if (!isInviteId(id)) return undefined;
  const [found] = await read(
    producer,
    Object.keys(producer.config.accounts).map((account) => [account, id]),
  );
  return found;
}

/** Every invite of this person, one per account that has one (the id is derived from account and address). */
export function findInvitesByEmail(producer: Producer, email: string): Promise<FoundInvite[]> {
  return read(
    producer,
    Object.keys(producer.config.accounts).map((account) => [account, inviteJobId(account, email)]),
  );
}
