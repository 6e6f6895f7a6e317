/** The wrapper of reschedule-invite.lua: owns its KEYS/ARGV order and its result codes. */
import type { Queue } from 'bullmq';
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** What reschedule-invite did with one invite. */
export const RESCHEDULE_RESULT = { 0: 'gone', 1: 'rescheduled', 2: 'not_waiting', 3: 'changed' } as const;
export type RescheduleResult = (typeof RESCHEDULE_RESULT)[keyof typeof RESCHEDULE_RESULT];

export interface RescheduleInvite {
  prefix: string;
  queue: Queue;
  account: string;
  jobId: string;
  batchId: string;
  /** The job's data JSON as read: the move happens only if it is still that. */
  expectedData: string;
  /** The job's new data JSON (with the new scheduledFor and timeZone, or without them). */
  data: string;
  /** The new time (epoch ms), or undefined: now. */
  scheduledFor: number | undefined;
  /** The client's clock (ms), which the delay is counted from. */
  now: number;
  ttlMs: number;
}

/** Moves one scheduled invite to a new time, atomically (src/redis-scripts/reschedule-invite.lua). */
export const rescheduleInvite = defineScript<RescheduleInvite, RescheduleResult>({
  file: 'reschedule-invite',
  keys: 6,
  encode: (r) => {
    const q = r.queue.keys;
    const delay = r.scheduledFor === undefined ? 0 : Math.max(0, r.scheduledFor - r.now);
    return {
      keys: [
        r.queue.toKey(r.jobId),
        q.delayed as string,
        q.meta as string,
        q.marker as string,
        q.events as string,
        invitebusKeys(r.prefix).batchScheduled(r.batchId),
      ],
      args: [
        r.jobId,
        r.expectedData,
        r.data,
        String(delay),
        String(r.now),
        `${r.account}/${r.jobId}`,
        r.scheduledFor === undefined ? '' : String(r.scheduledFor),
        String(r.ttlMs),
      ],
    };
  },
  decode: (reply) => {
    const result = RESCHEDULE_RESULT[reply as keyof typeof RESCHEDULE_RESULT];
    if (result === undefined) throw new Error(`reschedule-invite answered ${String(reply)}`);
    return result;
  },
});
