import { type FakeHandler, type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { startPipeline } from './pipeline.ts';
import type { useRedis } from './redis.ts';

type PipelineOptions = NonNullable<Parameters<typeof startPipeline>[2]>;

/**
 * The full stack in this process, built one way for every test that needs it: local fakes (providers,
 * webhook receivers), the config pointing at them, a Producer, the workers (`runWorkers`), and one `close()`
 * that stops them all, workers first.
 */
export async function startStack<K extends string>(
  redis: ReturnType<typeof useRedis>,
  options: {
    /** Local HTTP servers to start, by name: provider fakes, webhook receivers. */
    fakes: Record<K, FakeHandler>;
    /** The accounts, given the started fakes. */
    accounts: (fakes: Record<K, FakeServer>) => Record<string, Record<string, unknown>>;
    /** Config besides the accounts (webhooks, api, defaults, ...), given the started fakes. */
    config?: (fakes: Record<K, FakeServer>) => Record<string, unknown>;
  } & Omit<PipelineOptions, 'config'>,
) {
  const fakes = {} as Record<K, FakeServer>;
  const closeFakes = () => Promise.all(Object.values<FakeServer>(fakes).map((f) => f.close()));
  try {
    for (const [name, handler] of Object.entries(options.fakes) as Array<[K, FakeHandler]>) fakes[name] = await startFakeServer(handler);
    const { fakes: _, accounts, config, ...rest } = options;
    const pipeline = await startPipeline(redis, accounts(fakes), { ...rest, ...(config ? { config: config(fakes) } : {}) });
    return {
      ...pipeline,
      fakes,
      async close() {
        await pipeline.close();
        await closeFakes();
      },
    };
  } catch (error) {
    await closeFakes();
    throw error;
  }
}
