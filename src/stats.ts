import { accountOf } from './config/load.ts';
import type { Producer } from './producer.ts';
import { invitebusKeys } from './redis.ts';

/** One account's queue as an operator sees it. */
export interface AccountStats {
  account: string;
  provider: string;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  paused: boolean;
  pausedReason?: string;
  pausedMessage?: string;
  /** How long the account still waits on a provider's rate limit (429 or spent window), ms; 0 when none. */
  rateLimitWaitMs: number;
  /** How long the oldest waiting invite has waited, ms (0 when none waits): the queue's age. */
  oldestWaitingMs: number;
}

export async function accountStats(producer: Producer, accounts = Object.keys(producer.config.accounts)): Promise<AccountStats[]> {
  const keys = invitebusKeys(producer.config.redis.prefix);
  return Promise.all(
    accounts.map(async (account) => {
      const queue = producer.queue(account);
      const [counts, paused, state, holdTtl, [oldest]] = await Promise.all([
        queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
        queue.isPaused(),
        producer.redis.hgetall(keys.accountState(account)),
        // queue.rateLimit() stores MAX_SAFE_INTEGER; ordinary limiter counts are far below it.
        queue.getRateLimitTtl(Number.MAX_SAFE_INTEGER),
        queue.getJobs(['wait'], 0, 0, true),
      ]);
      return {
        account,
        provider: accountOf(producer.config, account).provider,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        paused,
        ...(paused && state.reason ? { pausedReason: state.reason } : {}),
        ...(paused && state.message ? { pausedMessage: state.message } : {}),
        rateLimitWaitMs: Math.max(0, holdTtl),
        oldestWaitingMs: oldest?.timestamp ? Math.max(0, Date.now() - oldest.timestamp) : 0,
      };
    }),
  );
}
