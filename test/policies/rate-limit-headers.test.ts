import { describe, expect, it } from 'vitest';
import { capWait, paceFromHeaders, parseIetfRateLimit, parseResetValue, parseRetryAfter, requestedWaitMs } from '../../src/policies/rate-limit-headers.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('Retry-After', () => {
  it.each([
    ['2', 2000],
    ['0', 0],
    ['120', 120_000],
    ['1.5', 1500],
    [' 7 ', 7000],
  ])('reads delta-seconds %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, undefined, NOW)).toBe(ms);
  });

  it('reads an HTTP-date relative to the response Date header, not the local clock', () => {
    // The provider's clock is 1 hour behind ours; it asks for 30 s after its own now.
    expect(parseRetryAfter('Sat, 21 Nov 2026 11:00:30 GMT', 'Sat, 21 Nov 2026 11:00:00 GMT', NOW)).toBe(30_000);
  });

  it('reads an HTTP-date relative to the local clock when there is no Date header', () => {
    expect(parseRetryAfter('Sat, 21 Nov 2026 12:00:05 GMT', undefined, NOW)).toBe(5000);
  });

  it('treats a date in the past as no wait', () => {
    expect(parseRetryAfter('Sat, 21 Nov 2026 11:59:00 GMT', undefined, NOW)).toBe(0);
  });

  it.each(['', 'soon', '-5', 'NaN', '12abc', 'Mon, 99 Foo 2026'])('ignores garbage %j', (value) => {
    expect(parseRetryAfter(value, undefined, NOW)).toBeUndefined();
  });
});

describe('X-RateLimit-Reset', () => {
  it('reads epoch seconds', () => expect(parseResetValue(String(NOW / 1000 + 42), NOW)).toBe(42_000));
  it('reads epoch milliseconds', () => expect(parseResetValue(String(NOW + 1500), NOW)).toBe(1500));
  it('reads a small value as delta seconds', () => expect(parseResetValue('30', NOW)).toBe(30_000));
  it('treats a past epoch as no wait', () => expect(parseResetValue(String(NOW / 1000 - 10), NOW)).toBe(0));
  it('ignores garbage', () => expect(parseResetValue('tomorrow', NOW)).toBeUndefined());
});

describe('IETF RateLimit', () => {
  it('reads r and t from the structured-field form', () => {
    expect(parseIetfRateLimit('"default";r=0;t=30')).toEqual({ remaining: 0, resetMs: 30_000 });
  });
  it('reads the older limit/remaining/reset form', () => {
    expect(parseIetfRateLimit('limit=100, remaining=4, reset=9')).toEqual({ remaining: 4, resetMs: 9000 });
  });
  it('ignores a header without r or t', () => expect(parseIetfRateLimit('"default";q=100')).toBeUndefined());
});

describe('requestedWaitMs precedence', () => {
  it('prefers Retry-After over every reset header', () => {
    expect(requestedWaitMs({ 'retry-after': '3', 'ratelimit-reset': '50', 'x-ratelimit-reset': String(NOW / 1000 + 90) }, NOW)).toBe(3000);
  });
  it('falls back to IETF RateLimit t=', () => {
    expect(requestedWaitMs({ ratelimit: '"burst";r=0;t=4', 'ratelimit-reset': '50' }, NOW)).toBe(4000);
  });
  it('falls back to RateLimit-Reset as relative seconds', () => {
    expect(requestedWaitMs({ 'ratelimit-reset': '50' }, NOW)).toBe(50_000);
  });
  it('falls back to X-RateLimit-Reset', () => {
    expect(requestedWaitMs({ 'x-ratelimit-reset': String(NOW / 1000 + 9) }, NOW)).toBe(9000);
  });
  it('skips a garbage Retry-After and uses the next signal', () => {
    expect(requestedWaitMs({ 'retry-after': 'later', 'ratelimit-reset': '5' }, NOW)).toBe(5000);
  });
  it('says nothing when no signal is present', () => expect(requestedWaitMs({}, NOW)).toBeUndefined());
});

describe('pace and caps', () => {
  it('reads RateLimit-Remaining with RateLimit-Reset (Closient style)', () => {
    expect(paceFromHeaders({ 'ratelimit-remaining': '0', 'ratelimit-reset': '12', 'ratelimit-policy': '300;w=60' }, NOW)).toEqual({
      remaining: 0,
      resetMs: 12_000,
    });
  });
  it('has no pace without a remaining count', () => expect(paceFromHeaders({ 'ratelimit-reset': '12' }, NOW)).toBeUndefined());
  it('caps a wait above the ceiling and says so', () => {
    expect(capWait(90_000_000, 3_600_000)).toEqual({ waitMs: 3_600_000, capped: true });
    expect(capWait(2000, 3_600_000)).toEqual({ waitMs: 2000, capped: false });
  });
});
