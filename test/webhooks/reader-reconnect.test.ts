/**
 * A webhook reader whose connection is cut while the reply to its XREADGROUP is on the way (a failover, a moved
 * endpoint): Redis has handed the events to this reader's consumer, the reader never got them. They must not wait
 * for the claim time (30 s) to be delivered (seen in test/faults/failover.test.ts: one event in five runs).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { type OwnRedis, startOwnRedis } from '../../src/embedded-redis.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { webhookGroup } from '../../src/webhooks/groups.ts';
import { startWebhooks } from '../../src/webhooks/index.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startEndpointProxy } from '../support/endpoint-proxy.ts';
import { captureLogs } from '../support/log-capture.ts';
import { waitFor } from '../support/pipeline.ts';

const cleanups = useCleanups('test');
const SECRET = `whsec_${Buffer.from('invitebus-test-webhook-secret-32b').toString('base64')}`;
let own: OwnRedis;
let admin: Redis;

beforeAll(async () => {
  own = await startOwnRedis();
  admin = new Redis(own.url);
});
afterAll(async () => {
  await admin.quit();
  await own.destroy();
});

describe('a webhook reader whose connection is cut', () => {
  it('delivers the events whose XREADGROUP reply the cut lost within seconds, not after the claim time', async () => {
    const got = new Map<string, number>();
    const receiver = await startFakeServer((req) => {
      const id = String(req.headers['webhook-id']);
      got.set(id, (got.get(id) ?? 0) + 1);
      return { status: 204 };
    });
    cleanups.push(() => receiver.close());
    const target = new URL(own.url);
    const endpoint = await startEndpointProxy({ host: target.hostname, port: Number(target.port) });
    cleanups.push(() => endpoint.close());
    const config = parseConfig({
      redis: { url: endpoint.url, prefix: `t-reconnect-${process.pid}` },
      accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } },
      webhooks: { hr: { url: receiver.url, secret: { env: 'WH' }, events: ['invite.succeeded'] } },
    });
    const connection = new Redis(endpoint.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    connection.on('error', () => undefined);
    // The claim time of production: an event left pending is only claimed 30 s on.
    const hooks = startWebhooks({ config, env: { WH: SECRET }, connection, logger: captureLogs('silent').logger, tuning: { claimIdleMs: 30_000 } });
    if (hooks === undefined) throw new Error('no webhooks configured');
    cleanups.push(async () => {
      await hooks.close();
      connection.disconnect();
    });
    const stream = invitebusKeys(config.redis.prefix).events;
    const write = async () => String(await admin.xadd(stream, '*', 'type', 'invite.succeeded', 'account', 'acme', 'email', 'p@example.com', 'attempts', '1'));
    await waitFor(
      async () => {
        const id = await write();
        return waitFor(() => got.has(id), 1_000).catch(() => false);
      },
      15_000,
      'the reader to read the stream',
    );

    // Replies are held back; an event is written; once Redis has handed it to the reader's consumer, every
    // connection through the endpoint is cut, the reply with it.
    endpoint.replyDelayMs = 2_000;
    const lost = await write();
    await waitFor(
      async () => ((await admin.xpending(stream, webhookGroup('hr'), '-', '+', 10)) as Array<[string]>).some(([id]) => id === lost),
      5_000,
      'the event handed to the reader',
    );
    const cutAt = Date.now();
    endpoint.pointTo({ host: target.hostname, port: Number(target.port) });
    endpoint.replyDelayMs = 0;
    const after = await write();

    await waitFor(() => got.has(after), 10_000, 'an event written after the cut');
    await waitFor(() => got.has(lost), 10_000, 'the event whose reply was lost');
    expect(Date.now() - cutAt).toBeLessThan(10_000);
    expect(got.get(lost)).toBe(1);
  });
});
