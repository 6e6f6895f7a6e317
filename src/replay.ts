import type { Job } from 'bullmq';
import { reasonOf } from './batches.ts';
import { type AccountConfig, accountOf, retentionMs } from './config/load.ts';
import { InvitebusError } from './errors.ts';
import { checkIdentifier } from './identifiers.ts';
import { validateInvite } from './invites/validate.ts';
import type { Producer } from './producer.ts';
import { adapterOf, fieldProblems } from './providers/index.ts';
import { type Action, endAction, type MoveResult, moveFailure, startAction } from './redis-scripts/move-failure.ts';
import type { InviteFields, InviteJobData, ReplayFilter } from './types.ts';

export type { ReplayFilter } from './types.ts';

export interface ReplayResult {
  matched: number;
  replayed: number;
  byAccount: Record<string, number>;
  /**
   * Matched but not moved by this replay: moved meanwhile by another action (not_failed), failed again after this
   * replay started, by another action's replay (failed_since_start), or not yet recorded (not_recorded: a later
   * replay takes it).
   */
  skipped: Record<Exclude<MoveResult, 'moved'>, number>;
  /** The action this replay was: its id in the actions zset and its start in Redis ms. */
  action?: Action;
}

/** Parses "90s", "15m", "1h", "2d" (or plain ms) into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a duration: use e.g. 90s, 15m, 1h, 2d`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Math.round(Number(m[1]) * unit);
}

function matches(job: Job<InviteJobData>, filter: ReplayFilter, now: number): boolean {
  if (filter.batchId !== undefined && job.data.batchId !== filter.batchId) return false;
  if (filter.sinceMs !== undefined && (job.finishedOn ?? 0) < now - filter.sinceMs) return false;
  if (filter.reason !== undefined && reasonOf(job.failedReason) !== filter.reason) return false;
  return true;
}

/**
 * Each change on its own, before any job is read, so a wrong value is refused even when nothing matches: not
 * the address, a field of at least one of the accounts' providers, and a value that field's schema accepts
 * for every account whose provider has it. (A matching invite whose provider lacks the field is refused later.)
 */
export function checkChanges(accounts: readonly AccountConfig[], set: Record<string, unknown>): void {
  for (const [field, value] of Object.entries(set)) {
    if (field === 'email') throw new Error("email cannot be changed by a replay: it is the invite's identity; enqueue the right address as a new invite");
    const problems = accounts.map((account) => ({ account, problem: fieldProblems(adapterOf(account.provider), { [field]: value })[0] }));
    const taking = problems.filter((p) => p.problem?.unknown !== true);
    if (taking.length === 0) {
      const providers = [...new Set(accounts.map((a) => a.provider))].join(', ');
      throw new Error(`${field}: not an invite field of provider ${providers}`);
    }
    for (const { account, problem } of taking) if (problem !== undefined) throw new Error(`${account.name}: ${field}: ${problem.message}`);
  }
}

/**
 * The invite a replay with `set` sends: the job's fields with the changes, checked by the provider's schema.
 * The address cannot change (it is the invite's identity: enqueue the right address as a new invite), and a
 * field the provider does not take is refused rather than silently dropped.
 */
export function changedInvite(account: AccountConfig, invite: InviteFields, set: Record<string, unknown>): InviteFields {
  checkChanges([account], set);
  const checked = validateInvite(account, { ...invite, ...set });
  if (!checked.ok) throw new Error(`${checked.field}: ${checked.message}`);
  for (const field of Object.keys(set)) {
    if (!Object.hasOwn(checked.invite, field)) throw new Error(`${field}: not an invite field of provider ${account.provider}`);
  }
  return checked.invite;
}

/**
 * Moves failed invites that match the filter back to waiting with fresh attempts. Only failed jobs are
 * looked at, so an invite that succeeded is never sent again. Each failure is moved in one atomic step (its
 * recorded outcome forgotten and the job moved together), and only a failure recorded before this replay
 * started: replays running at the same time, or beside the scheduler, move each failure once, and a replay
 * interrupted at any point has moved each failure or not (running it again moves the rest).
 */
export async function replayFailed(
  producer: Producer,
  filter: ReplayFilter,
  options: {
    dryRun?: boolean;
    /** Fields to change on every replayed invite (e.g. { role: 'member' }), validated before anything moves. */
    set?: Record<string, unknown>;
    /** Told of each invite moved ("account/jobId"), as it moves. */
    onMoved?: (ref: string) => void;
  } = {},
): Promise<ReplayResult> {
  const set = options.set !== undefined && Object.keys(options.set).length > 0 ? options.set : undefined;
  const accounts = filter.accounts?.length ? filter.accounts : Object.keys(producer.config.accounts);
  // Every name and id is checked before anything is read or moved (and no queue is made for an unknown account).
  for (const account of accounts) accountOf(producer.config, account);
  if (filter.batchId !== undefined) checkIdentifier('batch id', filter.batchId);
  if (set !== undefined) {
    try {
      checkChanges(
        accounts.map((a) => accountOf(producer.config, a)),
        set,
      );
    } catch (error) {
      throw new InvitebusError('INVITE_INVALID', `replay refused, nothing was moved: ${(error as Error).message}`, { details: [(error as Error).message] });
    }
  }
  // Batch keys and the actions' record live as long as a failure is kept.
  const ttlMs = retentionMs(producer.config);
  const now = Date.now();
  // The failures this replay may move: those recorded before it started (Redis time), and not produced by the
  // move of a concurrent replay (src/redis-scripts/move-failure.lua).
  const action = await startAction(producer.redis);
  const writer = `replay-${action.id}`;
  const skipped: ReplayResult['skipped'] = { not_failed: 0, failed_since_start: 0, not_recorded: 0 };
  const result: ReplayResult = { matched: 0, replayed: 0, byAccount: {}, skipped, action };
  // Collect every account's matches first: retrying moves jobs out of the failed set while we page through
  // it, and with changed fields every selected invite is checked before any of them moves.
  const selections: Array<{ account: string; selected: Job<InviteJobData>[] }> = [];
  const changed = new Map<Job<InviteJobData>, InviteFields>();
  for (const account of accounts) {
    const queue = producer.queue(account);
    const selected: Job<InviteJobData>[] = [];
    const total = await queue.getFailedCount();
    for (let start = 0; start < total; start += 500) {
      for (const job of (await queue.getFailed(start, start + 499)) as Job<InviteJobData>[]) {
        if (job && matches(job, filter, now)) selected.push(job);
      }
    }
    result.matched += selected.length;
    result.byAccount[account] = selected.length;
    selections.push({ account, selected });
    if (set === undefined) continue;
    const accountConfig = accountOf(producer.config, account);
    for (const job of selected) {
      try {
        changed.set(job, changedInvite(accountConfig, job.data.invite, set));
      } catch (error) {
        throw new InvitebusError('INVITE_INVALID', `replay refused, nothing was moved: ${account} invite ${job.id}: ${(error as Error).message}`, {
          details: [(error as Error).message],
        });
      }
    }
  }
  if (options.dryRun) return result;
  for (const { account, selected } of selections) {
    // A replay is a writer of each batch it touches (registered by its first move, in the same step), so a
    // batch does not "complete" while some of its failures are replayed and others not yet; released at the end.
    const batches = new Set<string>();
    let replayed = 0;
    try {
      for (const job of selected) {
        const batchId = typeof job.data.batchId === 'string' ? job.data.batchId : '';
        const invite = changed.get(job);
        // One step: the failure is forgotten by its batch and the job moved, or neither (src/redis-scripts/move-failure.lua).
        const moved = await moveFailure(producer.redis, producer.config.redis.prefix, {
          queue: producer.queue(account),
          account,
          jobId: job.id as string,
          enqueuedAt: job.data.enqueuedAt,
          batchId,
          action,
          ...(invite === undefined ? {} : { data: { ...job.data, invite } }),
          ...(batchId === '' ? {} : { writer: { id: writer, batchId } }),
          ttlMs,
          mode: 'forget',
        });
        if (moved === 'moved') {
          replayed += 1;
          options.onMoved?.(`${account}/${job.id}`);
          if (batchId !== '') batches.add(batchId);
        } else skipped[moved] += 1;
      }
    } finally {
      result.byAccount[account] = replayed;
      result.replayed += replayed;
      // Released even when the replay stops half way (an outage): what it moved completes the batch. A release
      // that cannot reach Redis either is left to the heartbeat's expiry and the worker's delayed check.
      for (const b of batches) await producer.releaseBatch(b, writer).catch(() => undefined);
    }
  }
  await endAction(producer.redis, producer.config.redis.prefix, action, ttlMs).catch(() => undefined);
  const n = result.replayed;
  await producer.confirmReplicated({
    done: `the replay moved ${n} failed invite${n === 1 ? '' : 's'} back to waiting on the Redis primary`,
    rerun: 'Running the same replay again is safe (a failure is moved once)',
  });
  return result;
}
