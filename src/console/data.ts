/**
 * What the console shows, read from Redis: accounts (state, queue counts, invites per minute over the last
 * hour, paced rate and why it moved), onboardings newest first with who needs attention, their duplicates, failures grouped by account
 * and reason class.
 */
import type { Job } from 'bullmq';
import { type BatchStatus, reasonOf, reportLine } from '../batches.ts';
import type { Invitebus } from '../core/invitebus.ts';
import { isInviteId } from '../identifiers.ts';
import { type IntakeEntry, readIntake } from '../onboarding/intake.ts';
import { intakePersonKey } from '../onboarding/people.ts';
import { inviteJobId } from '../policies/job-id.ts';
import { adapterOf } from '../providers/index.ts';
import { invitebusKeys } from '../redis.ts';
import type { AccountStats } from '../stats.ts';
import type { InviteJobData, InviteResult } from '../types.ts';

export interface AccountView extends AccountStats {
  /** Since when it is paused (ms), when it is. */
  pausedSince?: number;
  /** Terminal invites per minute, the last 60 minutes, oldest first. */
  perMinute: number[];
}

export async function accountsView(ib: Invitebus): Promise<AccountView[]> {
  const keys = invitebusKeys(ib.config.redis.prefix);
  const stats = await ib.accounts.list();
  const minute = Math.floor(Date.now() / 60_000);
  return Promise.all(
    stats.map(async (s) => {
      const counts = await ib.redis.hgetall(keys.throughput(s.account));
      return {
        ...s,
        ...(s.pausedAt === undefined ? {} : { pausedSince: s.pausedAt }),
        perMinute: Array.from({ length: 60 }, (_, i) => Number(counts[String(minute - 59 + i)] ?? 0)),
      };
    }),
  );
}

/**
 * Who in an onboarding needs someone to look: people and their invites counted apart (one person refused for
 * three tools is one person and three invites), as the person report counts them.
 */
export interface Attention {
  /** People with a failed or refused invite, or whose row was refused as a whole. */
  people: number;
  /** Their failed or refused invites (person-tool pairs). */
  invites: number;
  /** Rows refused as a whole (unreadable, no address, unknown profile): no tool could be told; among the people. */
  wholeRows: number;
}

const NO_ATTENTION: Attention = { people: 0, invites: 0, wholeRows: 0 };

/** Refs of a batch's jobs read per round trip. */
const PAGE = 1000;

/**
 * Counted attention per batch. Reused while the batch's counters stay the same; while they move (a batch in
 * progress, pages refreshing every second), reused for ten times what counting took, so counting a big batch
 * takes at most a tenth of Redis's time for it. Viewers asking at once share one count.
 */
const attentionMemo = new Map<string, { counters: string; until: number; attention: Promise<Attention> }>();

/** Which of these jobs of an account are failed: one ZMSCORE (Redis 6.2+), else one pipelined ZSCORE each. */
async function failedAmong(ib: Invitebus, account: string, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const key = ib.producer.queue(account).toKey('failed');
  let scores: Array<string | null>;
  try {
    scores = await ib.redis.zmscore(key, ...ids);
  } catch {
    const pipeline = ib.redis.pipeline();
    for (const id of ids) pipeline.zscore(key, id);
    scores = ((await pipeline.exec()) ?? []).map(([, score]) => (score as string | null) ?? null);
  }
  return ids.filter((_, i) => scores[i] != null);
}

/**
 * Who needs attention in a batch, counted: the addresses of its failed invites (its jobs asked of their
 * account's failed set a page at a time, only the failed ones read) and the people of its intake refusals.
 */
async function countAttention(ib: Invitebus, status: BatchStatus): Promise<Attention> {
  const people = new Set<string>();
  let invites = 0;
  let wholeRows = 0;
  const failing = new Set(
    Object.entries(status.accounts).flatMap(([account, a]) => (a.failed > 0 && Object.hasOwn(ib.config.accounts, account) ? [account] : [])),
  );
  const jobsKey = invitebusKeys(ib.config.redis.prefix).batchJobs(status.batchId);
  for (let start = 0; failing.size > 0; start += PAGE) {
    const refs = await ib.redis.lrange(jobsKey, start, start + PAGE - 1);
    const byAccount = new Map<string, string[]>();
    for (const ref of refs) {
      const [account = '', id = ''] = ref.split('/');
      if (!failing.has(account) || !isInviteId(id)) continue;
      const ids = byAccount.get(account);
      if (ids === undefined) byAccount.set(account, [id]);
      else ids.push(id);
    }
    for (const [account, ids] of byAccount) {
      const failed = await failedAmong(ib, account, ids);
      const jobs = await Promise.all(failed.map((id) => ib.producer.queue(account).getJob(id) as Promise<Job<InviteJobData> | undefined>));
      for (const job of jobs) {
        if (job === undefined) continue;
        invites += 1;
        people.add(job.data.invite.email.toLowerCase());
      }
    }
    if (refs.length < PAGE) break;
  }
  for await (const entry of readIntake(ib.producer, status.batchId)) {
    if (entry.kind !== 'refused') continue;
    people.add(intakePersonKey(entry));
    if (entry.account === undefined) wholeRows += 1;
    else invites += 1;
  }
  return { people: people.size, invites, wholeRows };
}

/**
 * Who needs attention in a batch (people and invites apart, as the person report counts them). Nothing is read
 * when its counters say none.
 */
export async function attentionOf(ib: Invitebus, status: BatchStatus): Promise<Attention> {
  if (status.failed + status.refused === 0) return NO_ATTENTION;
  const memoKey = `${ib.config.redis.prefix}\n${status.batchId}`;
  const counters = `${status.total}/${status.done}/${status.failed}/${status.refused}/${status.complete}`;
  const known = attentionMemo.get(memoKey);
  if (known !== undefined && (known.counters === counters || Date.now() < known.until)) return known.attention;
  const started = Date.now();
  const attention = countAttention(ib, status);
  const entry = { counters, until: Number.POSITIVE_INFINITY, attention };
  attentionMemo.delete(memoKey);
  attentionMemo.set(memoKey, entry);
  // The oldest forgotten first: the console shows the newest 20 onboardings.
  if (attentionMemo.size > 200) attentionMemo.delete(attentionMemo.keys().next().value as string);
  try {
    await attention;
    entry.until = Date.now() + 10 * (Date.now() - started);
  } catch (error) {
    attentionMemo.delete(memoKey);
    throw error;
  }
  return attention;
}

/** An onboarding as the list shows it: its counters and who needs attention. */
export type BatchRow = BatchStatus & { attention: Attention };

/** The newest batches (onboardings) with their counters and who needs attention. */
export async function batchesView(ib: Invitebus, count = 20): Promise<BatchRow[]> {
  const ids = await ib.batches.recent(count);
  const statuses = (await Promise.all(ids.map((id) => ib.batches.status(id)))).filter((s): s is BatchStatus => s !== undefined);
  return Promise.all(statuses.map(async (s) => ({ ...s, attention: await attentionOf(ib, s) })));
}

/** One input row not queued because it duplicated another, with what it duplicated, for the accounts it names. */
export interface DuplicateRow {
  /** Where: "hires.csv line 42". */
  position: string;
  /** The person as given ("Ada Lovelace <ada@example.com>"), when given. */
  who?: string;
  /** What it duplicated: "duplicate of line 2 (same address)", "already queued in onboarding X (invited)". */
  of: string;
  accounts: string[];
}

/** Duplicate rows listed on an onboarding's page at most; the report has every one. */
export const DUPLICATES_SHOWN = 100;

/**
 * A batch's duplicate rows (from its intake log), each with what it duplicated: a row of the same input, or an
 * invite already queued or sent, looked up by its id to name the onboarding it belongs to and where it stands.
 * At most `limit` rows; `more` counts the rows beyond.
 */
export async function duplicatesView(ib: Invitebus, batchId: string, limit = DUPLICATES_SHOWN): Promise<{ rows: DuplicateRow[]; more: number }> {
  const shown = new Set<string>();
  const beyond = new Set<string>();
  const entries: IntakeEntry[] = [];
  for await (const entry of readIntake(ib.producer, batchId)) {
    if (entry.kind !== 'duplicate') continue;
    // One input row is one entry per account it named: the row is listed once, with those accounts.
    const row = `${entry.source} ${entry.position}`;
    if (!shown.has(row)) {
      if (shown.size >= limit) {
        beyond.add(row);
        continue;
      }
      shown.add(row);
    }
    entries.push(entry);
  }
  const events = ib.events;
  const resolved = await Promise.all(entries.map((e) => duplicated(ib, batchId, e.account, intakePersonKey(e), e.message, events)));
  const rows = new Map<string, DuplicateRow>();
  for (const [i, entry] of entries.entries()) {
    const row = `${entry.source} ${entry.position}`;
    const of = resolved[i] ?? entry.message;
    const key = `${row}\n${of}`;
    const found = rows.get(key) ?? { position: row, ...(entry.who ? { who: entry.who } : {}), of, accounts: [] };
    if (entry.account !== undefined) found.accounts.push(entry.account);
    rows.set(key, found);
  }
  return { rows: [...rows.values()], more: beyond.size };
}

/**
 * What a duplicate duplicated. The invite its address has in that account (ids derive from account and
 * address) belongs to this batch when an earlier row of the same input was queued: the log's own words say
 * which row. Otherwise it was queued before, elsewhere: named with its onboarding and where it stands.
 */
async function duplicated(
  ib: Invitebus,
  batchId: string,
  account: string | undefined,
  email: string,
  message: string,
  events: Invitebus['events'],
): Promise<string> {
  if (account === undefined || !Object.hasOwn(ib.config.accounts, account) || !email.includes('@')) return message;
  const id = inviteJobId(account, email);
  const job = (await ib.producer.queue(account).getJob(id)) as Job<InviteJobData, InviteResult> | undefined;
  if (job === undefined) {
    // Sent already, its job removed as it completed: its sent record names its onboarding.
    const sent = await events.sentRecord(account, id);
    if (sent === undefined || sent.batchId === batchId) return message;
    return `${sent.batchId === undefined ? 'already queued (on its own, in no onboarding)' : `already queued in onboarding ${sent.batchId}`} (${sent.kind})`;
  }
  if (job.data.batchId === batchId) return message;
  const line = await reportLine(job, `${account}/${id}`, events);
  const where = job.data.batchId === undefined ? 'already queued (on its own, in no onboarding)' : `already queued in onboarding ${job.data.batchId}`;
  return `${where} (${line.outcome || line.state})`;
}

/** Accounts whose provider documents no request id (the console shows "—" there, not a blank). */
export function accountsWithoutRequestIds(ib: Invitebus): Set<string> {
  return new Set(Object.entries(ib.config.accounts).flatMap(([name, a]) => (adapterOf(a.provider).requestIdFrom === undefined ? [name] : [])));
}

export interface FailureGroup {
  account: string;
  reason: string;
  count: number;
  /** The latest failure's message: what the provider said. */
  message: string;
  lastAt: number;
}

/** Failed invites grouped by account and reason class (the newest `perAccount` of each account are read). */
export async function failuresView(ib: Invitebus, perAccount = 500): Promise<FailureGroup[]> {
  const groups = new Map<string, FailureGroup>();
  for (const account of Object.keys(ib.config.accounts)) {
    const failed = await ib.accounts.failed(account, perAccount);
    for (const job of failed) {
      if (!job) continue;
      const reason = reasonOf(job.failedReason) || 'unknown';
      const key = `${account}\n${reason}`;
      const at = job.finishedOn ?? 0;
      const group = groups.get(key) ?? { account, reason, count: 0, message: '', lastAt: 0 };
      group.count += 1;
      if (at >= group.lastAt) {
        group.lastAt = at;
        group.message = (job.failedReason ?? '').replace(/^[a-z_]+:\s*/, '').slice(0, 300);
      }
      groups.set(key, group);
    }
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
