/** Pause and resume are announced once, however many processes pause an account at the same moment. */
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { pauseAccount, resumeAccount } from '../src/accounts.ts';
import { EventStream } from '../src/events/stream.ts';
import { useRedis } from './support/redis.ts';

const redis = useRedis(import.meta.url);
const conns = Array.from({ length: 5 }, () => redis.connect());
const queues = conns.map((c) => new Queue('acme', { connection: c, prefix: redis.prefix }));
const streams = conns.map((c) => new EventStream(c, redis.prefix, 1000));
afterAll(async () => {
  for (const q of queues) await q.close();
  for (const c of conns) await c.quit();
});

const info = { account: 'acme', provider: 'betterstack' };
const ofType = async (type: string) => (await streams[0]?.read())?.filter((e) => e.fields.type === type) ?? [];

describe('pause and resume', () => {
  it('five concurrent pauses (five processes seeing the same 401): one account.paused, one winner; resume likewise', async () => {
    const paused = await Promise.all(queues.map((q, i) => pauseAccount(q, streams[i] as EventStream, { ...info, reason: 'auth_failed' })));
    expect(paused.filter(Boolean)).toHaveLength(1);
    expect(await queues[0]?.isPaused()).toBe(true);
    expect(await ofType('account.paused')).toHaveLength(1);

    const resumed = await Promise.all(queues.map((q, i) => resumeAccount(q, streams[i] as EventStream, info)));
    expect(resumed.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(await queues[0]?.isPaused()).toBe(false);
    expect(await ofType('account.resumed')).toHaveLength(1);
    // Pausing again works and is announced again.
    expect(await pauseAccount(queues[1] as Queue, streams[1] as EventStream, { ...info, reason: 'operator' })).toBe(true);
    expect(await ofType('account.paused')).toHaveLength(2);
  });
});
