/** The wrapper of cancel-invite.lua: it owns the script's KEYS and ARGV order and its answers. */
import type { Queue } from 'bullmq';
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** The states a cancel removes an invite from (its `previous` state). */
export const CANCELLABLE_STATES = ['waiting', 'delayed', 'prioritized', 'failed'] as const;
export type CancellableState = (typeof CANCELLABLE_STATES)[number];

/** What cancel-invite found and did with one invite. */
export type CancelAnswer =
  | { result: 'cancelled'; previous: CancellableState; writerLiveMs: number }
  | { result: 'cancellable'; previous: CancellableState }
  | { result: 'active' }
  | { result: 'completed'; finishedAt?: number }
  | { result: 'gone'; tombstone?: string }
  | { result: 'changed' }
  | { result: 'other' };

export interface CancelInviteInput {
  prefix: string;
  /** The account's queue (its name is the account). */
  queue: Queue;
  jobId: string;
  /** The batch and enqueue time read in the job's data: the script acts only if they still hold. */
  batchId: string;
  enqueuedAt: number;
  /** 'check': only say what a cancel would do. */
  mode: 'cancel' | 'check';
  /** What the tombstone and the batch's results keep (kind 'cancelled', email, by), as JSON of an object. */
  recordedJson: string;
  /** How long the tombstone and the batch's keys live. */
  ttlMs: number;
  /** The event stream's MAXLEN. */
  maxLen: number;
  /** The event's fields, name and value in turn (the script adds `previous` and `at`). */
  eventFields: string[];
}

const asNumber = (v: unknown) => (v === '' || v === null || v === undefined ? undefined : Number(v));

export const cancelInvite = defineScript<CancelInviteInput, CancelAnswer>({
  file: 'cancel-invite',
  keys: 16,
  encode: (c) => {
    const k = invitebusKeys(c.prefix);
    const q = c.queue.keys;
    const account = c.queue.name;
    return {
      keys: [
        c.queue.toKey(c.jobId),
        q.repeat as string,
        q.active as string,
        q.delayed as string,
        q.prioritized as string,
        q.completed as string,
        q.failed as string,
        q.wait as string,
        q.paused as string,
        k.events,
        k.batch(c.batchId),
        k.batchMembers(c.batchId),
        k.batchResults(c.batchId),
        k.batchWriters(c.batchId),
        k.cancelled(account, c.jobId),
        k.batchScheduled(c.batchId),
      ],
      args: [
        c.jobId,
        c.queue.toKey(''),
        c.batchId,
        String(c.enqueuedAt),
        `${account}/${c.jobId}`,
        String(c.maxLen),
        String(c.ttlMs),
        c.mode,
        c.recordedJson,
        ...c.eventFields,
      ],
    };
  },
  decode: (reply) => {
    const [what, detail, live] = reply as [string, string, number];
    const previous = CANCELLABLE_STATES.find((s) => s === detail);
    switch (what) {
      case 'cancelled':
      case 'cancellable':
        if (previous === undefined) break;
        return what === 'cancelled' ? { result: what, previous, writerLiveMs: Number(live) } : { result: what, previous };
      case 'active':
      case 'changed':
      case 'other':
        return { result: what };
      case 'completed': {
        const finishedAt = asNumber(detail);
        return finishedAt === undefined ? { result: what } : { result: what, finishedAt };
      }
      case 'gone':
        return detail ? { result: what, tombstone: detail } : { result: what };
    }
    throw new Error(`cancel-invite answered ${String(what)} ${String(detail)}`);
  },
});
