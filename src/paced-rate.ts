/**
 * The paced rate as users read it: the rate an account's calls go out at now, its configured limit, and why and
 * when it last moved (the record src/redis-scripts/adapt-rate.lua keeps beside the rate), in data for the API and
 * in plain words for the CLI and the console: "0.5/s (limit 2/s) — slowed after a 429 at 14:02, back to 2/s
 * around 14:07".
 */
import type { AccountConfig } from './config/load.ts';
import { backAtCeilingAt, defaultAdaptiveOptions } from './policies/adaptive-rate.ts';
import { ratePerSecond } from './policies/limiter.ts';
import { adapterOf } from './providers/index.ts';
import { invitebusKeys } from './redis.ts';
import type { RedisClient } from './redis-connection/factory.ts';
import type { LoweredBecause } from './redis-scripts/adapt-rate.ts';

/** Why and when the paced rate was last lowered. */
export interface RateLowered {
  /** Calls per second before and after. */
  from: number;
  to: number;
  /** `rate_limited`: the provider answered 429; `remaining`: its RateLimit-Remaining / Reset said fewer calls were left. */
  because: LoweredBecause;
  /** Epoch ms (Redis time). */
  at: number;
  /** With `remaining`: the calls the provider said were left, and in how many ms its window reset. */
  remaining?: number;
  resetMs?: number;
}

/** An account's paced rate and its story. */
export interface PacedRate {
  /** Calls per second the account's calls go out at now (its limit unless lowered). */
  rate: number;
  /** The configured limit, calls per second: the paced rate never exceeds it. */
  limit: number;
  /**
   * Whether the rate adapts to the provider. One invite per call: yes. Several invites per call (Sutro): no, its
   * calls are paced at the limit and no 429 lowers it.
   */
  adaptive: boolean;
  /** The last lowering, if there was one. */
  lowered?: RateLowered;
  /** When the rate was back at the limit after that lowering (epoch ms). */
  recoveredAt?: number;
  /** While below the limit: when it is back at it, if calls keep succeeding (additive increase since it last moved). */
  backToLimitAt?: number;
}

/** Whether an account's rate adapts: it has a limit and its calls carry one invite each (src/worker/account-worker.ts). */
export function adaptsRate(account: AccountConfig): boolean {
  if (account.rateLimit === undefined) return false;
  return (adapterOf(account.provider).batching?.invitesPerCall(account.settings) ?? 1) <= 1;
}

const num = (v: string | null | undefined): number | undefined => {
  const n = v == null || v === '' ? Number.NaN : Number(v);
  return Number.isFinite(n) ? n : undefined;
};

/**
 * An account's paced rate from what Redis holds (`stored`: the rate key; `record`: its record hash); undefined
 * when the account has no limit. Pure, for the readers and the tests.
 */
export function pacedRateOf(account: AccountConfig, stored: string | null, record: Record<string, string>): PacedRate | undefined {
  if (account.rateLimit === undefined) return undefined;
  const limit = ratePerSecond(account.rateLimit);
  const adaptive = adaptsRate(account);
  const saved = num(stored);
  const rate = adaptive && saved !== undefined && saved > 0 ? Math.min(limit, saved) : limit;
  const [from, to, at] = [num(record.from), num(record.to), num(record.at)];
  const because = record.reason === 'rate_limited' || record.reason === 'remaining' ? record.reason : undefined;
  const remaining = num(record.remaining);
  const resetMs = num(record.resetMs);
  const lowered: RateLowered | undefined =
    adaptive && from !== undefined && to !== undefined && at !== undefined && because !== undefined
      ? {
          from,
          to,
          because,
          at,
          ...(because === 'remaining' && remaining !== undefined && resetMs !== undefined ? { remaining, resetMs } : {}),
        }
      : undefined;
  const recoveredAt = num(record.recoveredAt);
  const rateAt = num(record.rateAt) ?? lowered?.at;
  const below = rate < limit;
  return {
    rate,
    limit,
    adaptive,
    ...(lowered ? { lowered } : {}),
    ...(lowered && !below && recoveredAt !== undefined ? { recoveredAt } : {}),
    ...(below && rateAt !== undefined ? { backToLimitAt: backAtCeilingAt({ rate, changedAt: rateAt }, defaultAdaptiveOptions(limit)) } : {}),
  };
}

/** Every named account's paced rate, read in one round trip (undefined for an account with no limit). */
export async function readPacedRates(redis: RedisClient, prefix: string, accounts: readonly AccountConfig[]): Promise<Array<PacedRate | undefined>> {
  const keys = invitebusKeys(prefix);
  const pipeline = redis.pipeline();
  for (const a of accounts) {
    pipeline.get(keys.pacedRate(a.name));
    pipeline.hgetall(keys.pacedRateChange(a.name));
  }
  const replies = (await pipeline.exec()) ?? [];
  return accounts.map((account, i) => {
    const [rateErr, stored] = replies[2 * i] ?? [null, null];
    const [recordErr, record] = replies[2 * i + 1] ?? [null, {}];
    if (rateErr) throw rateErr;
    if (recordErr) throw recordErr;
    return pacedRateOf(account, (stored as string | null) ?? null, (record as Record<string, string>) ?? {});
  });
}

/** A piece of the words: text, or a moment the surface writes its own way (a console `<time>`, a local clock). */
export type Words = Array<string | { at: number }>;

/** A rate as said: "0.5/s", "1.25/s", "100/s". */
export const perSecond = (rate: number): string => `${Number(rate.toFixed(2))}/s`;

function cause(l: RateLowered, sayTo: boolean): Words {
  const to = sayTo ? ` to ${perSecond(l.to)}` : '';
  if (l.because === 'rate_limited') return [`slowed${to} after a 429 at `, { at: l.at }];
  const left =
    l.remaining === undefined || l.resetMs === undefined
      ? 'the provider said few calls were left'
      : `the provider said ${l.remaining} ${l.remaining === 1 ? 'call' : 'calls'} left for ${Number((l.resetMs / 1000).toFixed(1))} s`;
  return [`slowed${to} at `, { at: l.at }, `: ${left} (RateLimit-Remaining/Reset)`];
}

/**
 * The paced rate in plain words, times left to the surface:
 * - "2/s, its limit"; "2/s, its limit (not adapted: each call carries several invites)";
 * - "0.5/s (limit 2/s) — slowed after a 429 at 14:02, back to 2/s around 14:07";
 * - "1.2/s (limit 2/s) — slowed to 0.5/s after a 429 at 14:02, recovering: back to 2/s around 14:07";
 * - "2/s, its limit — slowed to 0.5/s after a 429 at 14:02, back to 2/s by 14:07".
 * `now`: past an estimate, the rate is back as soon as calls resume (it rises with the next success).
 */
export function pacedRateWords(p: PacedRate, now = Date.now()): Words {
  const limit = perSecond(p.limit);
  if (!p.adaptive) return [`${limit}, its limit (not adapted: each call carries several invites)`];
  const l = p.lowered;
  if (p.rate >= p.limit) {
    if (l === undefined) return [`${limit}, its limit`];
    return [`${limit}, its limit — `, ...cause(l, true), ...(p.recoveredAt === undefined ? [] : [`, back to ${limit} by `, { at: p.recoveredAt }])];
  }
  const head = `${perSecond(p.rate)} (limit ${limit})`;
  if (l === undefined) return [head];
  const recovering = Math.abs(p.rate - l.to) > 0.0005;
  const back: Words =
    p.backToLimitAt === undefined
      ? []
      : p.backToLimitAt <= now
        ? [`${recovering ? ', recovering:' : ','} back to ${limit} as soon as calls resume`]
        : [`${recovering ? ', recovering:' : ','} back to ${limit} around `, { at: p.backToLimitAt }];
  return [`${head} — `, ...cause(l, recovering), ...back];
}

/** Words as text, each moment written by `time`. */
export function wordsText(words: Words, time: (ms: number) => string): string {
  return words.map((w) => (typeof w === 'string' ? w : time(w.at))).join('');
}

/** A moment as the API's summary says it: "14:02 UTC" the same UTC day as `now`, else "2026-03-02 14:02 UTC". */
export function utcClock(ms: number, now = Date.now()): string {
  const iso = new Date(ms).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10);
  return `${sameDay ? iso.slice(11, 16) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`} UTC`;
}
