/**
 * The console shows an onboarding whose numbers drifted from its jobs (issue: exactly once … the console shows
 * drift when there is some), and stops showing it once repaired; in headless Chromium.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { checkBatch } from '../../src/batch-check.ts';
import { batchStatus } from '../../src/batches.ts';
import { createMetrics } from '../../src/metrics.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { browserMissing, launch, step } from '../support/browser.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'drift-test-token-0123456789';
let fake: FakeServer;
let app: FastifyInstance;
let url: string;
let browser: Browser;
let page: Page;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;

describe.skipIf(browserMissing)('drift in the console', () => {
  beforeAll(async () => {
    fake = await startFakeServer(betterstackHandler());
    pipeline = await startPipeline(
      redis,
      { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } } },
      { env: { T: 'bs-team-token' } },
    );
    app = await buildApi({ producer: pipeline.producer, token: TOKEN, registry: createMetrics().registry });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
    page = await (await browser.newContext()).newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await pipeline?.close();
    await fake?.close();
  });

  it('warns on the onboarding page while its counters disagree with its jobs, and not after the repair', async () => {
    const { producer, config } = pipeline;
    await producer.inviteMany('acme', [{ email: 'ann@example.com' }, { email: 'bob@example.com' }], { batchId: 'drifted' });
    await waitFor(async () => (await batchStatus(producer.redis, config.redis.prefix, 'drifted'))?.complete, 15_000, 'done');
    await step(page, 'log in', async () => {
      await page.goto(`${url}/login?next=/console/batches/drifted`);
      await page.fill('input[name=token]', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForURL(`${url}/console/batches/drifted`);
    });
    expect(await page.getByRole('alert').count()).toBe(0);
    await producer.redis.hincrby(invitebusKeys(config.redis.prefix).batch('drifted'), 'failed', 1);
    await step(page, 'the warning', async () => {
      await page.reload();
      const alert = page.getByRole('alert');
      await alert.getByText('These numbers have drifted from the jobs').waitFor();
      expect(await alert.textContent()).toContain('failed: shows 1, the jobs say 0');
      expect(await alert.textContent()).toContain('invitebus batches check drifted --repair');
    });
    await checkBatch(producer, 'drifted', { repair: true });
    await page.reload();
    await page.getByRole('heading', { name: 'Onboarding drifted' }).waitFor();
    expect(await page.getByRole('alert').count()).toBe(0);
  });
});
