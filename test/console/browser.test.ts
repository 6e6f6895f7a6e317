/**
 * The console the way people use it, in headless Chromium: log in, watch an onboarding's progress move to done,
 * find a person, pause and resume an account, replay failures after a dry-run count, log out and be refused.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { browserMissing, launch, step } from '../support/browser.ts';
import { startPipeline } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'browser-test-token-0123456789';
let fake: FakeServer;
let app: FastifyInstance;
let url: string;
let browser: Browser;
let page: Page;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;

describe.skipIf(browserMissing)('the console in a browser', () => {
  beforeAll(async () => {
    const honest = betterstackHandler();
    // Slow enough to watch progress; the first three invites refused for good (to replay them later).
    fake = await startFakeServer(async (req) => ({ ...(await honest(req)), delayMs: 40 }));
    fake.script(...Array.from({ length: 3 }, () => ({ status: 422, body: B.invalidRole })));
    pipeline = await startPipeline(
      redis,
      {
        acme: {
          provider: 'betterstack',
          baseUrl: fake.url,
          concurrency: 2,
          retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
          credentials: { token: { env: 'T' } },
        },
      },
      { env: { T: 'bs-team-token' } },
    );
    app = await buildApi({ producer: pipeline.producer, token: TOKEN, registry: createMetrics().registry });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launch();
    page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await pipeline?.close();
    await fake?.close();
  });

  it('logs in, follows an onboarding to done, finds a person, pauses and resumes, replays failures, logs out', async () => {
    await step(page, 'log in', async () => {
      await page.goto(`${url}/console`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.fill('input[name=token]', 'wrong-token');
      await page.click('button[type=submit]');
      await page.getByText('That token is not valid.').waitFor();
      await page.fill('input[name=token]', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForURL(`${url}/console`);
      await page.locator('tr[data-account="acme"]').getByText('running').waitFor();
    });

    await step(page, 'page weight and first paint', async () => {
      // Figures for the docs (printed, not asserted): what the console's first load costs.
      await page.reload({ waitUntil: 'load' });
      // Evaluated in the page (a string: the test's TypeScript has no DOM types).
      const figures = (await page.evaluate(`(() => {
        const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
        const bytes = entries.reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0);
        const paint = performance.getEntriesByName('first-contentful-paint')[0] ?? performance.getEntriesByName('first-paint')[0];
        const nav = performance.getEntriesByType('navigation')[0];
        return { kB: Math.round(bytes / 102.4) / 10, requests: entries.length, firstPaintMs: Math.round(paint ? paint.startTime : nav.domContentLoadedEventEnd) };
      })()`)) as { kB: number; requests: number; firstPaintMs: number };
      process.stdout.write(`console first load: ${figures.kB} kB in ${figures.requests} requests, first paint ${figures.firstPaintMs} ms\n`);
    });

    await step(page, 'watch an onboarding', async () => {
      await pipeline.producer.inviteMany(
        'acme',
        Array.from({ length: 40 }, (_, i) => ({ email: `hire${i}@example.com` })),
        { batchId: 'browser-cohort' },
      );
      // The list updates by itself (Server-Sent Events): no reload.
      await page.locator('tr[data-batch="browser-cohort"]').waitFor({ timeout: 15_000 });
      await page.click('a[href="/console/batches/browser-cohort"]');
      await page.locator('#batch-progress').getByText('finished: 37 succeeded, 3 failed').waitFor({ timeout: 30_000 });
      await expect(page.locator('#batch-progress .count').textContent()).resolves.toBe('40/40');
      await page.selectOption('select[name=summary]', 'needs attention');
      await page.click('form.filters button[type=submit]');
      await expect(page.locator('table.people tbody tr').count()).resolves.toBe(3);
    });

    await step(page, 'find a person', async () => {
      await page.fill('header input[name=email]', 'hire7@example.com');
      await page.press('header input[name=email]', 'Enter');
      await page.waitForURL(/\/console\/people\?email=hire7%40example\.com/);
      await page.locator('table.person').getByText('invited').waitFor();
      await page.locator('table.person').getByText('acme').waitFor();
    });

    await step(page, 'pause and resume', async () => {
      await page.goto(`${url}/console`);
      await page.click('button[data-action="pause"][data-account="acme"]');
      await page.locator('tr[data-account="acme"]').getByText('paused').waitFor({ timeout: 10_000 });
      expect(await pipeline.producer.queue('acme').isPaused()).toBe(true);
      await page.click('button[data-action="resume"][data-account="acme"]');
      await page.locator('tr[data-account="acme"]').getByText('running').waitFor({ timeout: 10_000 });
      expect(await pipeline.producer.queue('acme').isPaused()).toBe(false);
    });

    await step(page, 'replay failures after a dry-run count', async () => {
      const group = page.locator('#failures tr', { hasText: 'rejected' });
      await group.waitFor();
      let asked = '';
      page.once('dialog', async (dialog) => {
        asked = dialog.message();
        await dialog.accept();
      });
      await group.locator('button[data-action="replay"]').click();
      await page.getByText('3 invites of acme replayed').waitFor({ timeout: 10_000 });
      expect(asked).toBe('Replay 3 failed invites of acme (rejected)?');
      await page.locator('#failures').getByText('No failed invites.').waitFor({ timeout: 15_000 });
    });

    await step(page, 'screenshot for the docs', async () => {
      const shots = join(import.meta.dirname, '../../.tmp');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'console.png') });
      if (process.env.UPDATE_SCREENSHOTS === '1') copyFileSync(join(shots, 'console.png'), join(import.meta.dirname, '../../docs/console.png'));
    });

    await step(page, 'log out and be refused', async () => {
      await page.click('header button:has-text("Log out")');
      await page.waitForURL(`${url}/login`);
      await page.goto(`${url}/console`);
      expect(new URL(page.url()).pathname).toBe('/login');
      const api = await page.request.get(`${url}/v1/stats`);
      expect(api.status()).toBe(401);
    });
  }, 120_000);
});
