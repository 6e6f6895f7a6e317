/** EndpointHealth on its own: its state in a real Redis, its queue a real BullMQ queue. */
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createEndpointHealth } from '../../src/webhooks/endpoint-health.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('test');
const conn = redis.connect();
afterAll(() => conn.quit());
let seq = 0;

/** A health on a fresh state key and queue; `disabled` collects the onDisabled calls. */
function health(disableAfterMs = 60_000) {
  seq += 1;
  const stateKey = `${redis.prefix}:state-${seq}`;
  const queue = new Queue(`health-${seq}`, { connection: conn, prefix: redis.prefix });
  const disabled: Array<{ name: string; since: number; message: string }> = [];
  const make = () =>
    createEndpointHealth({
      name: `hook${seq}`,
      connection: conn,
      stateKey,
      disableAfterMs,
      queue,
      logger: pino({ level: 'silent' }),
      onDisabled: async (name, since, message) => {
        disabled.push({ name, since, message });
      },
    });
  const h = make();
  cleanups.push(async () => {
    await h.close();
    await queue.close();
  });
  return { h, make, stateKey, queue, disabled, state: () => conn.hgetall(stateKey) };
}

describe('EndpointHealth', () => {
  it('writes the first success at once and the next ones within a second, counted; close() writes the rest', async () => {
    const { h, state } = health();
    await h.succeeded(200);
    expect(await state()).toMatchObject({ delivered: '1', lastStatus: '200' });
    await h.succeeded(201);
    await h.succeeded(202);
    expect((await state()).delivered).toBe('1');
    await waitFor(async () => (await state()).delivered === '3', 3_000, 'the deferred successes to be written');
    expect((await state()).lastStatus).toBe('202');
    await h.succeeded(204);
    await h.close();
    expect((await state()).delivered).toBe('4');
  });

  it('records a failure with its status and starts the failing clock; the next success clears it at once', async () => {
    const { h, state } = health();
    await h.succeeded(200);
    await h.failed('503');
    const failing = await state();
    expect(failing.lastStatus).toBe('503');
    expect(Number(failing.failingSince)).toBeGreaterThan(0);
    await h.succeeded(200);
    const after = await state();
    expect(after.failingSince).toBeUndefined();
    expect(after).toMatchObject({ lastStatus: '200', delivered: '2' });
  });

  it('disables an endpoint failing for disableAfterMs once, across processes: pauses its queue, tells onDisabled', async () => {
    const { h, make, stateKey, queue, disabled, state } = health(5_000);
    await h.failed('ECONNREFUSED');
    expect(await h.isDisabled()).toBe(false);
    // As if the failing clock had started long ago (another process, an hour back).
    await conn.hset(stateKey, 'failingSince', String(Date.now() - 10_000));
    await h.failed('500');
    expect(disabled).toHaveLength(1);
    expect(disabled[0]?.message).toMatch(/no successful delivery since .* \(last: 500\); deliveries wait until 'invitebus webhooks enable hook\d+'/);
    expect(await queue.isPaused()).toBe(true);
    expect(Number((await state()).disabled)).toBeGreaterThan(0);
    const other = make();
    await other.failed('500');
    expect(disabled).toHaveLength(1);
    expect(await other.isDisabled()).toBe(true);
    await other.close();
  });

  it('reads a paused queue as disabled, at most once a second', async () => {
    const { h, queue } = health();
    expect(await h.isDisabled()).toBe(false);
    await queue.pause();
    expect(await h.isDisabled(), 'read again only after a second').toBe(false);
    await waitFor(() => h.isDisabled(), 3_000, 'the pause to be read');
  });
});
