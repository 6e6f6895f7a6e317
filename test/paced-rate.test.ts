/**
 * The paced rate in plain words (issue 24): what the CLI's `stats`, the API's summary and the console say about an
 * account's rate, from what Redis holds. No Redis: the record is given as adapt-rate.lua writes it.
 */
import { describe, expect, it } from 'vitest';
import { formatStats, localClock } from '../src/cli/format.ts';
import { type AccountConfig, parseConfig } from '../src/config/load.ts';
import { pacedRateCell } from '../src/console/views.ts';
import { type PacedRate, pacedRateOf, pacedRateWords, perSecond, utcClock, wordsText } from '../src/paced-rate.ts';
import { closientSandbox } from '../src/providers/closient/sandbox.ts';
import { sutroSandbox } from '../src/providers/sutro/sandbox.ts';

const config = parseConfig({
  redis: { url: 'redis://127.0.0.1:1', prefix: 'words' },
  accounts: {
    closient: { provider: 'closient', baseUrl: 'http://127.0.0.1:1', ...closientSandbox.account, rateLimit: { max: 2, durationMs: 1000 } },
    sutro: { provider: 'sutro', baseUrl: 'http://127.0.0.1:1', ...sutroSandbox.account, rateLimit: { max: 2, durationMs: 1000 } },
    unlimited: { provider: 'closient', baseUrl: 'http://127.0.0.1:1', ...closientSandbox.account },
  },
});
const closient = config.accounts.closient as AccountConfig;
const T0 = Date.UTC(2026, 2, 2, 14, 2, 5);
const min = (m: number) => T0 + m * 60_000;
/** Times as "@HH:MM" (UTC), so the words read plainly. */
const say = (p: PacedRate | undefined, now = T0) => wordsText(pacedRateWords(p as PacedRate, now), (ms) => `@${new Date(ms).toISOString().slice(11, 16)}`);
const lowered429 = { from: '2.000', to: '0.500', reason: 'rate_limited', at: String(T0), rateAt: String(T0) };

describe('the paced rate in words', () => {
  it('an account at its limit that never moved: its limit', () => {
    expect(say(pacedRateOf(closient, null, {}))).toBe('2/s, its limit');
  });

  it('slowed by a 429: the rate against the limit, when, and when it is back if calls keep succeeding', () => {
    const p = pacedRateOf(closient, '0.500', lowered429);
    // 1.5/s to win back at 0.01/s a second: 150 s.
    expect(p?.backToLimitAt).toBe(T0 + 150_000);
    expect(say(p)).toBe('0.5/s (limit 2/s) — slowed after a 429 at @14:02, back to 2/s around @14:04');
  });

  it('recovering: says the lowered rate it climbs from, and the estimate from when it last moved', () => {
    const p = pacedRateOf(closient, '1.200', { ...lowered429, rateAt: String(min(1)) });
    expect(say(p, min(1))).toBe('1.2/s (limit 2/s) — slowed to 0.5/s after a 429 at @14:02, recovering: back to 2/s around @14:04');
  });

  it('past the estimate with no call since: back as soon as calls resume (the rate rises with the next success)', () => {
    expect(say(pacedRateOf(closient, '0.500', lowered429), min(10))).toBe(
      '0.5/s (limit 2/s) — slowed after a 429 at @14:02, back to 2/s as soon as calls resume',
    );
  });

  it('back at the limit: the story, and when it ended', () => {
    const p = pacedRateOf(closient, null, { ...lowered429, recoveredAt: String(min(5)), rateAt: String(min(5)) });
    expect(p?.recoveredAt).toBe(min(5));
    expect(say(p)).toBe('2/s, its limit — slowed to 0.5/s after a 429 at @14:02, back to 2/s by @14:07');
  });

  it('slowed by RateLimit-Remaining / Reset: what the provider said', () => {
    const p = pacedRateOf(closient, '0.500', {
      from: '2.000',
      to: '0.500',
      reason: 'remaining',
      remaining: '5',
      resetMs: '10000',
      at: String(T0),
      rateAt: String(T0),
    });
    expect(p?.lowered).toEqual({ from: 2, to: 0.5, because: 'remaining', at: T0, remaining: 5, resetMs: 10_000 });
    expect(say(p)).toBe('0.5/s (limit 2/s) — slowed at @14:02: the provider said 5 calls left for 10 s (RateLimit-Remaining/Reset), back to 2/s around @14:04');
  });

  it('never above the limit: a rate stored before the limit was lowered reads as the limit', () => {
    expect(pacedRateOf(closient, '5.000', {})?.rate).toBe(2);
  });

  it('several invites per call (Sutro): paced at its limit, not adapted; no limit: nothing to say', () => {
    expect(say(pacedRateOf(config.accounts.sutro as AccountConfig, '0.500', lowered429))).toBe(
      '2/s, its limit (not adapted: each call carries several invites)',
    );
    expect(pacedRateOf(config.accounts.unlimited as AccountConfig, null, {})).toBeUndefined();
  });

  it('rates read plainly, times in UTC for the API with the date when not today', () => {
    expect([0.05, 0.5, 1.25, 1.2345, 100].map(perSecond)).toEqual(['0.05/s', '0.5/s', '1.25/s', '1.23/s', '100/s']);
    expect(utcClock(T0, T0)).toBe('14:02 UTC');
    expect(utcClock(T0, T0 + 86_400_000)).toBe('2026-03-02 14:02 UTC');
  });
});

describe('where it is read', () => {
  const p = pacedRateOf(closient, '0.500', lowered429);
  const stats = {
    account: 'closient',
    provider: 'closient',
    waiting: 3,
    active: 1,
    delayed: 0,
    completed: 10,
    failed: 0,
    paused: false,
    rateLimitWaitMs: 0,
    oldestWaitingMs: 0,
  };

  it('the CLI: a line under the account, in this machine’s time zone', () => {
    const lines = formatStats(
      [
        { ...stats, pacing: { ...(p as PacedRate), summary: '' } },
        { ...stats, account: 'quiet' },
      ],
      T0,
    );
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe(`  rate 0.5/s (limit 2/s) — slowed after a 429 at ${localClock(T0, T0)}, back to 2/s around ${localClock(T0 + 150_000, T0)}`);
    expect(lines[3]).toMatch(/^quiet\s/);
    expect(localClock(T0, T0)).toMatch(/^\d\d:\d\d$/);
    expect(localClock(T0, T0 + 3 * 86_400_000)).toMatch(/^2026-03-0[123] \d\d:\d\d$/);
  });

  it('the console: the words, each time a <time> the page puts in the viewer’s zone', () => {
    expect(pacedRateCell(p, T0)).toBe(
      '0.5/s (limit 2/s) — slowed after a 429 at <time datetime="2026-03-02T14:02:05.000Z" data-clock>14:02 UTC</time>, back to 2/s around <time datetime="2026-03-02T14:04:35.000Z" data-clock>14:04 UTC</time>',
    );
    expect(pacedRateCell(undefined)).toBe('<small>no limit</small>');
  });
});
