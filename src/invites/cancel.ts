/**
 * Withdrawn hires: every pending invite of a person (all accounts, or one batch's) cancelled, each in one script
 * (src/redis-scripts/cancel-invite.lua) that removes it only if no worker holds it, counts it `cancelled` in its
 * batch and writes its invite.cancelled event. What cannot be cancelled is said per tool: an invite already sent
 * (none of the providers documents a revoke call: the person has to be removed in the tool), one being sent right
 * now. A failed invite is cancelled too, so that no replay ever sends it.
 */
import { retentionMs } from '../config/load.ts';
import { checkIdentifier } from '../identifiers.ts';
import { inviteJobId } from '../policies/job-id.ts';
import type { Producer } from '../producer.ts';
import { CANCELLABLE_STATES, type CancelAnswer, type CancellableState } from '../redis-scripts/cancel-invite.ts';
import { type Person, personOfData } from './person.ts';

export { CANCELLABLE_STATES };

import { scripts } from '../redis-scripts/index.ts';

/** Who cancelled: told in the invite.cancelled event. */
export type CancelledBy = 'cli' | 'api' | 'console' | 'library';

/**
 * Where one invite of the person stands after the cancel:
 * - cancelled: removed now (or, in a dry run, would be);
 * - already_cancelled: removed by an earlier cancel (nothing to do);
 * - sent: delivered before the cancel (or the person was already a member): remove them in the tool;
 * - sending: a worker is sending it right now: it cannot be stopped; check again;
 * - other_batch: it belongs to another batch than the one named (left as it is).
 */
export const CANCEL_STATUSES = ['cancelled', 'already_cancelled', 'sent', 'sending', 'other_batch'] as const;
export type CancelStatus = (typeof CANCEL_STATUSES)[number];

/** One invite of the person: its account, what became of it and a sentence saying so. */
export interface CancelLine {
  account: string;
  provider: string;
  inviteId: string;
  status: CancelStatus;
  /** The state it was cancelled from (waiting, delayed, prioritized, failed). */
  previous?: CancellableState;
  batchId?: string;
  /** When it was cancelled, or sent (ms). */
  at?: number;
  message: string;
}

export interface CancelResult {
  email: string;
  /** The batch the cancel was limited to, if any. */
  batchId?: string;
  dryRun: boolean;
  /** Invites cancelled by this call (or that a dry run would cancel). */
  cancelled: number;
  /** One line per account holding an invite of the person (or the batch's, with batchId). */
  invites: CancelLine[];
}

export interface CancelOptions {
  /** Only the invites of this batch. */
  batchId?: string;
  /** Only say what would be cancelled. */
  dryRun?: boolean;
  by?: CancelledBy;
}

/** A time as people read it in a sentence, in UTC: "2025-06-01 09:12 UTC". */
export function sentenceTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The fields of a job's data a cancel relies on, read defensively (the person as events and reports read it). */
function dataOf(raw: string | null): { batchId: string; enqueuedAt: number; email?: string; person?: Person } | undefined {
  if (raw === null) return undefined;
  try {
    const d = JSON.parse(raw) as { batchId?: unknown; enqueuedAt?: unknown; invite?: { email?: unknown } };
    const person = personOfData(d);
    return {
      batchId: typeof d.batchId === 'string' ? d.batchId : '',
      enqueuedAt: typeof d.enqueuedAt === 'number' ? d.enqueuedAt : Number.NaN,
      ...(typeof d.invite?.email === 'string' ? { email: d.invite.email } : {}),
      ...(person === undefined ? {} : { person }),
    };
  } catch {
    return { batchId: '', enqueuedAt: Number.NaN };
  }
}

/** A job's data can change between the read and the script (a correction): read again, this often at most. */
const READS = 5;

/** Cancels one account's invite of the person; undefined when that account has none (nor a cancelled one). */
async function cancelOne(producer: Producer, account: string, email: string, options: CancelOptions): Promise<CancelLine | undefined> {
  const config = producer.config;
  const provider = config.accounts[account]?.provider ?? '';
  const queue = producer.queue(account);
  const inviteId = inviteJobId(account, email);
  const base = { account, provider, inviteId };
  const tool = `${provider} (account ${account})`;
  /** An invite already sent: nothing to cancel, the person is removed at the provider. */
  const sentLine = (kind: string | undefined, finishedAt: number | undefined, batchId: string | undefined): CancelLine => ({
    ...base,
    status: 'sent',
    ...(batchId ? { batchId } : {}),
    ...(finishedAt === undefined ? {} : { at: finishedAt }),
    message: `${kind === 'already_member' ? 'already a member' : 'sent'}${finishedAt === undefined ? '' : ` on ${sentenceTime(finishedAt)}`}: remove the person in ${tool}`,
  });
  for (let read = 0; read < READS; read++) {
    const [raw, returnvalue] = await producer.redis.hmget(queue.toKey(inviteId), 'data', 'returnvalue');
    const data = dataOf(raw ?? null);
    if (data !== undefined && options.batchId !== undefined && data.batchId !== options.batchId)
      return {
        ...base,
        status: 'other_batch',
        ...(data.batchId ? { batchId: data.batchId } : {}),
        message: `in ${data.batchId ? `batch ${data.batchId}` : 'no batch'}, not ${options.batchId}: left as it is`,
      };
    const answer: CancelAnswer = await scripts(producer.redis).cancelInvite({
      prefix: config.redis.prefix,
      queue,
      jobId: inviteId,
      batchId: data?.batchId ?? '',
      enqueuedAt: data?.enqueuedAt ?? 0,
      mode: options.dryRun ? 'check' : 'cancel',
      recordedJson: JSON.stringify({
        kind: 'cancelled',
        email: data?.email ?? email,
        by: options.by ?? 'library',
        ...(data?.batchId ? { batchId: data.batchId } : {}),
        // Who they were, so reports and find still name them once the job is gone.
        ...(data?.person ? { person: data.person } : {}),
      }),
      ttlMs: retentionMs(config),
      maxLen: config.events.maxLen,
      eventFields: [
        'inviteId',
        inviteId,
        'account',
        account,
        'provider',
        provider,
        'email',
        data?.email ?? email,
        'by',
        options.by ?? 'library',
        ...(data?.batchId ? ['batchId', data.batchId] : []),
        ...Object.entries(data?.person ?? {}).flat(),
        'enqueuedAt',
        String(data?.enqueuedAt ?? 0),
      ],
    });
    const batch = data?.batchId ? { batchId: data.batchId } : {};
    switch (answer.result) {
      case 'changed':
        continue;
      case 'cancelled':
        if (answer.writerLiveMs > 0 && data?.batchId) await producer.checkBatchLater(data.batchId, answer.writerLiveMs);
        return { ...base, status: 'cancelled', previous: answer.previous, ...batch, message: `cancelled (it was ${answer.previous})` };
      case 'cancellable':
        return { ...base, status: 'cancelled', previous: answer.previous, ...batch, message: `would be cancelled (it is ${answer.previous})` };
      case 'active':
        return { ...base, status: 'sending', ...batch, message: `being sent now: cannot be stopped; check again (invitebus find ${email})` };
      case 'completed':
        return sentLine((JSON.parse(returnvalue ?? 'null') as { outcome?: { kind?: string } } | null)?.outcome?.kind, answer.finishedAt, data?.batchId);
      case 'gone': {
        if (answer.tombstone === undefined) {
          // Sent, its job removed as it completed: its sent record says how and when.
          const sent = await producer.events().sentRecord(account, inviteId);
          if (sent === undefined || (options.batchId !== undefined && sent.batchId !== options.batchId)) return undefined;
          return sentLine(sent.kind, sent.finishedAt, sent.batchId);
        }
        const t = JSON.parse(answer.tombstone) as { at?: number; batchId?: string; previous?: CancellableState };
        if (options.batchId !== undefined && t.batchId !== options.batchId) return undefined;
        return {
          ...base,
          status: 'already_cancelled',
          ...(t.previous ? { previous: t.previous } : {}),
          ...(t.batchId ? { batchId: t.batchId } : {}),
          ...(t.at ? { at: t.at } : {}),
          message: `already cancelled${t.at ? ` on ${sentenceTime(t.at)}` : ''}: nothing to do`,
        };
      }
      case 'other':
        return undefined;
    }
  }
  throw new Error(`the invite ${inviteId} of ${account} kept changing while it was being cancelled: run the cancel again`);
}

/**
 * Cancels every pending invite of one person (every configured account, or only the invites of `batchId`):
 * each one in one atomic step; lines for the accounts that hold an invite of the person, in config order.
 */
export async function cancelPerson(producer: Producer, email: string, options: CancelOptions = {}): Promise<CancelResult> {
  if (options.batchId !== undefined) checkIdentifier('batch id', options.batchId);
  const lines: CancelLine[] = [];
  for (const account of Object.keys(producer.config.accounts)) {
    const line = await cancelOne(producer, account, email, options);
    if (line !== undefined) lines.push(line);
  }
  return {
    email,
    ...(options.batchId === undefined ? {} : { batchId: options.batchId }),
    dryRun: options.dryRun ?? false,
    cancelled: lines.filter((l) => l.status === 'cancelled').length,
    invites: lines,
  };
}
