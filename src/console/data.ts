/**
 * What the console shows, read from Redis: accounts (state, queue counts, invites per minute over the last
 * hour, rate), onboardings newest first, failures grouped by account and reason class.
 */
import { type BatchStatus, reasonOf } from '../batches.ts';
import type { Invitebus } from '../core/invitebus.ts';
import { invitebusKeys } from '../redis.ts';
import type { AccountStats } from '../stats.ts';

export interface AccountView extends AccountStats {
  /** Since when it is paused (ms), when it is. */
  pausedSince?: number;
  /** Terminal invites per minute, the last 60 minutes, oldest first. */
  perMinute: number[];
  /** The configured limit, as "20 / 1 s". */
  limit?: string;
  /** The rate the account's calls are currently paced at (adapted to its provider), as "18 / 1 s". */
  paced?: string;
}

export async function accountsView(ib: Invitebus): Promise<AccountView[]> {
  const keys = invitebusKeys(ib.config.redis.prefix);
  const stats = await ib.accounts.list();
  const minute = Math.floor(Date.now() / 60_000);
  return Promise.all(
    stats.map(async (s) => {
      const account = ib.config.accounts[s.account];
      const [state, counts, paced] = await Promise.all([
        ib.redis.hgetall(keys.accountState(s.account)),
        ib.redis.hgetall(keys.throughput(s.account)),
        ib.redis.get(keys.pacedRate(s.account)),
      ]);
      const limit = account?.rateLimit;
      return {
        ...s,
        ...(s.paused && state.at ? { pausedSince: Number(state.at) } : {}),
        perMinute: Array.from({ length: 60 }, (_, i) => Number(counts[String(minute - 59 + i)] ?? 0)),
        ...(limit ? { limit: `${limit.max} / ${limit.durationMs / 1000} s` } : {}),
        ...(limit && paced ? { paced: `${Number(Number(paced).toFixed(1))} / 1 s` } : {}),
      };
    }),
  );
}

/** The newest batches (onboardings) with their counters. */
export async function batchesView(ib: Invitebus, count = 20): Promise<BatchStatus[]> {
  const ids = await ib.batches.recent(count);
  const statuses = await Promise.all(ids.map((id) => ib.batches.status(id)));
  return statuses.filter((s): s is BatchStatus => s !== undefined);
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
