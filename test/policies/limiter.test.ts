import { describe, expect, it } from 'vitest';
import { defaultAdaptiveOptions, limiterForRate, onPace, onRateLimited, onSuccess } from '../../src/policies/adaptive-rate.ts';
import { limiterFor, UNLIMITED } from '../../src/policies/limiter.ts';

/** The most calls any sliding window of `windowMs` can hold when jobs follow a fixed-window limiter. */
function worstSlidingWindow(limiter: { max: number; duration: number }, windowMs: number): number {
  // A window's burst at its very end, then every following window's burst at its start.
  return limiter.max * (Math.floor((windowMs - 1) / limiter.duration) + 1 + (limiter.max > 1 ? 1 : 0));
}

describe('limiter policy', () => {
  it('never binds without a configured limit, but exists (so queue-wide holds are honoured)', () => {
    expect(limiterFor(undefined)).toEqual({ max: UNLIMITED, duration: 1000 });
  });
  it.each([
    [5, 1000, { max: 1, duration: 206 }],
    [10, 1000, { max: 1, duration: 103 }],
    [300, 60_000, { max: 1, duration: 206 }],
    [3, 1000, { max: 1, duration: 344 }],
    [240, 1000, { max: 5, duration: 22 }],
  ])('paces %i per %i ms as %j', (max, durationMs, limiter) => expect(limiterFor({ max, durationMs })).toEqual(limiter));

  it.each([5, 10, 20, 49, 50, 99, 120, 200, 240, 1000])('never lets a sliding second see more than %i/s', (rate) => {
    expect(worstSlidingWindow(limiterForRate(rate), 1000)).toBeLessThanOrEqual(rate);
    // whereas BullMQ's plain fixed window would allow twice the limit
    expect(worstSlidingWindow({ max: rate, duration: 1000 }, 1000)).toBe(2 * rate);
  });

  it('keeps at least 90% of the rate available (millisecond windows cost the rest)', () => {
    for (const rate of [5, 10, 20, 50, 120, 200, 240, 1000]) {
      const l = limiterForRate(rate);
      expect((l.max * 1000) / l.duration / rate).toBeGreaterThan(0.9);
    }
  });
});

describe('adaptive rate (AIMD)', () => {
  const o = defaultAdaptiveOptions(24);
  it('on a 429 aims just above what was succeeding, at least 5% lower', () => {
    expect(onRateLimited({ rate: 24, changedAt: 0 }, 20, 1000, o)).toEqual({ rate: 20.4, changedAt: 1000 });
    expect(onRateLimited({ rate: 24, changedAt: 0 }, 24, 1000, o).rate).toBeCloseTo(22.8);
  });
  it('halves with no recent successes, never below the floor', () => {
    expect(onRateLimited({ rate: 24, changedAt: 0 }, 0, 1000, o).rate).toBe(12);
    expect(onRateLimited({ rate: 0.3, changedAt: 0 }, 0, 1000, o).rate).toBe(o.floor);
  });
  it('probes upward slowly while calls succeed, never above the ceiling', () => {
    const s = { rate: 20, changedAt: 0 };
    expect(onSuccess(s, 500, o)).toBe(s);
    expect(onSuccess(s, 10_000, o).rate).toBeCloseTo(21.2);
    expect(onSuccess({ rate: 23.99, changedAt: 0 }, 100_000, o).rate).toBe(24);
  });
  it('caps the rate at what RateLimit-Remaining allows until the reset', () => {
    expect(onPace({ rate: 24, changedAt: 0 }, 30, 10_000, 5, o)).toEqual({ rate: 3, changedAt: 5 });
    expect(onPace({ rate: 2, changedAt: 0 }, 30, 10_000, 5, o).rate).toBe(2);
  });
});
