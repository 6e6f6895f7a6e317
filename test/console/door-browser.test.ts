/**
 * The browser door in headless Chromium (issue 20, case 8): a hostile `next` does not take the browser off the
 * site after login, a page on another origin cannot frame the console, and the console still renders and works
 * under its Content Security Policy (no violation reported).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { createMetrics } from '../../src/metrics.ts';
import { browserMissing, launch, step } from '../support/browser.ts';
import { startPipeline } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'door-browser-token-0123456789';
let app: FastifyInstance;
let url: string;
let browser: Browser;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
/** Another origin on the same site (same host, another port): SameSite=Strict cookies still go along. */
let framer: Server;
let framerUrl: string;

/** A fresh browser profile, logged in to the console. */
async function loggedIn(): Promise<BrowserContext> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/login`);
  await page.fill('input[name=token]', TOKEN);
  await page.click('button[type=submit]');
  await page.waitForURL(`${url}/console`);
  await page.close();
  return context;
}

describe.skipIf(browserMissing)('the browser door in Chromium', () => {
  beforeAll(async () => {
    const acme = { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'T' } } };
    pipeline = await startPipeline(redis, { acme }, { workers: false });
    app = await buildApi({ producer: pipeline.producer, token: TOKEN, registry: createMetrics().registry });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    framer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>framer</title><iframe id="victim" src="${url}/console" width="1200" height="800"></iframe>`);
    });
    await new Promise<void>((resolve) => framer.listen(0, '127.0.0.1', resolve));
    framerUrl = `http://127.0.0.1:${(framer.address() as AddressInfo).port}/`;
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => framer?.close(resolve));
    await app?.close();
    await pipeline?.close();
  });

  it('logs in from /login?next=/%09/other-host and stays on the site', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const offsite: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).hostname === 'other-host') offsite.push(request.url());
    });
    await step(page, 'hostile next', async () => {
      await page.goto(`${url}/login?next=/%09/other-host`);
      await page.fill('input[name=token]', TOKEN);
      await page.click('button[type=submit]');
      await page.waitForURL(`${url}/console`);
      await page.locator('tr[data-account="acme"]').waitFor();
    });
    process.stdout.write(`Chromium after /login?next=/%09/other-host: ${page.url()}, ${offsite.length} requests to other-host\n`);
    expect(offsite).toEqual([]);
    await context.close();
  });

  it('a page on another origin cannot frame the console', async () => {
    const context = await loggedIn();
    const page = await context.newPage();
    await step(page, 'framed console', async () => {
      await page.goto(framerUrl, { waitUntil: 'load' });
      const frame = page.frames().find((f) => f !== page.mainFrame());
      const buttons = (await frame?.locator('button[data-action="pause"]').count()) ?? 0;
      process.stdout.write(`console framed by ${framerUrl}: ${buttons} Pause buttons in the frame (frame at ${frame?.url()})\n`);
      expect(buttons).toBe(0);
      // Chromium shows its error page in place of the refused frame.
      expect(frame?.url()).toBe('chrome-error://chromewebdata/');
    });
    expect(await pipeline.producer.queue('acme').isPaused()).toBe(false);
    await context.close();
  });

  it('renders the console and its buttons work under the CSP, with no violation', async () => {
    await pipeline.producer.inviteMany(
      'acme',
      Array.from({ length: 5 }, (_, i) => ({ email: `csp${i}@example.com` })),
      { batchId: 'csp-cohort' },
    );
    const context = await loggedIn();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await step(page, 'console under CSP', async () => {
      await page.goto(`${url}/console`);
      await page.locator('tr[data-batch="csp-cohort"] svg.bar').waitFor();
      // The stylesheet applied (a same-origin file is allowed): the bar has its CSS width, not the SVG default.
      expect((await page.locator('tr[data-batch="csp-cohort"] svg.bar').boundingBox())?.width).toBeGreaterThan(100);
      await page.click('button[data-action="pause"][data-account="acme"]');
      await page.locator('tr[data-account="acme"]').getByText('paused').waitFor({ timeout: 10_000 });
      await page.click('button[data-action="resume"][data-account="acme"]');
      await page.locator('tr[data-account="acme"]').getByText('running').waitFor({ timeout: 10_000 });
      await page.click('a[href="/console/batches/csp-cohort"]');
      await page.locator('#batch-progress svg.bar').waitFor();
    });
    expect(violations).toEqual([]);
    expect(await pipeline.producer.queue('acme').isPaused()).toBe(false);
    await context.close();
  }, 60_000);
});
