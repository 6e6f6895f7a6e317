/**
 * A receiver's short outage (issue 23): a 20 s blip of the HR receiver must cost seconds, not the 5 minutes of
 * a long schedule's second retry, and `serve` says once that the endpoint is failing and once that it delivers
 * again. Here the shipped default schedule runs a quarter as long (a 5 s outage), against a real receiver.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { WEBHOOK_RETRY_SCHEDULE_MS } from '../../src/config/schema.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeAnswer, startFakeServer } from '../../src/sandbox/server.ts';
import { webhookStatus } from '../../src/webhooks/admin.ts';
import { deliveryJobOptions } from '../../src/webhooks/delivery-job.ts';
import { useCleanups } from '../support/cleanups.ts';
import { captureLogs } from '../support/log-capture.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('test');
const SECRET = `whsec_${Buffer.from('invitebus-test-webhook-secret-32b').toString('base64')}`;
/** The test's time runs this many times faster than production's: the schedule and the outage alike. */
const SPEED = 4;

/** When each attempt is made, ms after the first, on a schedule. */
function attemptTimes(schedule: readonly number[]): number[] {
  const at = [0];
  for (const wait of schedule) at.push((at.at(-1) ?? 0) + wait);
  return at;
}

/** How long after a receiver down for `outageMs` from a delivery's first attempt that delivery arrives. */
const lateAfter = (schedule: readonly number[], outageMs: number) => (attemptTimes(schedule).find((t) => t >= outageMs) ?? Number.NaN) - outageMs;

describe('the shipped retry schedule', () => {
  const config = parseConfig({
    accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } },
    webhooks: { hr: { url: 'https://hr.example.com/hooks', secret: { env: 'S' }, events: ['invite.failed'] } },
  });
  const schedule = config.webhooks.hr?.retryScheduleMs ?? [];

  it('is the default: a short first phase within about 1.5 minutes, then the long schedule', () => {
    expect(schedule).toEqual(WEBHOOK_RETRY_SCHEDULE_MS);
    expect(schedule.slice(0, 6)).toEqual([2_000, 4_000, 8_000, 15_000, 30_000, 30_000]);
    expect(attemptTimes(schedule)[6]).toBe(89_000);
    expect(schedule.slice(6)).toEqual([300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  it('delivers after a blip within seconds of recovery (each delay jittered by ±10%)', () => {
    expect(lateAfter(schedule, 5_000)).toBeLessThanOrEqual(1_000);
    expect(lateAfter(schedule, 20_000)).toBeLessThanOrEqual(15_000);
    expect(lateAfter(schedule, 60_000)).toBeLessThanOrEqual(30_000);
    // The former schedule (Svix's: 5 s, then 5 min) made a 20 s outage cost nearly 5 minutes.
    expect(lateAfter([5_000, 300_000], 20_000)).toBe(285_000);
  });

  it('keeps the long guarantees: retries for about 28 hours (as Svix), 13 attempts, kept failed for 30 days', () => {
    const lastMs = attemptTimes(schedule).at(-1) ?? 0;
    expect(lastMs / 3_600_000).toBeGreaterThan(27.5);
    expect(lastMs / 3_600_000).toBeLessThan(28);
    expect(deliveryJobOptions(config, 'hr', 'e1')).toMatchObject({ attempts: 13, removeOnFail: { age: 30 * 86_400 } });
    expect(lastMs).toBeLessThan(config.retention.failedAgeSec * 1000);
  });
});

describe('a short receiver outage', () => {
  it('costs seconds: every event arrives within seconds of recovery; one warning for the outage, one line on recovery', async () => {
    let answer: FakeAnswer = { reset: true };
    const hr = await startFakeServer(() => answer);
    cleanups.push(() => hr.close());
    const fake = await startFakeServer(betterstackHandler({ members: [] }));
    cleanups.push(() => fake.close());
    const { lines, logger } = captureLogs('info');
    const p = await startPipeline(
      redis,
      { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } } },
      {
        env: { T: 'bs-team-token', WH_SECRET: SECRET },
        logger,
        config: {
          webhooks: {
            hr: {
              url: `${hr.url}/hooks?token=query-secret`,
              secret: { env: 'WH_SECRET' },
              events: ['invite.succeeded', 'batch.completed'],
              retryScheduleMs: WEBHOOK_RETRY_SCHEDULE_MS.map((ms) => Math.round(ms / SPEED)),
            },
          },
        },
      },
    );
    cleanups.push(() => p.close());

    await p.producer.inviteMany(
      'acme',
      Array.from({ length: 10 }, (_, i) => ({ email: `blip${i}@example.com` })),
      { batchId: 'blip' },
    );
    await waitFor(() => hr.requests.length > 0, 10_000, 'a first attempt');
    const downAt = hr.requests[0]?.at ?? Date.now();
    // Down for "20 s" from the first attempt (refusing, then answering 503), then up.
    await new Promise((r) => setTimeout(r, 10_000 / SPEED));
    answer = { status: 503 };
    // The metric the alert reads says how long it has failed.
    const { createMetrics, addQueueGauges } = await import('../../src/metrics.ts');
    const metrics = createMetrics();
    addQueueGauges(metrics.registry, p.producer);
    const failingSeconds = async () => Number(/invitebus_webhook_failing_seconds\{webhook="hr"\} ([\d.]+)/.exec(await metrics.registry.metrics())?.[1]);
    expect(await failingSeconds()).toBeGreaterThanOrEqual(8_000 / SPEED / 1000);
    await new Promise((r) => setTimeout(r, downAt + 20_000 / SPEED - Date.now()));
    answer = { status: 204 };
    const upAt = Date.now();

    const delivered = await waitFor(
      async () => {
        const [s] = await webhookStatus(p.producer);
        return s?.completed === 11 ? s : undefined;
      },
      60_000 / SPEED,
      'all 11 events delivered within "a minute" of recovery',
    );
    // When each event reached the receiver once it was up: at most one short-phase step ("15 s") after it came
    // back, plus jitter (under "20 s" in all); the long schedule's second retry came "5 minutes" later.
    const arrivedAt = new Map<string, number>();
    for (const r of hr.requests)
      if (r.at >= upAt) arrivedAt.set(String(r.headers['webhook-id']), Math.min(r.at, arrivedAt.get(String(r.headers['webhook-id'])) ?? r.at));
    expect(arrivedAt.size).toBe(11);
    expect(Math.max(...arrivedAt.values()) - upAt).toBeLessThan(20_000 / SPEED);
    expect(delivered).toMatchObject({ failed: 0, lastStatus: '204' });
    expect(delivered.failingSince).toBeUndefined();
    expect(await failingSeconds()).toBe(0);

    const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => /webhook endpoint/.test(l.msg));
    expect(said).toHaveLength(2);
    expect(said[0]).toMatchObject({
      level: 40,
      msg: expect.stringMatching(/^webhook endpoint hr \(http:\/\/127\.0\.0\.1:\d+\/hooks\) is failing: ECONNRESET.*; retrying$/),
    });
    expect(said[1]).toMatchObject({
      level: 30,
      msg: expect.stringMatching(
        /^webhook endpoint hr \(http:\/\/127\.0\.0\.1:\d+\/hooks\) is delivering again after \d+(\.\d)? s, 11 deliveries were retried$/,
      ),
    });
    expect(lines.join('')).not.toContain('query-secret');
  }, 30_000);
});
