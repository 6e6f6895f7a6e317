/**
 * The rate an account actually sends at, adapted to what the provider accepts (AIMD): it starts at the
 * configured ceiling, drops on a 429 to just above the rate that was succeeding (and always by at least 5%),
 * and probes back up slowly while calls succeed. RateLimit-Remaining / Reset, when sent, cap it before a 429
 * happens. Pure: state in, state out.
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

/** Calls succeed: probe upward, by `increasePerSecond` for each second since the last change. */
export function onSuccess(state: RateState, now: number, o: AdaptiveRateOptions): RateState {
  const elapsed = (now - state.changedAt) / 1000;
  if (elapsed < 1 || state.rate >= o.ceiling) return state;
  return { rate: clamp(state.rate + o.increasePerSecond * elapsed, o), changedAt: now };
}

/** The provider said how many calls are left before its window resets: do not plan to send more. */
export function onPace(state: RateState, remaining: number, resetMs: number, now: number, o: AdaptiveRateOptions): RateState {
  if (resetMs <= 0) return state;
  const sustainable = remaining / (resetMs / 1000);
  if (sustainable >= state.rate) return state;
  return { rate: clamp(sustainable, o), changedAt: now };
}

/**
 * Calls are spaced `JITTER_MARGIN / rate` apart (src/redis-scripts/pace-call.lua): 3% under the rate, so a call that
 * starts up to 30 ms late (timers, event loop, GC) never puts one call too many into a sliding second at the
 * provider (at exact spacing, two processes at 10/s put 11 calls in a second in 3 runs of 4).
 */
export const JITTER_MARGIN = 1.03;
