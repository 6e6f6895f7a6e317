import type { Job } from 'bullmq';
import { type ReportLine, reportLine } from '../batches.ts';
import { isInviteId } from '../identifiers.ts';
import { inviteJobId } from '../policies/job-id.ts';
import type { Producer } from '../producer.ts';
import type { InviteJobData, InviteResult } from '../types.ts';

/** One invite as looked up: its report line and when it was queued and finished (ms). */
export type FoundInvite = ReportLine & { enqueuedAt?: number; finishedAt?: number };

/**
 * Reads the invites named by (account, job id) pairs: which exist is asked in one pipelined round trip,
 * then only those are read.
 */
async function read(producer: Producer, candidates: Array<[account: string, id: string]>): Promise<FoundInvite[]> {
  if (candidates.length === 0) return [];
  const pipeline = producer.redis.pipeline();
  for (const [account, id] of candidates) pipeline.exists(producer.queue(account).toKey(id));
  const exists = (await pipeline.exec()) ?? [];
  const found: FoundInvite[] = [];
  const events = producer.events();
  for (const [i, [account, id]] of candidates.entries()) {
    if (exists[i]?.[1] !== 1) continue;
    const job = (await producer.queue(account).getJob(id)) as Job<InviteJobData, InviteResult> | undefined;
    if (job === undefined) continue;
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
