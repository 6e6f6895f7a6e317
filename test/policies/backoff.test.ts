import { describe, expect, it } from 'vitest';
import { fullJitterDelay, rateLimitBackoff } from '../../src/policies/backoff.ts';

const opts = { baseDelayMs: 1000, maxDelayMs: 30_000 };

describe('full-jitter backoff', () => {
  it('draws from [0, base * 2^(n-1)]', () => {
    expect(fullJitterDelay(1, opts, () => 0.999)).toBe(999);
    expect(fullJitterDelay(3, opts, () => 0.5)).toBe(2000);
    expect(fullJitterDelay(3, opts, () => 0)).toBe(0);
  });
  it('never exceeds the maximum', () => {
    expect(fullJitterDelay(50, opts, () => 0.999999)).toBeLessThan(30_000);
  });
  it('spreads delays: 1000 draws for the same attempt are not all equal', () => {
    const draws = new Set(Array.from({ length: 1000 }, () => fullJitterDelay(4, opts)));
    expect(draws.size).toBeGreaterThan(500);
  });
  it('default retry policy (8 attempts, 60 s base, 30 min cap) spans about an hour at most', () => {
    const policy = { baseDelayMs: 60_000, maxDelayMs: 1_800_000 };
    const worst = Array.from({ length: 7 }, (_, i) => fullJitterDelay(i + 1, policy, () => 1)).reduce((a, b) => a + b, 0);
    expect(worst).toBe(5_460_000);
  });
});

describe('rate-limit backoff', () => {
  it('waits at least half the nominal wait, doubling per consecutive 429', () => {
    expect(rateLimitBackoff(1, opts, () => 0)).toBe(500);
    expect(rateLimitBackoff(2, opts, () => 0)).toBe(1000);
    expect(rateLimitBackoff(3, opts, () => 0.999)).toBe(5996);
  });
  it('never waits longer than maxDelayMs, however many 429s came in a row', () => {
    expect(rateLimitBackoff(50, opts, () => 0.999)).toBe(30_000);
    expect(rateLimitBackoff(5, opts, () => 0.999)).toBe(23_984);
    expect(rateLimitBackoff(50, opts, () => 0)).toBe(15_000);
  });
});
