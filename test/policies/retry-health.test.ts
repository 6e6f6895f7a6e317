import { describe, expect, it } from 'vitest';
import { CallHealth, transientRetryDelay } from '../../src/policies/retry-health.ts';

const LONG = { baseDelayMs: 60_000, maxDelayMs: 30 * 60_000 };
const mid = () => 0.5;
const top = () => 0.999_999;

describe('transient retry delay by account health', () => {
  it.each([
    // attempt, calls, succeeded, random, expected
    ['healthy (85% succeed): first retry ~0.5 s', 1, 20, 17, mid, 375],
    ['healthy: second retry ~1 s', 2, 20, 17, mid, 750],
    ['healthy: fourth retry ~4 s', 4, 20, 17, mid, 3_000],
    ['healthy: capped at 5 s', 9, 20, 17, top, 4_999],
    ['exactly half succeed counts as healthy', 1, 20, 10, mid, 375],
    ['outage (20% succeed): the long schedule', 1, 20, 4, mid, 45_000],
    ['outage: never sooner than half the nominal wait (fewer calls into an outage than full jitter)', 1, 20, 4, () => 0, 30_000],
    ['outage: long schedule grows', 3, 20, 4, mid, 180_000],
    ['outage: capped by maxDelayMs', 12, 20, 4, top, 1_799_999],
    ['too few calls to judge: the long schedule', 1, 5, 5, mid, 45_000],
  ])('%s', (_name, attempt, calls, succeeded, random, expected) => {
    expect(transientRetryDelay(attempt, { calls, succeeded }, LONG, random)).toBe(expected);
  });

  it('is never longer than the long schedule (short test configs stay short)', () => {
    expect(transientRetryDelay(1, { calls: 20, succeeded: 20 }, { baseDelayMs: 20, maxDelayMs: 100 }, top)).toBeLessThanOrEqual(20);
    expect(transientRetryDelay(5, { calls: 20, succeeded: 20 }, { baseDelayMs: 20, maxDelayMs: 100 }, top)).toBeLessThanOrEqual(100);
  });

  it('keeps the last calls of a window', () => {
    const health = new CallHealth(4);
    for (const ok of [false, false, false, false]) health.record(ok);
    expect(health.recent()).toEqual({ calls: 4, succeeded: 0 });
    for (const ok of [true, true, true]) health.record(ok);
    expect(health.recent()).toEqual({ calls: 4, succeeded: 3 });
  });
});
