import { describe, expect, it } from 'vitest';
import { defaultAdaptiveOptions, JITTER_MARGIN, MARGIN_CAP_MS, marginOf, onPace, onRateLimited, onSuccess } from '../../src/policies/adaptive-rate.ts';

/** The interval pace-call.lua puts between two calls of an account, µs. */
const intervalUs = (rate: number) => Math.ceil((1_000_000 * JITTER_MARGIN) / rate);

/** The most calls any sliding window of `windowUs` can hold when calls are `interval` apart and each may be up to `lateUs` late. */
const worstSlidingWindow = (interval: number, windowUs: number, lateUs: number) => Math.floor((windowUs + lateUs - 1) / interval) + 1;

describe('call pacing (src/redis-scripts/pace-call.lua)', () => {
  it.each([1, 3, 5, 10, 20, 45, 49, 50, 99, 100, 120, 200, 240, 1000])(
    'never lets a sliding second see more than %i/s, with calls up to 29 ms late',
    (rate) => {
      expect(worstSlidingWindow(intervalUs(rate), 1_000_000, 0)).toBeLessThanOrEqual(rate);
      expect(worstSlidingWindow(intervalUs(rate), 1_000_000, 29_000)).toBeLessThanOrEqual(rate);
    },
  );

  it('keeps 95% of the rate available: the 5% margin is the only slack (no fixed windows)', () => {
    for (const rate of [5, 10, 20, 45, 50, 100, 120, 200, 240, 1000]) {
      expect(1_000_000 / intervalUs(rate) / rate).toBeGreaterThan(0.95 - 1e-9);
    }
  });

  it('keeps 5% of a window, but at most 100 ms: long windows lose 100 ms per window, not 5%', () => {
    expect(marginOf({ durationMs: 1_000 })).toBe(JITTER_MARGIN);
    expect(marginOf({ durationMs: 2_000 })).toBeCloseTo(1.05, 12);
    // 1 call / 4 s: calls 4.1 s apart (was 4.2 s); 1 call / 40 s: 40.1 s (was 42 s).
    expect(4_000 * marginOf({ durationMs: 4_000 })).toBeCloseTo(4_000 + MARGIN_CAP_MS, 9);
    expect(40_000 * marginOf({ durationMs: 40_000 })).toBeCloseTo(40_000 + MARGIN_CAP_MS, 9);
    // The absolute slack never falls below what a 1 s window keeps (50 ms): lateness is time, not a share.
    for (const durationMs of [500, 1_000, 2_000, 4_000, 10_000, 60_000, 3_600_000]) {
      expect(durationMs * (marginOf({ durationMs }) - 1)).toBeGreaterThanOrEqual(Math.min(0.05 * durationMs, MARGIN_CAP_MS) - 1e-6);
    }
    expect(marginOf(undefined)).toBe(JITTER_MARGIN);
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
