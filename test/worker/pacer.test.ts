/**
 * The paced rate's record (issue 24, "adaptive rate explained"): next to the rate every worker process of an
 * account reads, Redis keeps why and when it last moved, written in the same script as the rate, so the processes
 * of an account tell one story that follows the shared rate. Time passing is played by moving the record's
 * `rateAt` back (the raise counts Redis time since the rate last moved), not by sleeping.
 */
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type AccountConfig, parseConfig } from '../../src/config/load.ts';
import { type PacedRate, pacedRateOf, pacedRateWords, utcClock, wordsText } from '../../src/paced-rate.ts';
import { defaultAdaptiveOptions, onSuccess } from '../../src/policies/adaptive-rate.ts';
import { closientSandbox } from '../../src/providers/closient/sandbox.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { AccountPacer } from '../../src/worker/pacer.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { monitorRedis } from '../support/redis-monitor.ts';

const redis = useRedis(import.meta.url);
const a = redis.connect();
const b = redis.connect();
afterAll(async () => {
  await a.quit();
  await b.quit();
});
const logger = pino({ level: 'silent' });
const keys = invitebusKeys(redis.prefix);
let n = 0;
let account = '';
const rateKey = () => keys.pacedRate(account);
const record = () => a.hgetall(keys.pacedRateChange(account));
const stored = async () => {
  const v = await a.get(rateKey());
  return v === null ? undefined : Number(v);
};
/** Moves the moment the shared rate last moved `ms` into the past, as if that much time had gone by. */
const age = async (ms: number) => {
  await a.hincrby(keys.pacedRateChange(account), 'rateAt', -ms);
};
const redisNow = async () => {
  const [s, us] = await a.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
};
const config = parseConfig({
  redis: { url: redis.url, prefix: redis.prefix },
  accounts: { closient: { provider: 'closient', baseUrl: 'http://127.0.0.1:1', ...closientSandbox.account, rateLimit: { max: 2, durationMs: 1000 } } },
});

const closient = config.accounts.closient as AccountConfig;

beforeEach(() => {
  n += 1;
  account = `acct${n}`;
});

describe('the paced rate and why it moved', () => {
  it('records a 429: from the limit to the lowered rate, why, and when (Redis time)', async () => {
    const pacer = new AccountPacer(a, rateKey(), 2, logger);
    await pacer.start();
    const before = await redisNow();
    await pacer.rateLimited();
    const after = await redisNow();
    // No success seen in this process: halved.
    expect(await stored()).toBe(1);
    const r = await record();
    expect(r).toMatchObject({ from: '2.000', to: '1.000', reason: 'rate_limited' });
    expect(Number(r.at)).toBeGreaterThanOrEqual(before);
    expect(Number(r.at)).toBeLessThanOrEqual(after);
    expect(r.recoveredAt).toBeUndefined();
    const paced = pacedRateOf(closient, await a.get(rateKey()), r);
    expect(paced).toMatchObject({ rate: 1, limit: 2, adaptive: true, lowered: { from: 2, to: 1, because: 'rate_limited', at: Number(r.at) } });
    // 0.01/s a second from 1/s: 100 s.
    expect(paced?.backToLimitAt).toBe(Number(r.at) + 100_000);
    expect(wordsText(pacedRateWords(paced as PacedRate, Number(r.at)), (ms) => utcClock(ms, Number(r.at)))).toBe(
      `1/s (limit 2/s) — slowed after a 429 at ${utcClock(Number(r.at))}, back to 2/s around ${utcClock(Number(r.at) + 100_000, Number(r.at))}`,
    );
  });

  it('records what RateLimit-Remaining / Reset said when they lower it before any 429', async () => {
    const pacer = new AccountPacer(a, rateKey(), 2, logger);
    await pacer.start();
    await pacer.pace(5, 10_000);
    expect(await stored()).toBe(0.5);
    expect(await record()).toMatchObject({ from: '2.000', to: '0.500', reason: 'remaining', remaining: '5', resetMs: '10000' });
    // What allows more than the rate moves nothing, and reaches no Redis write.
    await pacer.pace(100, 10_000);
    expect(await stored()).toBe(0.5);
  });

  it("two processes hit by one burst of 429s: one step down, and the record is the shared rate's", async () => {
    const one = new AccountPacer(a, rateKey(), 2, logger);
    const two = new AccountPacer(b, rateKey(), 2, logger);
    await Promise.all([one.start(), two.start()]);
    // One process saw 1.5 successes a second before its 429 (just above: 1.53/s), the other none (halves).
    for (const at of [Date.now() - 1500, Date.now() - 1000, Date.now() - 500]) one.success(at);
    await Promise.all([one.rateLimited(), two.rateLimited()]);
    const rate = await stored();
    const r = await record();
    // Whichever came first set the rate (1.53 or 1); the other, the same signal, moved nothing more.
    expect([1.53, 1]).toContain(rate);
    expect(r).toMatchObject({ from: '2.000', to: (rate as number).toFixed(3), reason: 'rate_limited' });
    // A 429 after the burst settled is a new signal: one more step, from the shared rate.
    await a.hincrby(keys.pacedRateChange(account), 'at', -2000);
    await two.rateLimited();
    expect(await stored()).toBe(Number(((rate as number) / 2).toFixed(3)));
    expect(await record()).toMatchObject({ from: (rate as number).toFixed(3), reason: 'rate_limited' });
  });

  it('recovers from the shared rate by Redis time since it last moved, once however many processes succeed', async () => {
    const one = new AccountPacer(a, rateKey(), 2, logger);
    const two = new AccountPacer(b, rateKey(), 2, logger);
    await Promise.all([one.start(), two.start()]);
    await one.rateLimited();
    const lowered = await record();
    await age(10_000);
    const rateAt = Number((await record()).rateAt);
    one.success();
    two.success();
    await waitFor(async () => ((await stored()) ?? 0) > 1 || undefined, 5_000, 'the rate to rise');
    // Both processes succeeded; the rate rose once by 10 s of 0.01/s, as the pure rule says.
    const o = defaultAdaptiveOptions(2);
    const r = await record();
    const expected = onSuccess({ rate: 1, changedAt: rateAt }, Number(r.rateAt), o).rate;
    expect(await stored()).toBeCloseTo(expected, 2);
    expect(await stored()).toBeLessThan(1.15);
    // The lowering is still the story; the rate is recovering toward the limit.
    expect(r).toMatchObject({ from: lowered.from, to: lowered.to, reason: 'rate_limited', at: lowered.at });
    const paced = pacedRateOf(closient, await a.get(rateKey()), r);
    expect(wordsText(pacedRateWords(paced as PacedRate, Number(r.rateAt)), () => 'T')).toMatch(
      /^1\.1\/s \(limit 2\/s\) — slowed to 1\/s after a 429 at T, recovering: back to 2\/s around T$/,
    );
  });

  it('back at the limit: the rate key is gone (paced at the configured limit) and the record says when', async () => {
    const pacer = new AccountPacer(a, rateKey(), 2, logger);
    await pacer.start();
    await pacer.rateLimited();
    await age(1_000_000);
    const before = await redisNow();
    pacer.success();
    await waitFor(async () => (await record()).recoveredAt, 5_000, 'the record to say it recovered');
    expect(await stored()).toBeUndefined();
    const r = await record();
    expect(Number(r.recoveredAt)).toBeGreaterThanOrEqual(before);
    expect(pacer.rate).toBe(2);
    const paced = pacedRateOf(closient, await a.get(rateKey()), r);
    expect(paced).toMatchObject({ rate: 2, recoveredAt: Number(r.recoveredAt) });
    expect(wordsText(pacedRateWords(paced as PacedRate), () => 'T')).toBe('2/s, its limit — slowed to 1/s after a 429 at T, back to 2/s by T');
    // A later 429 starts a new story from the limit (one success seen in the last 2 s: just above 0.5/s).
    await pacer.rateLimited();
    expect(await record()).toMatchObject({ from: '2.000', to: '0.510' });
    expect((await record()).recoveredAt).toBeUndefined();
  });
});

describe('what a pacer asks Redis', () => {
  /** The commands touching the account's paced rate while `act` runs, as Redis's MONITOR saw them. */
  const seenWhile = async (act: () => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    const monitor = await monitorRedis(redis.url, (args) => {
      if (args.some((arg) => arg === rateKey())) seen.push(String(args[0]).toLowerCase());
    });
    try {
      await act();
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      monitor.close();
    }
    return seen;
  };

  it('a pacer that joined the account at its limit does not ask to raise it at its first success (a start per call costs one read)', async () => {
    // Issue 24 (bench `accounts`, limit-bound): an account worker started for each call, and its new pacer ran the
    // adapt-rate script at its first success, to find the rate already at the limit: one script per call for nothing.
    const seen = await seenWhile(async () => {
      const pacer = new AccountPacer(a, rateKey(), 2, logger);
      await pacer.start();
      pacer.success();
    });
    expect(seen).toEqual(['get']);
  });

  it('a pacer that joined a lowered rate probes it upward at its first success', async () => {
    await a.set(rateKey(), '0.5');
    const seen = await seenWhile(async () => {
      const pacer = new AccountPacer(a, rateKey(), 2, logger);
      await pacer.start();
      pacer.success();
    });
    expect(seen[0]).toBe('get');
    expect(seen.slice(1).some((c) => c === 'evalsha' || c === 'eval')).toBe(true);
  });
});
