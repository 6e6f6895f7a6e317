/**
 * The console's cancel button in headless Chromium: a withdrawn hire's page shows the count first, asks, cancels
 * (with the session's CSRF token), says what was already sent and where to remove them, and the table follows.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserMissing, step } from '../support/browser.ts';
import { startConsoleStack } from '../support/console-stack.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'cancel-browser-token-0123456789';
let stack: Awaited<ReturnType<typeof startConsoleStack>>;
let page: Page;

describe.skipIf(browserMissing)('the cancel button in a browser', () => {
  beforeAll(async () => {
    stack = await startConsoleStack(redis, {
      token: TOKEN,
      accounts: (fakeUrl) => {
        const account = { provider: 'betterstack', baseUrl: fakeUrl, retry: { attempts: 1 }, credentials: { token: { env: 'T' } } };
        return { acme: account, beta: account, gamma: account };
      },
    });
    const { producer } = stack.pipeline;
    // beta and gamma hold their invites (paused): ada's stay pending there, her acme invite is sent.
    await producer.queue('beta').pause();
    await producer.queue('gamma').pause();
    for (const a of ['acme', 'beta', 'gamma']) await producer.inviteMany(a, [{ email: 'ada@example.com' }], { batchId: 'cohort' });
    await stack.pipeline.waitForInviteEvents(1);
    page = await (await stack.browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("shows the count, asks, cancels a withdrawn hire's pending invites and says where one was already sent", async () => {
    await step(page, 'log in and open the person', async () => {
      await stack.login(page);
      await page.fill('header input[name=email]', 'ada@example.com');
      await page.press('header input[name=email]', 'Enter');
      await page.waitForURL(/\/console\/people\?email=ada%40example\.com/);
      await page.locator('button[data-action="cancel"]').getByText('Cancel 2 pending invites…').waitFor();
    });

    await step(page, 'a write without the CSRF token is refused', async () => {
      const status = await page.evaluate(`fetch('/v1/people/ada%40example.com/invites', { method: 'DELETE' }).then((r) => r.status)`);
      expect(status).toBe(403);
      expect(await stack.pipeline.producer.queue('beta').getWaitingCount()).toBe(1);
    });

    await step(page, 'dismissing the question cancels nothing', async () => {
      page.once('dialog', (dialog) => dialog.dismiss());
      await page.click('button[data-action="cancel"]');
      await expect.poll(() => page.locator('button[data-action="cancel"]').isEnabled()).toBe(true);
      expect(await stack.pipeline.producer.queue('gamma').getWaitingCount()).toBe(1);
    });

    await step(page, 'cancel, after the count', async () => {
      let asked = '';
      page.once('dialog', async (dialog) => {
        asked = dialog.message();
        await dialog.accept();
      });
      await page.click('button[data-action="cancel"]');
      await page
        .getByText(/^2 invites of ada@example\.com cancelled; acme: sent on .* UTC: remove the person in betterstack \(account acme\)$/)
        .waitFor({ timeout: 10_000 });
      expect(asked).toBe('Cancel 2 pending invites of ada@example.com?');
      // The table follows (its fragment is fetched again): both cancelled, and nothing left to cancel.
      await expect.poll(() => page.locator('table.person tbody tr', { hasText: 'cancelled (withdrawn hire' }).count(), { timeout: 10_000 }).toBe(2);
      await expect(page.locator('button[data-action="cancel"]').count()).resolves.toBe(0);
    });

    await step(page, 'the onboarding counts them', async () => {
      await page.goto(`${stack.url}/console/batches/cohort`);
      await page.locator('#batch-progress').getByText('done, 2 cancelled').waitFor({ timeout: 10_000 });
    });

    const events = (await stack.pipeline.events.read()).filter((e) => e.fields.type === 'invite.cancelled');
    expect(events.map((e) => [e.fields.account, e.fields.by])).toEqual([
      ['beta', 'console'],
      ['gamma', 'console'],
    ]);
  }, 90_000);
});
