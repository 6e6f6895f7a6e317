/**
 * Webhooks (issue: onboarding, part 3): every subscribed event reaches the HR system's receiver, signed per
 * Standard Webhooks (checked with the library's own verify), with the event's stable id as webhook-id,
 * through one BullMQ queue per endpoint; retried on network errors, 5xx and 429, never on other 4xx; an
 * endpoint failing too long is disabled and reported; secrets never reach Redis.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeAnswer, type RecordedRequest, startFakeServer } from '../../src/sandbox/server.ts';
import { enableWebhook, replayWebhook, testWebhook, webhookStatus } from '../../src/webhooks/admin.ts';
import { webhookRetryDelay } from '../../src/webhooks/delivery.ts';
import { useCleanups } from '../support/cleanups.ts';
import { captureLogs } from '../support/log-capture.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('test');
const SECRET = `whsec_${Buffer.from('invitebus-test-webhook-secret-32b').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('another-receivers-secret-0123456').toString('base64')}`;
const FAST = [100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000];

/** A receiver: answers through `answer` (200 by default), remembers what it got. */
async function receiver(answer: (req: RecordedRequest) => FakeAnswer = () => ({ status: 200, body: { ok: true } })) {
  const server = await startFakeServer(answer);
  cleanups.push(() => server.close());
  return server;
}

/** A pipeline with one Better Stack account and the given webhooks; WH_* secrets in the environment. */
async function pipeline(webhooks: Record<string, Record<string, unknown>>, logger?: ReturnType<typeof captureLogs>['logger']) {
  const fake = await startFakeServer(betterstackHandler({ members: ['member@example.com'] }));
  cleanups.push(() => fake.close());
  const p = await startPipeline(
    redis,
    { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } } },
    { env: { T: 'bs-team-token', WH_SECRET: SECRET, WH_OTHER: OTHER_SECRET }, config: { webhooks }, ...(logger ? { logger } : {}) },
  );
  cleanups.push(() => p.close());
  return p;
}

const hook = (url: string, extra: Record<string, unknown> = {}) => ({
  url,
  secret: { env: 'WH_SECRET' },
  events: ['invite.succeeded', 'invite.failed', 'batch.completed'],
  retryScheduleMs: FAST,
  ...extra,
});

/** The events on the stream of the given types, by id. */
async function streamEvents(p: Awaited<ReturnType<typeof pipeline>>, types: string[]) {
  return (await p.events.read('-', 10_000)).filter((e) => types.includes(e.fields.type ?? ''));
}

describe('webhook configuration', () => {
  it('names a missing secret at start-up and refuses unknown accounts and event types', async () => {
    const base = { accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } } };
    expect(() => parseConfig({ ...base, webhooks: { hr: { url: 'http://x', secret: { env: 'S' }, events: ['invite.exploded'] } } })).toThrow(
      /webhooks\.hr\.events\.0/,
    );
    expect(() => parseConfig({ ...base, webhooks: { hr: { url: 'http://x', secret: { env: 'S' }, events: ['invite.failed'], accounts: ['nope'] } } })).toThrow(
      /webhooks\.hr\.accounts: unknown account 'nope'/,
    );
    expect(() => parseConfig({ ...base, webhooks: { hr: { url: 'http://x', secret: 'whsec_literal', events: ['invite.failed'] } } })).toThrow(/literal secret/);
    const { runWorkers } = await import('../../src/worker/run.ts');
    const config = parseConfig({ ...base, redis: { url: redis.url, prefix: `${redis.prefix}-nosecret` }, webhooks: { hr: hook('http://127.0.0.1:9') } });
    const conn = redis.connect();
    cleanups.push(() => conn.quit());
    await expect(runWorkers(config, { env: { T: 'x' }, logger: captureLogs('silent').logger, redis: conn })).rejects.toThrow(
      /webhook 'hr' has no credentials\.secret: set the environment variable WH_SECRET/,
    );
  });

  it('retries on the schedule, a Retry-After winning, capped', () => {
    expect(webhookRetryDelay(1, [5_000, 300_000], undefined)).toBeGreaterThanOrEqual(4_500);
    expect(webhookRetryDelay(1, [5_000, 300_000], undefined)).toBeLessThanOrEqual(5_500);
    expect(webhookRetryDelay(2, [5_000, 300_000], undefined)).toBeGreaterThanOrEqual(270_000);
    expect(webhookRetryDelay(9, [5_000, 300_000], undefined)).toBeGreaterThanOrEqual(270_000);
    expect(webhookRetryDelay(1, [5_000], 2_000)).toBe(2_000);
    expect(webhookRetryDelay(1, [5_000], 99 * 3_600_000)).toBe(10 * 3_600_000);
  });
});

describe('webhook delivery', () => {
  it('delivers every subscribed event signed per Standard Webhooks, webhook-id the event id, secrets nowhere in Redis or logs', async () => {
    const hr = await receiver();
    const { lines, logger } = captureLogs('debug');
    const p = await pipeline({ hr: hook(hr.url) }, logger);
    await p.producer.inviteMany('acme', [{ email: 'a@example.com' }, { email: 'member@example.com' }], { batchId: 'signed' });
    const expected = await waitFor(async () => {
      const events = await streamEvents(p, ['invite.succeeded', 'batch.completed']);
      return events.length === 3 ? events : undefined;
    });
    await waitFor(() => hr.requests.length >= 3, 15_000, 'three deliveries');
    const verifier = new Webhook(SECRET);
    const got = hr.requests.map(
      (r) => verifier.verify(r.body, r.headers as Record<string, string>) as { type: string; timestamp: string; data: Record<string, unknown> },
    );
    expect(hr.requests.map((r) => r.headers['webhook-id']).sort()).toEqual(expected.map((e) => e.id).sort());
    expect(got.map((g) => g.type).sort()).toEqual(['batch.completed', 'invite.succeeded', 'invite.succeeded']);
    expect(got.find((g) => g.type === 'invite.succeeded' && g.data.email === 'a@example.com')?.data).toMatchObject({
      outcome: 'invited',
      attempts: 1,
      status: 201,
    });
    expect(got.find((g) => g.type === 'batch.completed')?.data).toMatchObject({ batchId: 'signed', total: 2, succeeded: 2 });
    // Another secret does not verify: the signature is really checked.
    expect(() => new Webhook(OTHER_SECRET).verify(hr.requests[0]?.body ?? '', hr.requests[0]?.headers as Record<string, string>)).toThrow();
    const secretText = Buffer.from('invitebus-test-webhook-secret-32b').toString('base64');
    for (const key of await p.producer.redis.keys(`${p.config.redis.prefix}:*`)) {
      const type = await p.producer.redis.type(key);
      const dump = type === 'hash' ? JSON.stringify(await p.producer.redis.hgetall(key)) : type === 'string' ? String(await p.producer.redis.get(key)) : '';
      expect(dump).not.toContain(secretText);
    }
    expect(lines.join('')).not.toContain(secretText);
  });

  it('a receiver down for 10 s then up gets every event once per id; a slow receiver never holds another', async () => {
    let down = true;
    const hr = await receiver(() => (down ? { reset: true } : { status: 204 }));
    const audit = await receiver(() => ({ status: 200, delayMs: 300 }));
    const p = await pipeline({ hr: hook(hr.url), audit: hook(audit.url, { secret: { env: 'WH_OTHER' } }) });
    await p.producer.inviteMany(
      'acme',
      Array.from({ length: 20 }, (_, i) => ({ email: `down${i}@example.com` })),
      { batchId: 'outage' },
    );
    const expected = await waitFor(async () => {
      const events = await streamEvents(p, ['invite.succeeded', 'batch.completed']);
      return events.length === 21 ? events : undefined;
    });
    // The other receiver (slow, but up) has everything while hr is still down.
    await waitFor(() => new Set(audit.requests.map((r) => r.headers['webhook-id'])).size === 21, 20_000, 'the audit receiver');
    expect(hr.requests.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 10_000 - 1_000));
    down = false;
    const ids = (server: typeof hr) => server.requests.filter((r) => r.headers['webhook-id'] !== undefined).map((r) => String(r.headers['webhook-id']));
    await waitFor(async () => (await webhookStatus(p.producer))[0]?.completed === 21, 30_000, 'every delivery to hr');
    const delivered = new Set(hr.requests.slice().map((r) => String(r.headers['webhook-id'])));
    expect([...delivered].sort()).toEqual(expected.map((e) => e.id).sort());
    expect(new Set(ids(audit)).size).toBe(21);
    const [status] = await webhookStatus(p.producer);
    expect(status).toMatchObject({ name: 'hr', disabled: false, failed: 0, lastStatus: '204' });
    expect(status?.failingSince).toBeUndefined();
  }, 60_000);

  it('retries 500 and 429 (honouring Retry-After), never 400 or 410', async () => {
    const answers = new Map<string, FakeAnswer[]>([
      ['five@example.com', [{ status: 500 }, { status: 503 }]],
      ['limited@example.com', [{ status: 429, headers: { 'retry-after': '1' } }]],
      ['bad@example.com', [{ status: 400, body: { error: 'no such field' } }]],
      ['gone@example.com', [{ status: 410 }]],
    ]);
    const hr = await receiver((req) => {
      const email = String((req.json as { data?: { email?: string } } | undefined)?.data?.email ?? '');
      return answers.get(email)?.shift() ?? { status: 200 };
    });
    const p = await pipeline({ hr: hook(hr.url, { events: ['invite.succeeded'] }) });
    await p.producer.inviteMany(
      'acme',
      ['five', 'limited', 'bad', 'gone', 'fine'].map((n) => ({ email: `${n}@example.com` })),
    );
    await waitFor(
      async () => {
        const [s] = await webhookStatus(p.producer);
        return s !== undefined && s.completed === 3 && s.failed === 2;
      },
      20_000,
      'three delivered, two refused',
    );
    const calls = (email: string) => hr.requests.filter((r) => (r.json as { data: { email: string } }).data.email === email);
    expect(calls('five@example.com').map((r) => r.headers['webhook-id'])).toHaveLength(3);
    expect(new Set(calls('five@example.com').map((r) => r.headers['webhook-id'])).size).toBe(1);
    const limited = calls('limited@example.com');
    expect(limited).toHaveLength(2);
    expect((limited[1]?.at ?? 0) - (limited[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(calls('bad@example.com')).toHaveLength(1);
    expect(calls('gone@example.com')).toHaveLength(1);
    expect(calls('fine@example.com')).toHaveLength(1);
  }, 30_000);

  it('disables an endpoint failing too long (webhook.disabled, status, metric), keeps its deliveries, and enable sends them', async () => {
    let failing = true;
    const hr = await receiver(() => (failing ? { status: 500 } : { status: 200 }));
    const ops = await receiver();
    const p = await pipeline({
      hr: hook(hr.url, { disableAfterMs: 1_000, retryScheduleMs: [300, 300, 300, 300, 300, 300, 300, 300, 300, 300] }),
      ops: hook(ops.url, { secret: { env: 'WH_OTHER' }, events: ['webhook.disabled'] }),
    });
    await p.producer.inviteMany('acme', [{ email: 'x@example.com' }, { email: 'y@example.com' }]);
    const disabled = await waitFor(async () => (await p.events.read()).find((e) => e.fields.type === 'webhook.disabled'), 20_000, 'webhook.disabled');
    expect(disabled.fields).toMatchObject({ webhook: 'hr', message: expect.stringMatching(/no successful delivery since .* \(last: 500\)/) });
    // The disabling is itself delivered to the endpoint that subscribed to it.
    await waitFor(() => ops.requests.some((r) => (r.json as { type: string }).type === 'webhook.disabled'), 10_000, 'ops told');
    const [status] = await webhookStatus(p.producer);
    expect(status).toMatchObject({ name: 'hr', disabled: true, lastStatus: '500' });
    const { createMetrics, addQueueGauges } = await import('../../src/metrics.ts');
    const metrics = createMetrics();
    addQueueGauges(metrics.registry, p.producer);
    expect(await metrics.registry.metrics()).toMatch(/invitebus_webhook_disabled\{webhook="hr"\} 1/);

    failing = false;
    const before = hr.requests.length;
    expect(await enableWebhook(p.producer, 'hr')).toMatchObject({ wasDisabled: true });
    await waitFor(() => hr.requests.slice(before).some((r) => r.headers['webhook-id'] !== undefined), 15_000, 'deliveries after enable');
    expect((await webhookStatus(p.producer))[0]).toMatchObject({ disabled: false });
  }, 40_000);

  it('enable on a failing (not disabled) endpoint sends its delayed deliveries now and keeps its failure clock', async () => {
    let failing = true;
    const hr = await receiver(() => (failing ? { status: 503 } : { status: 200 }));
    const p = await pipeline({ hr: hook(hr.url, { events: ['invite.succeeded'], retryScheduleMs: [60_000, 60_000] }) });
    await p.producer.inviteMany('acme', [{ email: 'late@example.com' }]);
    await waitFor(async () => (await webhookStatus(p.producer))[0]?.delayed === 1, 10_000, 'a delayed retry');
    const since = (await webhookStatus(p.producer))[0]?.failingSince;
    expect(since).toBeGreaterThan(0);
    failing = false;
    expect(await enableWebhook(p.producer, 'hr')).toEqual({ wasDisabled: false, sentNow: 1 });
    await waitFor(async () => (await webhookStatus(p.producer))[0]?.completed === 1, 10_000, 'the delivery sent now, not in a minute');
  });

  it('test sends a signed webhook.test and reports the answer; replay resends past events with their ids', async () => {
    const hr = await receiver();
    const p = await pipeline({ hr: hook(hr.url, { events: ['invite.succeeded'] }) });
    // As the CLI and `serve` run it: a producer on its own connection (commands retried, not blocking ones).
    const own = new Producer(p.config);
    cleanups.push(() => own.close());
    expect(await testWebhook(own, 'hr', 10_000)).toMatchObject({ delivered: true, status: 200 });
    const test = hr.requests.at(-1);
    expect((new Webhook(SECRET).verify(test?.body ?? '', test?.headers as Record<string, string>) as { type: string }).type).toBe('webhook.test');
    await p.producer.inviteMany('acme', [{ email: 'r1@example.com' }, { email: 'r2@example.com' }]);
    await waitFor(() => hr.requests.length === 3, 10_000, 'two deliveries');
    const first = hr.requests.slice(1).map((r) => r.headers['webhook-id']);
    expect(await replayWebhook(p.producer, 'hr', 3_600_000)).toEqual({ queued: 2 });
    await waitFor(() => hr.requests.length === 5, 10_000, 'the replay');
    expect(
      hr.requests
        .slice(3)
        .map((r) => r.headers['webhook-id'])
        .sort(),
    ).toEqual(first.sort());
    await expect(testWebhook(p.producer, 'nope')).rejects.toThrow(/unknown webhook 'nope'; configured webhooks: hr/);
  });
});
