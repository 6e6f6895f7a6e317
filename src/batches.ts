import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EventStream } from './events/stream.ts';
import { checkIdentifier, isInviteId } from './identifiers.ts';
import { type IntakeEntry, readIntake } from './onboarding/intake.ts';
import type { Producer } from './producer.ts';
import { invitebusKeys } from './redis.ts';
import { type InviteJobData, type InviteResult, REASON_CLASSES, type ReasonClass } from './types.ts';

/** A batch's counters, read in O(1) from its hash. */
export interface BatchStatus {
  batchId: string;
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  /** Rows (or person-tool pairs) refused at intake, and duplicates: never invites, told so the story is whole. */
  refused: number;
  duplicates: number;
  /** Rows naming people already in this batch (a rerun, or two enqueues of it at once): not duplicates. */
  alreadyInBatch: number;
  /** Every invite of the batch is enqueued and has finished. */
  complete: boolean;
  sealed: boolean;
  outcomes: Record<string, number>;
  reasons: Record<string, number>;
  /** The same counts per account: an onboarding is one batch across the accounts of its people's tools. */
  accounts: Record<string, AccountProgress>;
  createdAt?: number;
  completedAt?: number;
}

/** One account's part of a batch. */
export interface AccountProgress {
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  outcomes: Record<string, number>;
}

/** The per-account counters of a batch hash (`acct:<account>:<counter>`, written by count-result.lua). */
function accountProgress(hash: Record<string, string>): Record<string, AccountProgress> {
  const accounts: Record<string, AccountProgress> = {};
  for (const [key, value] of Object.entries(hash)) {
    const match = /^acct:([^:]+):(.+)$/.exec(key);
    if (match === null) continue;
    const [, account = '', counter = ''] = match;
    const progress = accounts[account] ?? { total: 0, done: 0, succeeded: 0, failed: 0, outcomes: {} };
    accounts[account] = progress;
    const n = Number(value);
    if (counter.startsWith('outcome:')) {
      if (n > 0) progress.outcomes[counter.slice('outcome:'.length)] = n;
    } else if (counter === 'total' || counter === 'done' || counter === 'succeeded' || counter === 'failed') progress[counter] = n;
  }
  return Object.fromEntries(Object.entries(accounts).sort(([a], [b]) => a.localeCompare(b)));
}

export async function batchStatus(redis: Redis, prefix: string, batchId: string): Promise<BatchStatus | undefined> {
  checkIdentifier('batch id', batchId);
  const hash = await redis.hgetall(invitebusKeys(prefix).batch(batchId));
  if (Object.keys(hash).length === 0) return undefined;
  const num = (k: string) => Number(hash[k] ?? 0);
  const pick = (p: string) =>
    Object.fromEntries(
      Object.entries(hash)
        .filter(([k, v]) => k.startsWith(p) && Number(v) > 0)
        .map(([k, v]) => [k.slice(p.length), Number(v)]),
    );
  return {
    batchId,
    total: num('total'),
    done: num('done'),
    succeeded: num('succeeded'),
    failed: num('failed'),
    refused: num('refused'),
    duplicates: num('duplicates'),
    alreadyInBatch: num('alreadyInBatch'),
    complete: hash.completedAt !== undefined,
    sealed: hash.sealed === '1',
    outcomes: pick('outcome:'),
    reasons: pick('reason:'),
    accounts: accountProgress(hash),
    ...(hash.createdAt ? { createdAt: Number(hash.createdAt) } : {}),
    ...(hash.completedAt ? { completedAt: Number(hash.completedAt) } : {}),
  };
}

/** Columns of a batch report, in order. */
export const REPORT_COLUMNS = ['inviteId', 'account', 'email', 'state', 'outcome', 'reason', 'attempts', 'status', 'requestId', 'message', 'at'] as const;

/** One line of a batch report. */
export interface ReportLine {
  inviteId: string;
  account: string;
  email: string;
  state: string;
  outcome: string;
  reason: string;
  attempts: number;
  status: string;
  requestId: string;
  message: string;
  /** When: the invite finished (or was queued, while pending), or the row was refused at intake (ISO 8601). */
  at: string;
}

/** How BullMQ words the failures it decides itself (a job stalled or started too often). */
export const BULLMQ_STALLED = /stalled more than allowable limit|started more than allowable limit/;

/** The reason class at the start of a failed job's reason ("rejected: ..."), or stalled for BullMQ's own. */
export function reasonOf(failedReason: string | undefined): ReasonClass | '' {
  const head = /^([a-z_]+):/.exec(failedReason ?? '')?.[1];
  const known = REASON_CLASSES.find((r) => r === head);
  if (known !== undefined) return known;
  return BULLMQ_STALLED.test(failedReason ?? '') ? 'stalled' : '';
}

export async function reportLine(job: Job<InviteJobData, InviteResult> | undefined, ref: string, events: EventStream): Promise<ReportLine> {
  const [account = '', inviteId = ''] = ref.split('/');
  if (job === undefined)
    return {
      inviteId,
      account,
      email: '',
      state: 'removed',
      outcome: '',
      reason: '',
      attempts: 0,
      status: '',
      requestId: '',
      message: 'removed by retention',
      at: '',
    };
  const state = await job.getState();
  const at = new Date(job.finishedOn ?? job.data.enqueuedAt ?? job.timestamp).toISOString();
  const base = { inviteId, account, email: job.data.invite.email, state, attempts: job.attemptsMade, at };
  if (state === 'completed' && job.returnvalue) {
    const o = job.returnvalue.outcome;
    return { ...base, outcome: o.kind, reason: '', status: String(o.status ?? ''), requestId: o.requestId ?? '', message: o.message ?? '' };
  }
  if (state === 'failed') {
    const recorded = await events.recordedOutcome({ account, inviteId, enqueuedAt: job.data.enqueuedAt });
    return {
      ...base,
      outcome: recorded?.kind ?? '',
      reason: recorded?.reasonClass ?? reasonOf(job.failedReason),
      status: String(recorded?.status ?? ''),
      requestId: recorded?.requestId ?? '',
      message: recorded?.message ?? job.failedReason ?? '',
    };
  }
  return { ...base, outcome: '', reason: '', status: '', requestId: '', message: '' };
}

/** A row refused at intake, or a duplicate, as a report line (state `refused` or `duplicate`). */
export function intakeLine(entry: IntakeEntry): ReportLine {
  const email = /<([^>]+)>$/.exec(entry.who ?? '')?.[1] ?? entry.who ?? '';
  return {
    inviteId: '',
    account: entry.account ?? '',
    email,
    state: entry.kind,
    outcome: '',
    reason: '',
    attempts: 0,
    status: '',
    requestId: '',
    message: `${entry.source} ${entry.position}: ${entry.field ? `${entry.field}: ` : ''}${entry.message}${entry.who && entry.who !== email ? ` (${entry.who})` : ''}`,
    at: new Date(entry.at).toISOString(),
  };
}

/**
 * Every invite of a batch with its outcome, in enqueue order, read page by page (no whole-batch load), then
 * the rows refused at intake and the duplicates: the whole story of the input.
 */
export async function* batchReport(producer: Producer, batchId: string, pageSize = 500): AsyncGenerator<ReportLine> {
  yield* invitesReport(producer, batchId, pageSize);
  for await (const entry of readIntake(producer, batchId)) yield intakeLine(entry);
}

/** Every invite of a batch with its outcome, in enqueue order. */
export async function* invitesReport(producer: Producer, batchId: string, pageSize = 500): AsyncGenerator<ReportLine> {
  checkIdentifier('batch id', batchId);
  const redis = producer.redis;
  const key = invitebusKeys(producer.config.redis.prefix).batchJobs(batchId);
  const events = producer.events();
  for (let start = 0; ; start += pageSize) {
    const refs = await redis.lrange(key, start, start + pageSize - 1);
    if (refs.length === 0) return;
    const jobs = await Promise.all(
      refs.map(async (ref) => {
        const [account = '', id = ''] = ref.split('/');
        const job = Object.hasOwn(producer.config.accounts, account) && isInviteId(id) ? await producer.queue(account).getJob(id) : undefined;
        return reportLine(job as Job<InviteJobData, InviteResult> | undefined, ref, events);
      }),
    );
    yield* jobs;
    if (refs.length < pageSize) return;
  }
}
