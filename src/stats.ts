import { Queue } from 'bullmq';
import { queueOptions } from './bullmq-options.ts';
import type { AccountConfig } from './config/load.ts';
import { accountOf } from './config/load.ts';
import { type PacedRate, pacedRateWords, readPacedRates, utcClock, wordsText } from './paced-rate.ts';
import type { Producer } from './producer.ts';
import { invitebusKeys } from './redis.ts';

/** One account's queue as an operator sees it. */
export interface AccountStats {
  account: string;
  provider: string;
  waiting: number;
  active: number;
  delayed: number;
  /** Successes still retained: whole completed jobs (an earlier version's) and sent records, by day. */
  completed: number;
  failed: number;
  paused: boolean;
  pausedReason?: string;
  pausedMessage?: string;
  /** How long the account still waits on a provider's rate limit (429 or spent window), ms; 0 when none. */
  rateLimitWaitMs: number;
  /** How long the oldest waiting invite has waited, ms (0 when none waits): the queue's age. */
  oldestWaitingMs: number;
  /**
   * The rate its calls go out at against its limit, and why and when it last moved (absent with no `rateLimit`);
   * `summary` says it in words, times in UTC: "0.5/s (limit 2/s) — slowed after a 429 at 14:02 UTC, ...".
   */
  pacing?: PacedRate & { summary: string };
  /** Since when it is paused (epoch ms), when it is. */
  pausedAt?: number;
  /** The configured limit, when the account has one. */
  rateLimit?: { max: number; durationMs: number };
  /** The rate its calls are paced at now, calls per second (the adapted rate, at most the limit), when stored. */
  pacedRate?: number;
  /**
   * Not in the config any more, but its queue still holds invites (left waiting when it was removed): listed by
   * `removedAccountStats` only.
   */
  removed?: true;
}

/**
 * Since when a waiting invite has waited: since it was queued, or for a scheduled one (a start date) since its
 * time came. An invite queued three weeks ahead and due a minute ago has waited a minute, not three weeks:
 * the queue-age alert must not fire on the day a cohort's invites fall due.
 */
function waitingSince(job: { timestamp: number; data?: unknown }): number {
  const scheduledFor = (job.data as { scheduledFor?: unknown } | undefined)?.scheduledFor;
  return typeof scheduledFor === 'number' && Number.isFinite(scheduledFor) ? Math.max(job.timestamp, scheduledFor) : job.timestamp;
}

/**
 * The successes whose sent records are still kept (src/invites/sent-record.ts): the days of the account's sent
 * count within the success retention (whole days: the oldest day counts until its last record expires).
 */
function sentRetained(byDay: Record<string, string>, retentionSec: number): number {
  const oldest = Math.floor(Date.now() / 86_400_000) - Math.ceil(retentionSec / 86_400);
  return Object.entries(byDay).reduce((sum, [day, n]) => (Number(day) >= oldest ? sum + Number(n) : sum), 0);
}

/** One account's queue read from Redis; `provider` and `rateLimit` from the config, or (removed) from its oldest invite. */
async function readStats(producer: Producer, queue: Queue, configured: AccountConfig | undefined): Promise<AccountStats> {
  const keys = invitebusKeys(producer.config.redis.prefix);
  const account = queue.name;
  const now = Date.now();
  const [counts, paused, state, holdTtl, [oldest], [pacing], sentByDay] = await Promise.all([
    queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
    queue.isPaused(),
    producer.redis.hgetall(keys.accountState(account)),
    // queue.rateLimit() stores MAX_SAFE_INTEGER; ordinary limiter counts are far below it.
    queue.getRateLimitTtl(Number.MAX_SAFE_INTEGER),
    queue.getJobs(['wait'], 0, 0, true),
    configured ? readPacedRates(producer.redis, producer.config.redis.prefix, [configured]) : [undefined],
    producer.redis.hgetall(keys.sentCount(account)),
  ]);
  const provider = configured?.provider ?? (oldest?.data as { provider?: unknown } | undefined)?.provider;
  return {
    account,
    provider: typeof provider === 'string' ? provider : 'unknown',
    waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
    active: counts.active ?? 0,
    delayed: counts.delayed ?? 0,
    completed: (counts.completed ?? 0) + sentRetained(sentByDay, producer.config.retention.completedAgeSec),
    failed: counts.failed ?? 0,
    paused,
    ...(paused && state.reason ? { pausedReason: state.reason } : {}),
    ...(paused && state.message ? { pausedMessage: state.message } : {}),
    ...(paused && state.at ? { pausedAt: Number(state.at) } : {}),
    rateLimitWaitMs: Math.max(0, holdTtl),
    oldestWaitingMs: oldest?.timestamp ? Math.max(0, Date.now() - waitingSince(oldest)) : 0,
    ...(configured?.rateLimit ? { rateLimit: configured.rateLimit } : {}),
    ...(pacing && pacing.rate < pacing.limit ? { pacedRate: pacing.rate } : {}),
    ...(pacing ? { pacing: { ...pacing, summary: wordsText(pacedRateWords(pacing, now), (ms) => utcClock(ms, now)) } } : {}),
    ...(configured === undefined ? { removed: true as const } : {}),
  };
}

export async function accountStats(producer: Producer, accounts = Object.keys(producer.config.accounts)): Promise<AccountStats[]> {
  return Promise.all(
    accounts.map((name) => {
      return readStats(producer, producer.queue(name), accountOf(producer.config, name));
    }),
  );
}

/**
 * Accounts that are no longer configured but still hold unfinished invites (waiting, scheduled, active) or
 * failed ones: found from the set of accounts invites were ever queued for (one SMEMBERS), not by scanning keys.
 */
export async function removedAccountStats(producer: Producer): Promise<AccountStats[]> {
  const known = await producer.redis.smembers(invitebusKeys(producer.config.redis.prefix).accounts);
  const gone = known.filter((name) => !Object.hasOwn(producer.config.accounts, name)).sort();
  const stats = await Promise.all(
    gone.map(async (name) => {
      const queue = new Queue(name, { connection: producer.redis, ...queueOptions(producer.config) });
      try {
        return await readStats(producer, queue, undefined);
      } finally {
        await queue.close();
      }
    }),
  );
  return stats.filter((s) => s.waiting + s.active + s.delayed + s.failed > 0);
}
