import { describe, expect, it } from 'vitest';
import { limiterFor, UNLIMITED } from '../../src/policies/limiter.ts';

/** The most calls any window of `windowMs` (wherever it starts) can hold when jobs follow the limiter. */
function worstSlidingWindow(limiter: { max: number; duration: number }, windowMs: number): number {
  // Worst case for fixed windows: a full window's burst at its very end, then the next window's at its start.
  if (limiter.max === 1) return Math.floor((windowMs - 1) / limiter.duration) + 1;
  return limiter.max * (Math.floor((windowMs - 1) / limiter.duration) + 2);
}

describe('limiter policy', () => {
  it('never binds without a configured limit, but exists (so queue-wide holds are honoured)', () => {
    expect(limiterFor(undefined)).toEqual({ max: UNLIMITED, duration: 1000 });
  });
  it.each([
    [
      { max: 5, durationMs: 1000 },
      { max: 1, duration: 210 },
    ],
    [
      { max: 10, durationMs: 1000 },
      { max: 1, duration: 105 },
    ],
    [
      { max: 300, durationMs: 60_000 },
      { max: 1, duration: 210 },
    ],
    [
      { max: 3, durationMs: 1000 },
      { max: 1, duration: 350 },
    ],
  ])('spaces %j as one call per %j', (rate, limiter) => expect(limiterFor(rate)).toEqual(limiter));

  it.each([
    [5, 1000],
    [10, 1000],
    [3, 1000],
    [300, 60_000],
    [200, 1000],
  ])('never lets a sliding window of the duration see more than the limit (%i per %i ms)', (max, durationMs) => {
    expect(worstSlidingWindow(limiterFor({ max, durationMs }), durationMs)).toBeLessThanOrEqual(max);
    // whereas BullMQ's plain fixed window would allow twice the limit
    expect(worstSlidingWindow({ max, duration: durationMs }, durationMs)).toBe(2 * max);
  });

  it('keeps the fixed window above 500/s, where millisecond spacing is too coarse', () => {
    expect(limiterFor({ max: 2000, durationMs: 1000 })).toEqual({ max: 2000, duration: 1000 });
  });
});
