/** An account worker whose BullMQ close fails still releases its queue, timer and HTTP agents. */
import { describe, expect, it } from 'vitest';
import { startPipeline } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);

describe('account worker close', () => {
  it('resolves (unfinished) and closes its queue when worker.close() rejects', async () => {
    const p = await startPipeline(
      redis,
      { acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } } },
      { env: { T: 't' } },
    );
    // An idle account has no worker until it has work: start it.
    const w = await p.workers?.engine.run('acme');
    if (w === undefined) throw new Error('no worker');
    const realClose = w.worker.close.bind(w.worker);
    w.worker.close = () => Promise.reject(new Error('close failed'));
    await expect(w.close(2_000)).resolves.toBe(false);
    expect(w.queue.closing).toBeDefined();
    await realClose();
    await p.close();
  });
});
