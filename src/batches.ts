import type { Job } from 'bullmq';
import type { EventStream } from './events/stream.ts';
import { checkIdentifier, isInviteId } from './identifiers.ts';
import { type Person, personOfData } from './invites/person.ts';
import type { SentRecord } from './invites/sent-record.ts';
import { type IntakeEntry, readIntake } from './onboarding/intake.ts';
import { scheduledText } from './onboarding/schedule.ts';
import type { Producer } from './producer.ts';
import { invitebusKeys } from './redis.ts';
import type { RedisClient } from './redis-connection/factory.ts';
import { type InviteJobData, type InviteResult, REASON_CLASSES, type ReasonClass } from './types.ts';

/** A batch's counters, read in O(1) from its hash. */
export interface BatchStatus {
  batchId: string;
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  /** Invites of withdrawn hires cancelled before they were sent: total = succeeded + failed + cancelled + pending. */
  cancelled: number;
  /** Rows (or person-tool pairs) refused at intake, and duplicates: never invites, told so the story is whole. */
  refused: number;
  duplicates: number;
  /** Rows naming people already in this batch (a rerun, or two enqueues of it at once): not duplicates. */
  alreadyInBatch: number;
  /**
   * Of the invites not done, those scheduled for later (a start date): waiting for their time, as planned. A
   * batch whose pending invites are all scheduled is waiting, not stuck.
   */
  scheduled: number;
  /** When the next scheduled invite is due (ms). */
  nextScheduledAt?: number;
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
  cancelled: number;
  outcomes: Record<string, number>;
}

/** The per-account counters of a batch hash (`acct:<account>:<counter>`, written by count-result.lua). */
function accountProgress(hash: Record<string, string>): Record<string, AccountProgress> {
  const accounts: Record<string, AccountProgress> = {};
  for (const [key, value] of Object.entries(hash)) {
    const match = /^acct:([^:]+):(.+)$/.exec(key);
    if (match === null) continue;
    const [, account = '', counter = ''] = match;
    const progress = accounts[account] ?? { total: 0, done: 0, succeeded: 0, failed: 0, cancelled: 0, outcomes: {} };
    accounts[account] = progress;
    const n = Number(value);
    if (counter.startsWith('outcome:')) {
      if (n > 0) progress.outcomes[counter.slice('outcome:'.length)] = n;
    } else if (counter === 'total' || counter === 'done' || counter === 'succeeded' || counter === 'failed' || counter === 'cancelled') progress[counter] = n;
  }
  return Object.fromEntries(Object.entries(accounts).sort(([a], [b]) => a.localeCompare(b)));
}

export async function batchStatus(redis: RedisClient, prefix: string, batchId: string): Promise<BatchStatus | undefined> {
  checkIdentifier('batch id', batchId);
  const keys = invitebusKeys(prefix);
  const now = Date.now();
  const [hash, ahead, next] = await Promise.all([
    redis.hgetall(keys.batch(batchId)),
    redis.zcount(keys.batchScheduled(batchId), `(${now}`, '+inf'),
    redis.zrangebyscore(keys.batchScheduled(batchId), `(${now}`, '+inf', 'WITHSCORES', 'LIMIT', 0, 1),
  ]);
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
    cancelled: num('cancelled'),
    refused: num('refused'),
    duplicates: num('duplicates'),
    alreadyInBatch: num('alreadyInBatch'),
    // Never more than are pending: an invite taken out of the batch otherwise (cancelled) is done.
    scheduled: Math.max(0, Math.min(ahead, num('total') - num('done'))),
    ...(next[1] !== undefined && ahead > 0 && num('total') > num('done') ? { nextScheduledAt: Number(next[1]) } : {}),
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
export const REPORT_COLUMNS = [
  'inviteId',
  'account',
  'email',
  'externalId',
  'firstName',
  'lastName',
  'state',
  'outcome',
  'reason',
  'attempts',
  'status',
  'requestId',
  'message',
  'at',
] as const;

/** One line of a batch report. */
export interface ReportLine {
  inviteId: string;
  account: string;
  email: string;
  /** The person's id in the HR system and names, as given ('' when not given, or queued before they were kept). */
  externalId: string;
  firstName: string;
  lastName: string;
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

/** A report's person columns: each field, or '' when not given. */
export function personColumns(person: Person | undefined): Pick<ReportLine, 'externalId' | 'firstName' | 'lastName'> {
  return { externalId: person?.externalId ?? '', firstName: person?.firstName ?? '', lastName: person?.lastName ?? '' };
}

/** What a cancellation keeps (the tombstone, and the batch's result): src/redis-scripts/cancel-invite.lua. */
interface Cancellation {
  kind: 'cancelled';
  email?: string;
  by?: string;
  previous?: string;
  at?: number;
  /** Who the person was (externalId, names), as the job kept them. */
  person?: Person;
}

/** A cancellation as recorded, or undefined when the text is not one. */
export function cancellationOf(recorded: string | null | undefined): Cancellation | undefined {
  if (!recorded) return undefined;
  try {
    const c = JSON.parse(recorded) as Cancellation;
    return c.kind === 'cancelled' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** The report line of an invite cancelled as its hire was withdrawn (its job is gone). */
export function cancelledLine(ref: string, c: Cancellation): ReportLine {
  const [account = '', inviteId = ''] = ref.split('/');
  return {
    inviteId,
    account,
    email: c.email ?? '',
    ...personColumns(c.person),
    state: 'cancelled',
    outcome: 'cancelled',
    reason: '',
    attempts: 0,
    status: '',
    requestId: '',
    message: `cancelled (withdrawn hire${c.previous ? `; it was ${c.previous}` : ''}${c.by ? `; by ${c.by}` : ''})`,
    at: c.at ? new Date(c.at).toISOString() : '',
  };
}

/** The report line of an invite that succeeded and whose job was removed as it completed: its sent record. */
export function sentLine(ref: string, r: SentRecord): ReportLine {
  const [account = '', inviteId = ''] = ref.split('/');
  return {
    inviteId,
    account,
    email: r.email,
    ...personColumns(r.person),
    state: 'completed',
    outcome: r.kind,
    reason: '',
    attempts: r.attempts,
    status: String(r.status ?? ''),
    requestId: r.requestId ?? '',
    message: r.message ?? '',
    at: new Date(r.finishedAt).toISOString(),
  };
}

/**
 * An invite's report line from its job; once the job is gone, from its sent record (it succeeded) or its
 * cancellation (a withdrawn hire), else it was removed by retention.
 */
export async function reportLine(
  job: Job<InviteJobData, InviteResult> | undefined,
  ref: string,
  events: EventStream,
  cancellation?: string | null,
  sent?: SentRecord,
): Promise<ReportLine> {
  const [account = '', inviteId = ''] = ref.split('/');
  if (job === undefined && sent !== undefined) return sentLine(ref, sent);
  const cancelled = job === undefined ? cancellationOf(cancellation) : undefined;
  if (cancelled !== undefined) return cancelledLine(ref, cancelled);
  if (job === undefined)
    return {
      inviteId,
      account,
      email: '',
      ...personColumns(undefined),
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
  const base = { inviteId, account, email: job.data.invite.email, ...personColumns(personOfData(job.data)), state, attempts: job.attemptsMade, at };
  const scheduledFor = scheduledAhead(job, state);
  if (scheduledFor !== undefined) {
    // Waiting for its time as planned: `at` is that time, the message says it in the person's zone.
    const message = scheduledText(scheduledFor, job.data.timeZone);
    return { ...base, state: 'scheduled', at: new Date(scheduledFor).toISOString(), outcome: '', reason: '', status: '', requestId: '', message };
  }
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

/**
 * When an invite waits for its scheduled time (a delayed job never tried, its time still ahead), that time;
 * undefined for any other (a retry's backoff is delayed too, but it was tried).
 */
export function scheduledAhead(job: Job<InviteJobData, unknown>, state: string): number | undefined {
  const at = job.data?.scheduledFor;
  if (state !== 'delayed' || typeof at !== 'number' || job.attemptsMade > 0 || (job.attemptsStarted ?? 0) > 0) return undefined;
  return at;
}

/** A row refused at intake, or a duplicate, as a report line (state `refused` or `duplicate`). */
export function intakeLine(entry: IntakeEntry): ReportLine {
  const email = /<([^>]+)>$/.exec(entry.who ?? '')?.[1] ?? entry.who ?? '';
  return {
    inviteId: '',
    account: entry.account ?? '',
    email,
    ...personColumns(personOfData(entry)),
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
  const keys = invitebusKeys(producer.config.redis.prefix);
  const key = keys.batchJobs(batchId);
  const events = producer.events();
  for (let start = 0; ; start += pageSize) {
    const refs = await redis.lrange(key, start, start + pageSize - 1);
    if (refs.length === 0) return;
    const jobs = await Promise.all(
      refs.map(async (ref) => {
        const [account = '', id = ''] = ref.split('/');
        const job = Object.hasOwn(producer.config.accounts, account) && isInviteId(id) ? await producer.queue(account).getJob(id) : undefined;
        // A job that is gone succeeded (its sent record, for this batch) or was cancelled (a withdrawn hire: its
        // batch keeps the cancellation).
        const sent = job === undefined ? await events.sentRecord(account, id) : undefined;
        const cancellation = job === undefined ? await redis.hget(keys.batchResults(batchId), ref) : undefined;
        const mine = sent?.batchId === batchId ? sent : undefined;
        return reportLine(job as Job<InviteJobData, InviteResult> | undefined, ref, events, cancellation, mine);
      }),
    );
    yield* jobs;
    if (refs.length < pageSize) return;
  }
}
