/**
 * The console shows an onboarding whose numbers drifted from its jobs (issue: exactly once … the console shows
 * drift when there is some), and stops showing it once repaired; in headless Chromium.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBatch } from '../../src/batch-check.ts';
import { batchStatus } from '../../src/batches.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { browserMissing, step } from '../support/browser.ts';
import { startConsoleStack } from '../support/console-stack.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'drift-test-token-0123456789';
let stack: Awaited<ReturnType<typeof startConsoleStack>>;
let page: Page;

describe.skipIf(browserMissing)('drift in the console', () => {
  beforeAll(async () => {
    stack = await startConsoleStack(redis, { token: TOKEN });
    page = await (await stack.browser.newContext()).newPage();
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('warns on the onboarding page while its counters disagree with its jobs, and not after the repair', async () => {
    const { producer, config } = stack.pipeline;
    await producer.inviteMany('acme', [{ email: 'ann@example.com' }, { email: 'bob@example.com' }], { batchId: 'drifted' });
    await waitFor(async () => (await batchStatus(producer.redis, config.redis.prefix, 'drifted'))?.complete, 15_000, 'done');
    await step(page, 'log in', () => stack.login(page, '/console/batches/drifted'));
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
