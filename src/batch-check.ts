/**
 * `batches check`: a batch's counters and membership recomputed from its jobs and their recorded results, any
 * drift reported, and on request repaired, idempotently. What the invariant of src/redis-scripts/index.ts promises is
 * what this checks: counters derived from members and results, every finished member's result recorded.
 */
import { reasonOf } from './batches.ts';
import { retentionMs } from './config/load.ts';
import { InvitebusError } from './errors.ts';
import type { InviteEvent } from './events/stream.ts';
import { checkIdentifier } from './identifiers.ts';
import { personOfData } from './invites/person.ts';
import type { Producer } from './producer.ts';
import { invitebusKeys } from './redis.ts';
import { scripts } from './redis-scripts/index.ts';
import type { InviteJobData, InviteResult, Outcome, ReasonClass } from './types.ts';

/** A stored counter that differs from the one recomputed. */
export interface CounterDrift {
  field: string;
  stored: number;
  expected: number;
}

/** A member whose job finished without its result being recorded (its event never written, its batch never told). */
export interface StrandedInvite {
  ref: string;
  state: 'failed' | 'completed';
}

export interface BatchCheck {
  batchId: string;
  members: number;
  /** Counters as found (before a repair). */
  drift: CounterDrift[];
  stranded: StrandedInvite[];
  /** Whether this run repaired what it found (recorded the stranded results, then recounted). */
  repaired: boolean;
}

const PAGE = 500;

/** Checks a batch and, with `repair`, repairs it. Safe to run while invites of the batch are being delivered. */
export async function checkBatch(producer: Producer, batchId: string, options: { repair?: boolean } = {}): Promise<BatchCheck> {
  checkIdentifier('batch id', batchId);
  const redis = producer.redis;
  const prefix = producer.config.redis.prefix;
  const keys = invitebusKeys(prefix);
  if ((await redis.exists(keys.batch(batchId))) === 0) throw new InvitebusError('UNKNOWN_BATCH', `no batch '${batchId}'`);
  const stranded: Array<StrandedInvite & { data: InviteJobData; job: Record<string, string | null> }> = [];
  let members = 0;
  let cursor = '0';
  do {
    const [next, refs] = await redis.sscan(keys.batchMembers(batchId), cursor, 'COUNT', PAGE);
    cursor = next;
    members += refs.length;
    const pipeline = redis.pipeline();
    for (const ref of refs) {
      const [account = '', id = ''] = ref.split('/');
      pipeline.hmget(`${prefix}:${account}:${id}`, 'data', 'finishedOn', 'failedReason', 'returnvalue', 'atm');
      pipeline.zscore(`${prefix}:${account}:failed`, id);
      pipeline.zscore(`${prefix}:${account}:completed`, id);
      pipeline.hexists(keys.batchResults(batchId), ref);
    }
    const replies = (await pipeline.exec()) ?? [];
    refs.forEach((ref, i) => {
      const [fields, failed, completed, recorded] = replies.slice(i * 4, i * 4 + 4).map((r) => r[1]) as [
        (string | null)[],
        string | null,
        string | null,
        number,
      ];
      if (recorded === 1 || (failed === null && completed === null)) return;
      const data = parseData(fields[0] ?? null);
      // A member whose job now names another batch (a correction moved it there) is that batch's to count.
      if (data === undefined || data.batchId !== batchId) return;
      const [, finishedOn = null, failedReason = null, returnvalue = null, atm = null] = fields;
      stranded.push({ ref, state: failed !== null ? 'failed' : 'completed', data, job: { finishedOn, failedReason, returnvalue, atm } });
    });
  } while (cursor !== '0');

  const recount = async (mode: 'check' | 'repair') =>
    (await scripts(redis).recountBatch({ prefix, batchId, mode, maxLen: producer.config.events.maxLen })).sort((a, b) => a.field.localeCompare(b.field));
  const drift = await recount('check');
  const found = stranded.map(({ ref, state }) => ({ ref, state }));
  if (!options.repair || (drift.length === 0 && stranded.length === 0)) return { batchId, members, drift, stranded: found, repaired: false };

  // The stranded results are recorded as the worker would have (event and count, once: the marker is SET NX).
  const events = producer.events();
  const ttl = retentionMs(producer.config);
  for (const s of stranded) {
    const [account = '', inviteId = ''] = s.ref.split('/');
    const { event, outcome } = terminalOf(s, account, inviteId);
    await events.recordTerminal(event, outcome, ttl);
  }
  await recount('repair');
  return { batchId, members, drift, stranded: found, repaired: true };
}

function parseData(raw: string | null): InviteJobData | undefined {
  if (raw === null) return undefined;
  try {
    const data = JSON.parse(raw) as unknown;
    return typeof data === 'object' && data !== null ? (data as InviteJobData) : undefined;
  } catch {
    return undefined;
  }
}

/** The terminal event a stranded job should have had, from what BullMQ kept of it. */
function terminalOf(
  s: StrandedInvite & { data: InviteJobData; job: Record<string, string | null> },
  account: string,
  inviteId: string,
): { event: InviteEvent; outcome: Outcome } {
  const base = {
    inviteId,
    account,
    provider: s.data.provider,
    email: typeof s.data.invite?.email === 'string' ? s.data.invite.email : '',
    ...personOfData(s.data),
    attempts: Number(s.job.atm ?? 0),
    batchId: s.data.batchId,
    enqueuedAt: s.data.enqueuedAt,
    finishedAt: Number(s.job.finishedOn ?? Date.now()),
  };
  if (s.state === 'completed') {
    let outcome: Outcome = { kind: 'invited' };
    try {
      outcome = (JSON.parse(s.job.returnvalue ?? 'null') as InviteResult | null)?.outcome ?? outcome;
    } catch {
      // An unreadable return value: the job completed, so the invite was sent.
    }
    return { event: { ...base, type: 'invite.succeeded', outcome: outcome.kind }, outcome };
  }
  const message = s.job.failedReason ?? 'failed';
  const reasonClass: ReasonClass = reasonOf(message) || 'stalled';
  const outcome: Outcome = reasonClass === 'rejected' ? { kind: 'rejected', message } : { kind: 'retryable', message };
  return { event: { ...base, type: 'invite.failed', outcome: outcome.kind, reasonClass, message }, outcome };
}
