/**
 * Sutro: the rate limit counts calls, so addresses keep sharing calls under it (issue: provider fidelity,
 * part 2). BullMQ's limiter counts jobs, which spaced invites so far apart that every call carried one address.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { startProviderThread } from '../support/provider-thread.ts';
import { useRedis } from '../support/redis.ts';
import { maxInWindow } from '../support/timing.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();

async function setup(account: Record<string, unknown> = {}) {
  // On its own thread: calls are stamped as a provider would, not late whenever the test runner is busy.
  const fake = await startProviderThread({ provider: 'sutro' });
  cleanups.push(() => fake.close());
  const p = await startPipeline(
    redis,
    {
      su: {
        provider: 'sutro',
        baseUrl: fake.url,
        addressesPerCall: 25,
        rateLimit: { max: 20, durationMs: 1000 },
        credentials: { token: { env: 'SU' } },
        ...account,
      },
    },
    { workers: false },
  );
  cleanups.push(() => p.close());
  const start = async () => {
    const conn = redis.connect();
    const workers = await runWorkers(p.config, { env: { SU: 'sandbox-sutro-jwt' }, logger: pino({ level: 'silent' }), redis: conn, control: false });
    cleanups.push(async () => {
      await workers.close();
      await conn.quit();
    });
    return workers;
  };
  const calls = async () => (await fake.requests()).filter((r) => r.path === '/invitations');
  return { p, fake, start, calls };
}

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `hire${i}@example.com` }));

describe('Sutro under a rate limit', () => {
  it('60 waiting invites, 20 calls/s, 25 addresses per call: at most 4 calls in the first second carry all 60', async () => {
    const { p, start, calls } = await setup();
    await p.producer.inviteMany('su', people(60), { batchId: 'sixty' });
    await start();
    const events = await p.waitForInviteEvents(60, 15_000);
    expect(events.every((e) => e.outcome === 'invited')).toBe(true);
    expect(new Set(events.map((e) => e.inviteId)).size).toBe(60);
    const all = await calls();
    const first = all[0]?.at ?? 0;
    const firstSecond = all.filter((c) => c.at - first < 1000);
    const sizes = firstSecond.map((c) => (c.json as { emailAddresses: string[] }).emailAddresses.length);
    console.log(`sutro bar: calls=${all.length} firstSecondCalls=${firstSecond.length} sizes=${sizes.join(',')} mean=${(60 / all.length).toFixed(1)}`);
    expect(firstSecond.length).toBeLessThanOrEqual(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(60);
    expect(60 / all.length).toBeGreaterThanOrEqual(10);
  });

  it('two worker sets on one Redis never exceed 20 calls in any sliding second, and batching holds', async () => {
    const { p, start, calls } = await setup({ addressesPerCall: 5 });
    await p.producer.inviteMany('su', people(300), { batchId: 'three-hundred' });
    await Promise.all([start(), start()]);
    await p.waitForInviteEvents(300, 30_000);
    const times = (await calls()).map((c) => c.at);
    const worst = maxInWindow(times, 1000);
    console.log(`sutro two workers: calls=${times.length} worstSlidingSecond=${worst} mean=${(300 / times.length).toFixed(1)}`);
    expect(worst).toBeLessThanOrEqual(20);
    expect(300 / times.length).toBeGreaterThanOrEqual(4);
  });

  it('a 429 still holds the whole account', async () => {
    const { p, fake, start, calls } = await setup({ addressesPerCall: 10 });
    await fake.script({ status: 429, headers: { 'retry-after': '1' }, body: { message: 'wait until the limit resets' } });
    await p.producer.inviteMany('su', people(40), { batchId: 'held' });
    await start();
    await p.waitForInviteEvents(40, 15_000);
    const [limited, ...rest] = await calls();
    const next = rest[0];
    expect(limited).toBeDefined();
    expect((next?.at ?? 0) - (limited?.at ?? 0)).toBeGreaterThanOrEqual(900);
    await waitFor(async () => (await p.accountEvents('account.rate_limited')).length === 1, 5_000);
  });

  it('a bare 429 on a call of 14 addresses is one backoff step for the account, within maxDelayMs, and keeps all 14 back', async () => {
    // Step 1 is 200-600 ms; counted once per address (the 14th step) it would be 1,500-4,500 ms, over maxDelayMs.
    const rateLimited = { baseDelayMs: 400, maxDelayMs: 3_000 };
    const { p, fake, start, calls } = await setup({ addressesPerCall: 14, callLingerMs: 1000, rateLimited });
    await fake.script({ status: 429 });
    await p.producer.inviteMany('su', people(14), { batchId: 'fourteen' });
    await start();
    const events = await p.waitForInviteEvents(14, 15_000);
    // Kept back, not lost: every address of the 429'd call is delivered afterwards, none fails or spends an attempt.
    expect(events.map((e) => e.outcome)).toEqual(Array(14).fill('invited'));
    expect(events.every((e) => e.attempts === '1')).toBe(true);
    // ...and still together: the call after the hold carries the same 14 addresses.
    const all = await calls();
    expect(all.map((c) => (c.json as { emailAddresses: string[] }).emailAddresses.length)).toEqual([14, 14]);
    const [limited, next] = all;
    const holds = await p.accountEvents('account.rate_limited');
    const waits = holds.map((e) => Number(e.waitMs));
    const gap = (next?.at ?? 0) - (limited?.at ?? 0);
    console.log(`sutro 14-address 429: holds=${holds.length} waits=${waits.join(',')} gap=${gap} ms`);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThanOrEqual(200);
    expect(waits[0]).toBeLessThanOrEqual(600);
    expect(gap).toBeGreaterThanOrEqual(200);
    expect(gap).toBeLessThan(1_500);
  });

  it('refuses the old knob names with the new ones in the message', async () => {
    await expect(setup({ batchSize: 10 })).rejects.toThrow(/batchSize.*addressesPerCall/);
  });
});
