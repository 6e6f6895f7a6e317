import { describe, expect, it } from 'vitest';
import { defaultAdaptiveOptions, JITTER_MARGIN, onPace, onRateLimited, onSuccess } from '../../src/policies/adaptive-rate.ts';

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
