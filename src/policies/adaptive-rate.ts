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
 * BullMQ's limiter for a rate. BullMQ counts jobs in fixed windows, which would let two windows' bursts meet
 * in one second (up to twice the rate), so jobs are spaced instead. Up to 50/s: one job per 1/rate, paced 3%
 * under the rate so scheduling jitter never squeezes an extra call into a second at the provider (at exact
 * spacing, two processes at 10/s put 11 calls in a second in 3 runs of 4). Above: `max` jobs per ~20 ms window,
 * sized so that even a burst at each end of a second stays under the rate.
 */
export const JITTER_MARGIN = 1.03;

export function limiterForRate(rate: number): { max: number; duration: number } {
  if (rate <= 50) return { max: 1, duration: Math.max(1, Math.ceil((1000 / rate) * JITTER_MARGIN)) };
  const max = Math.ceil(rate / 50);
  return { max, duration: Math.ceil((max * 1000) / (rate - 2 * max)) };
}
