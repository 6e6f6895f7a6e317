/**
 * invite.cancelled reaches a real local receiver like every other event: signed (Standard Webhooks), subscribable,
 * filtered by account; and the batch.completed of a batch whose last invites were cancelled counts them.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { Invitebus } from '../../src/core/invitebus.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('test');
const SECRET = `whsec_${Buffer.from('invitebus-cancel-webhook-secret!').toString('base64')}`;

type Delivered = { type: string; timestamp: string; data: Record<string, unknown> };

describe('webhook delivery of invite.cancelled', () => {
  it('delivers invite.cancelled to the endpoints subscribed to it, then the batch.completed counting the cancelled', async () => {
    const hr = await startFakeServer(() => ({ status: 200, body: { ok: true } }));
    const other = await startFakeServer(() => ({ status: 200, body: { ok: true } }));
    cleanups.push(
      () => hr.close(),
      () => other.close(),
    );
    const account = { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } };
    const hook = (url: string, events: string[]) => ({ url, secret: { env: 'WH' }, events, retryScheduleMs: [100, 200] });
    const p = await startPipeline(
      redis,
      { acme: account },
      {
        env: { T: 't', WH: SECRET },
        config: { webhooks: { hr: hook(hr.url, ['invite.cancelled', 'batch.completed']), other: hook(other.url, ['invite.succeeded', 'batch.completed']) } },
      },
    );
    cleanups.push(() => p.close());
    // The account is paused: its invites wait, as a start date or an outage would keep them.
    await p.producer.queue('acme').pause();
    await p.producer.inviteMany('acme', [{ email: 'ada@example.com' }, { email: 'bob@example.com' }], { batchId: 'withdrawn' });
    const ib = Invitebus.over(p.producer);
    await ib.cancel('ada@example.com', { by: 'api' });
    await ib.cancel('bob@example.com', { by: 'api' });

    await waitFor(() => hr.requests.length >= 3, 15_000, 'three deliveries');
    const verifier = new Webhook(SECRET);
    const got = hr.requests.map((r) => verifier.verify(r.body, r.headers as Record<string, string>) as Delivered);
    expect(got.map((g) => g.type).sort()).toEqual(['batch.completed', 'invite.cancelled', 'invite.cancelled']);
    const ada = got.find((g) => g.data.email === 'ada@example.com');
    expect(ada?.data).toEqual({
      inviteId: expect.stringMatching(/^inv-/),
      account: 'acme',
      provider: 'betterstack',
      email: 'ada@example.com',
      by: 'api',
      batchId: 'withdrawn',
      enqueuedAt: expect.any(Number),
      previous: 'waiting',
      at: expect.any(Number),
    });
    expect(ada?.timestamp).toBe(new Date(ada?.data.at as number).toISOString());
    expect(got.find((g) => g.type === 'batch.completed')?.data).toMatchObject({ batchId: 'withdrawn', total: 2, succeeded: 0, failed: 0, cancelled: 2 });

    // The endpoint not subscribed to invite.cancelled gets only the batch.completed.
    await waitFor(() => other.requests.length >= 1, 15_000, 'the other delivery');
    expect(other.requests.map((r) => (JSON.parse(r.body) as Delivered).type)).toEqual(['batch.completed']);
  }, 30_000);
});
