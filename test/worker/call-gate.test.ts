/**
 * The account's call gate (src/worker/call-gate.ts, src/redis-scripts/pace-call.lua) on a real Redis: consecutive
 * slots shared by every connection, the adapted rate, holds (a 429 seen anywhere stops calls already scheduled).
 */
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { JITTER_MARGIN } from '../../src/policies/adaptive-rate.ts';
import { AccountHeld } from '../../src/providers/http.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { scripts } from '../../src/redis-scripts/index.ts';
import { createCallGate } from '../../src/worker/call-gate.ts';
import { useRedis } from '../support/redis.ts';
import { maxInWindow } from '../support/timing.ts';

const redis = useRedis(import.meta.url);
const keys = invitebusKeys(redis.prefix);
const [c1, c2] = [redis.connect(), redis.connect()];
const queues: Queue[] = [];
afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await Promise.all([c1.quit(), c2.quit()]);
});

function queueOf(name: string): Queue {
  const q = new Queue(name, { connection: c1, prefix: redis.prefix });
  queues.push(q);
  return q;
}

/** One raw reservation: [held, ms]. */
async function reserve(conn: typeof c1, q: Queue, rate: number): Promise<[number, number]> {
  const { result, ms } = await scripts(conn).paceCall({
    prefix: redis.prefix,
    queue: q,
    rate,
    holdCount: 1_000_000_000,
    margin: JITTER_MARGIN,
    mode: 'reserve',
    max: rate,
    durationMs: 1000,
  });
  return [result === 'held' ? 1 : result === 'too_soon' ? 2 : 0, ms];
}

const slotOf = async (q: Queue) => Number(await redis.admin.get(keys.callSlot(q.name)));

describe('call gate', () => {
  it('hands out consecutive slots exactly JITTER_MARGIN/rate apart across connections: no slot lost, none shared', async () => {
    const q = queueOf('consecutive');
    // 2/s: 61 reservations reach 30 s ahead, however slowly this machine answers them.
    await reserve(c1, q, 2);
    const first = await slotOf(q);
    const waits: number[] = [];
    for (let i = 0; i < 60; i++) waits.push((await reserve(i % 2 === 0 ? c2 : c1, q, 2))[1]);
    // the next free slot moved by exactly 60 intervals
    expect((await slotOf(q)) - first).toBe(60 * Math.ceil((1_000_000 * JITTER_MARGIN) / 2));
    // and each caller was told to wait for its own slot, later than the previous caller's
    for (let i = 1; i < waits.length; i++) expect(waits[i] as number).toBeGreaterThan(waits[i - 1] as number);
    expect(waits.at(-1)).toBeGreaterThan(29_000);
  });

  it('callers that wake late together (a GC pause, Redis back after an outage) never start more than max per second', async () => {
    const q = queueOf('late-together');
    const wakeAt = Date.now() + 1_000; // every reserved slot has passed by then
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(ms, wakeAt - Date.now())));
    const limit = { max: 3, durationMs: 1000 };
    const gate = createCallGate({ redis: c1, queue: q, prefix: redis.prefix, rateLimit: limit, onHold: 'throw', sleep });
    const other = createCallGate({ redis: c2, queue: q, prefix: redis.prefix, rateLimit: limit, onHold: 'throw', sleep });
    const started: number[] = [];
    await Promise.all(Array.from({ length: 7 }, (_, i) => (i % 2 ? gate : other)().then(() => started.push(Date.now()))));
    // Without the start check, the six callers whose slots passed while they slept started within a few ms.
    expect(maxInWindow(started, 950)).toBeLessThanOrEqual(3);
    expect(started).toHaveLength(7);
  });

  it('paces at the adapted rate when the pacer lowered it, never above the configured one', async () => {
    const q = queueOf('adapted');
    // Slow rates (slots a second apart): a busy machine answering late cannot let a slot fall into the past and
    // move the next one by the time elapsed instead of the interval (20 ms apart, CI saw 40.7 ms).
    await redis.admin.set(keys.pacedRate(q.name), '1');
    await reserve(c1, q, 2);
    const first = await slotOf(q);
    await reserve(c1, q, 2);
    expect((await slotOf(q)) - first).toBe(Math.ceil((1_000_000 * JITTER_MARGIN) / 1));
    await redis.admin.set(keys.pacedRate(q.name), '500');
    const before = await slotOf(q);
    await reserve(c1, q, 2);
    expect((await slotOf(q)) - before).toBe(Math.ceil((1_000_000 * JITTER_MARGIN) / 2));
  });

  it('gives no slot while the account is held; a gate that throws says for how long', async () => {
    const q = queueOf('held');
    await q.rateLimit(5_000);
    const [held, ms] = await reserve(c1, q, 100);
    expect(held).toBe(1);
    expect(ms).toBeGreaterThan(4_000);
    const gate = createCallGate({ redis: c1, queue: q, prefix: redis.prefix, rateLimit: { max: 100, durationMs: 1000 }, onHold: 'throw' });
    const err = await gate().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccountHeld);
    expect((err as AccountHeld).ms).toBeGreaterThan(4_000);
    // an unlimited account has no slots, but holds still apply
    const unlimited = createCallGate({ redis: c1, queue: q, prefix: redis.prefix, rateLimit: undefined, onHold: 'throw' });
    await expect(unlimited()).rejects.toBeInstanceOf(AccountHeld);
  });

  it('a hold set while a call sleeps until its slot stops that call (a 429 seen by another process)', async () => {
    const q = queueOf('held-later');
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      if (slept.length === 1) await q.rateLimit(3_000); // another process got a 429 meanwhile
    };
    await reserve(c1, q, 2); // the next slot is ~515 ms away
    const waiting = createCallGate({ redis: c1, queue: q, prefix: redis.prefix, rateLimit: { max: 2, durationMs: 1000 }, onHold: 'throw', sleep });
    await expect(waiting()).rejects.toBeInstanceOf(AccountHeld);
    expect(slept[0]).toBeGreaterThan(400);
  });

  it('a gate that waits sleeps the hold out, then takes a slot', async () => {
    const q = queueOf('wait-out');
    await q.rateLimit(2_000);
    const slept: number[] = [];
    const sleep = async (ms: number) => {
      slept.push(ms);
      await redis.admin.del(q.keys.limiter as string); // the hold ends
    };
    const gate = createCallGate({ redis: c1, queue: q, prefix: redis.prefix, rateLimit: { max: 10, durationMs: 1000 }, onHold: 'wait', sleep });
    await gate();
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeGreaterThan(1_000);
    expect(await slotOf(q)).toBeGreaterThan(0);
  });
});
