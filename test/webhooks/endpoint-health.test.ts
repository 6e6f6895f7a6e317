/** EndpointHealth on its own: its state in a real Redis, its queue a real BullMQ queue. */
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createEndpointHealth } from '../../src/webhooks/endpoint-health.ts';
import { useCleanups } from '../support/cleanups.ts';
import { captureLogs } from '../support/log-capture.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('test');
const conn = redis.connect();
afterAll(() => conn.quit());
let seq = 0;

/** A health on a fresh state key and queue; `disabled` collects the onDisabled calls, `said` what every process logged. */
function health(disableAfterMs = 60_000) {
  seq += 1;
  const stateKey = `${redis.prefix}:state-${seq}`;
  const queue = new Queue(`health-${seq}`, { connection: conn, prefix: redis.prefix });
  const disabled: Array<{ name: string; since: number; message: string }> = [];
  const { lines, logger } = captureLogs('info');
  const made: Array<ReturnType<typeof createEndpointHealth>> = [];
  const make = () => {
    const made1 = createEndpointHealth({
      name: `hook${seq}`,
      label: `hook${seq} (https://hr.example.com/hooks)`,
      connection: conn,
      stateKey,
      disableAfterMs,
      queue,
      logger,
      onDisabled: async (name, since, message) => {
        disabled.push({ name, since, message });
      },
    });
    made.push(made1);
    return made1;
  };
  const h = make();
  cleanups.push(async () => {
    for (const m of made) await m.close();
    await queue.close();
  });
  /** The outage lines logged: level and message. */
  const said = () =>
    lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.msg.startsWith('webhook endpoint'))
      .map((l) => `${l.level === 40 ? 'warn' : l.level === 30 ? 'info' : l.level}: ${l.msg}`);
  return { h, make, stateKey, queue, disabled, said, state: () => conn.hgetall(stateKey) };
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
  });

  it('says an outage once across processes: a warning at its first failure, a line when a success ends it', async () => {
    const { h, make, said } = health();
    const other = make();
    await h.succeeded(200);
    expect(said()).toEqual([]);
    await h.failed('ECONNREFUSED', { why: 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.7:443', firstRetried: true });
    await other.failed('503', { why: 'HTTP 503', firstRetried: true });
    await h.failed('503', { why: 'HTTP 503', firstRetried: true });
    await other.failed('503', { why: 'HTTP 503' });
    expect(said()).toEqual([
      expect.stringMatching(
        /^warn: webhook endpoint hook\d+ \(https:\/\/hr\.example\.com\/hooks\) is failing: ECONNREFUSED: connect ECONNREFUSED 10\.0\.0\.7:443; retrying$/,
      ),
    ]);
    // Any process's success ends it (here, one that saw no failure: written within a second), and only one says so.
    await make().succeeded(200);
    await waitFor(() => said().length === 2, 3_000, 'the recovery line');
    await h.succeeded(204);
    await other.succeeded(204);
    expect(said()[1]).toMatch(
      /^info: webhook endpoint hook\d+ \(https:\/\/hr\.example\.com\/hooks\) is delivering again after \d+\.\d s, 3 deliveries were retried$/,
    );
    await new Promise((r) => setTimeout(r, 1_100));
    expect(said()).toHaveLength(2);
    // The next outage is said again, its count from zero; a refusal says it is not retried.
    await h.failed('400', { why: 'HTTP 400', final: true });
    await h.succeeded(200);
    expect(said().slice(2)).toEqual([
      expect.stringMatching(/^warn: .* is failing: HTTP 400; the delivery is refused, not retried$/),
      expect.stringMatching(/^info: .* is delivering again after \d+\.\d s, 0 deliveries were retried$/),
    ]);
  });

  it('takes a failure of an attempt that started before a success as stale: no new outage', async () => {
    const { h, said, state } = health();
    const before = Date.now();
    await h.succeeded(200, before + 5);
    // A slow attempt from before the receiver answered again times out now.
    await h.failed('ETIMEDOUT', { why: 'ETIMEDOUT: timeout', firstRetried: true, startedAt: before });
    expect(said()).toEqual([]);
    expect((await state()).failingSince).toBeUndefined();
    await h.failed('503', { why: 'HTTP 503', startedAt: before + 10 });
    expect(said()).toHaveLength(1);
  });

  it('reads a paused queue as disabled, at most once a second', async () => {
    const { h, queue } = health();
    expect(await h.isDisabled()).toBe(false);
    await queue.pause();
    expect(await h.isDisabled(), 'read again only after a second').toBe(false);
    await waitFor(() => h.isDisabled(), 3_000, 'the pause to be read');
  });
});
