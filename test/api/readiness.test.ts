/** /readyz and `invitebus_redis_up` while a connection of the process is dead (its link silent), and after. */
import { describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { addQueueGauges, createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { connectRedis } from '../../src/redis-connection/factory.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startSilentProxy } from '../support/silent-proxy.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();
const TOKEN = 'readiness-token-0123456789';

describe('readiness with a dead connection', () => {
  it('/readyz answers 503 and invitebus_redis_up is 0 while a connection is dead, 200 and 1 once it is replaced', { timeout: 40_000 }, async () => {
    const producer = new Producer(parseConfig({ redis: { url: redis.url, prefix: `${redis.prefix}-ready` }, accounts: {} }));
    cleanups.push(() => producer.close());
    const metrics = createMetrics();
    addQueueGauges(metrics.registry, producer);
    const app = await buildApi({ producer, token: TOKEN, registry: metrics.registry });
    cleanups.push(() => app.close());
    // A worker connection of the same process (serve --with-workers), its link behind a proxy that goes silent.
    const proxy = await startSilentProxy(redis.url);
    cleanups.push(() => proxy.close());
    const worker = connectRedis({ redis: { url: proxy.url, prefix: redis.prefix }, baseDir: '.' }, 'worker');
    worker.on('error', () => undefined);
    cleanups.push(() => worker.disconnect());
    await worker.ping();

    const ready = async () => (await app.inject({ url: '/readyz' })).statusCode;
    const redisUp = async () =>
      /^invitebus_redis_up (\d)$/m.exec((await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } })).body)?.[1];
    expect(await ready()).toBe(200);
    expect(await redisUp()).toBe('1');

    const silencedAt = Date.now();
    proxy.silence({ mode: 'hold' });
    await waitFor(async () => (await ready()) === 503, 15_000, '/readyz 503 within 15 s');
    const detectedMs = Date.now() - silencedAt;
    const res = await app.inject({ url: '/readyz' });
    expect(res.json().reason).toMatch(/is unreachable from connection worker/);
    expect(await redisUp()).toBe('0');

    proxy.resume();
    await waitFor(async () => (await ready()) === 200, 10_000, '/readyz 200 again');
    expect(await redisUp()).toBe('1');
    expect(detectedMs).toBeLessThanOrEqual(15_000);
  });
});
