/** The wrapper of enroll-invites.lua: owns its KEYS/ARGV order (a job key, a sent-record key and a ref per invite) and its result codes. */
import type { Queue } from 'bullmq';
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** enroll-invites' answer per invite. */
export const ENROLL = { member: 0, enrolled: 1, otherBatch: 2, failed: 3, noJob: 4 } as const;
export type EnrollCode = (typeof ENROLL)[keyof typeof ENROLL];

/** The keys before the per-invite job keys. */
const FIXED_KEYS = 7;

export interface EnrollInvitesInput {
  prefix: string;
  /** The account's queue: its failed set, and the invites' job keys. */
  queue: Queue;
  account: string;
  /** The batch ('' for none: only checks). */
  batchId: string;
  /** How long batch keys live. */
  ttlMs: number;
  /** The writer enrolling them ('' for none) and its heartbeat. */
  writerId: string;
  heartbeatMs: number;
  /** 'enroll' records membership; 'check' only reports. */
  mode: 'enroll' | 'check';
  /** The invites' job ids. */
  jobIds: readonly string[];
}

/** Records which invites belong to a batch: one ENROLL code per job id. */
export const enrollInvites = defineScript<EnrollInvitesInput, EnrollCode[]>({
  file: 'enroll-invites',
  keys: 'variable',
  encode: (e) => {
    const k = invitebusKeys(e.prefix);
    const b = e.batchId;
    const fixed = [k.batch(b), k.batchMembers(b), k.batchResults(b), k.batchJobs(b), k.batchWriters(b), e.queue.keys.failed as string, k.batches];
    return {
      keys: [...fixed, ...e.jobIds.map((id) => e.queue.toKey(id)), ...e.jobIds.map((id) => k.sent(e.account, id))],
      // ARGV 3 is unused (it was the client's clock: the script reads Redis TIME).
      args: [b, String(e.ttlMs), '', e.writerId, String(e.heartbeatMs), e.mode, ...e.jobIds.map((id) => `${e.account}/${id}`)],
    };
  },
  decode: (reply) => (reply as number[]).map((c) => Number(c) as EnrollCode),
});

/** How many KEYS enroll-invites takes before its per-invite keys (for tests). */
export const ENROLL_FIXED_KEYS = FIXED_KEYS;
