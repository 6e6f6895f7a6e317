/**
 * The rate an account actually sends at, adapted to what the provider accepts (AIMD): it starts at the
 * configured ceiling, drops on a 429 to just above the rate that was succeeding (and always by at least 5%),
 * and probes back up slowly while calls succeed: `increasePerSecond` for each second since it last moved, counted
 * in Redis time by src/redis-scripts/adapt-rate.lua (the rate is shared by the account's processes), never above
 * the ceiling. RateLimit-Remaining / Reset, when sent, cap it before a 429 happens. Pure: state in, state out.
 */

export interface AdaptiveRateOptions {
  /** The configured limit, calls per second: never exceeded. */
  ceiling: number;
  /** Never adapt below this (calls per second). */
  floor: number;
  /** Additive increase while calls succeed, calls per second per second. */
  increasePerSecond: number;
}

export interface RateState {
  /** Calls per second. */
  rate: number;
  /** When the rate last changed (epoch ms). */
  changedAt: number;
}

/** Never below 1% of the limit (and 0.05/s); back up by 0.5% of the limit per second (a halved rate recovers in 100 s). */
export function defaultAdaptiveOptions(ceiling: number): AdaptiveRateOptions {
  return { ceiling, floor: Math.max(ceiling / 100, 0.05), increasePerSecond: ceiling * 0.005 };
}

const clamp = (rate: number, o: AdaptiveRateOptions) => Math.min(o.ceiling, Math.max(o.floor, rate));

/**
 * A 429: the provider's sustained capacity is about what was succeeding just before it. Aim a little above
 * that (a token bucket refilled during the wait is then used up slowly, not wasted), but always at least 5%
 * lower than before; with no recent successes, halve.
 */
export function onRateLimited(state: RateState, observedRate: number, now: number, o: AdaptiveRateOptions): RateState {
  const target = observedRate > 0 ? Math.min(observedRate * 1.02, state.rate * 0.95) : state.rate * 0.5;
  return { rate: clamp(target, o), changedAt: now };
}

/**
 * Calls succeed: probe upward, by `increasePerSecond` for each second since the last change. The rule; the
 * shared rate is raised by src/redis-scripts/adapt-rate.lua, which applies it in Redis time (test/worker/pacer.test.ts
 * checks the two agree).
 */
export function onSuccess(state: RateState, now: number, o: AdaptiveRateOptions): RateState {
  const elapsed = (now - state.changedAt) / 1000;
  if (elapsed < 1 || state.rate >= o.ceiling) return state;
  return { rate: clamp(state.rate + o.increasePerSecond * elapsed, o), changedAt: now };
}

/** While below the ceiling: when calls succeeding all along bring it back there (epoch ms). */
export function backAtCeilingAt(state: RateState, o: AdaptiveRateOptions): number {
  if (state.rate >= o.ceiling) return state.changedAt;
  return Math.round(state.changedAt + ((o.ceiling - state.rate) / o.increasePerSecond) * 1000);
}

/** The provider said how many calls are left before its window resets: do not plan to send more. */
export function onPace(state: RateState, remaining: number, resetMs: number, now: number, o: AdaptiveRateOptions): RateState {
  if (resetMs <= 0) return state;
  const sustainable = remaining / (resetMs / 1000);
  if (sustainable >= state.rate) return state;
  return { rate: clamp(sustainable, o), changedAt: now };
}

/**
 * Calls are spaced `JITTER_MARGIN / rate` apart and a window must hold its `max` starts in `JITTER_MARGIN ×
 * durationMs` (src/redis-scripts/pace-call.lua): 5% under the rate. Starts are recorded when each request is written,
 * so a worker's own stalls are covered; the margin covers the rest: the network, and the provider stamping late.
 * Measured with two CPU hogs (fault test 4, two processes at 10/s, the fake provider stamping in a busy process):
 * at 3%, 11 calls in a sliding second in 2 runs of 13 (tightest 11-call span 1,024 ms of the 1,030 planned).
 */
export const JITTER_MARGIN = 1.05;

/**
 * What the margin absorbs is time, not a share of the window: the moment between a write and its record, the
 * network, a provider stamping late — tens of ms (the tightest 11-call span at 10/s used 32 ms of its 50). So the
 * margin of a window is 5% but at most MARGIN_CAP_MS: a limit of 1 call per 40 s keeps 100 ms, not 2 s, between
 * its calls (issue 24: 1,000 accounts at 1 call / 4 s spent 5% of their time on the margin alone).
 */
export const MARGIN_CAP_MS = 100;

/** The pacing margin of a limit (a factor ≥ 1): JITTER_MARGIN, or less for windows over 2 s (MARGIN_CAP_MS). */
export function marginOf(limit: { durationMs: number } | undefined): number {
  if (limit === undefined || limit.durationMs <= 0) return JITTER_MARGIN;
  return 1 + Math.min(JITTER_MARGIN - 1, MARGIN_CAP_MS / limit.durationMs);
}
