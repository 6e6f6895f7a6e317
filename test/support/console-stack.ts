import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { launch } from './browser.ts';
import { startPipeline } from './pipeline.ts';
import type { useRedis } from './redis.ts';

/**
 * What a console browser test runs against, built one way: a Better Stack fake, a pipeline whose accounts point at
 * it (one `acme` account unless given), the API and console on a free port, and headless Chromium. `login` signs
 * a page in with the token and waits for where it lands; `close` stops it all.
 */
export async function startConsoleStack(
  redis: ReturnType<typeof useRedis>,
  options: { token: string; accounts?: (fakeUrl: string) => Record<string, Record<string, unknown>> },
) {
  const fake: FakeServer = await startFakeServer(betterstackHandler());
  let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
  let app: FastifyInstance | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    await pipeline?.close();
    await fake.close();
  };
  try {
    const accounts = options.accounts?.(fake.url) ?? { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } } };
    pipeline = await startPipeline(redis, accounts, { env: { T: 'bs-team-token' } });
    app = await buildApi({ producer: pipeline.producer, token: options.token, registry: createMetrics().registry });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
    return {
      pipeline,
      url,
      browser,
      /** Signs the page in and waits until it shows `next` (default the console's front page). */
      async login(page: Page, next = '/console') {
        await page.goto(next === '/console' ? `${url}/login` : `${url}/login?next=${next}`);
        await page.fill('input[name=token]', options.token);
        await page.click('button[type=submit]');
        await page.waitForURL(`${url}${next}`);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
