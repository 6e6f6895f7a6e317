/**
 * Times in the console are the viewer's (issue 23): the server writes UTC, said so; the page's script shows each
 * time in the browser's time zone with the zone named, in headless Chromium told to live in Paris or New York,
 * sections refreshed by events included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { browserMissing, step } from '../support/browser.ts';
import { startConsoleStack } from '../support/console-stack.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { wallClock } from '../support/wall-clock.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'time-zone-test-token-0123456789';
let stack: Awaited<ReturnType<typeof startConsoleStack>>;

/** How a viewer in `timeZone` reading `locale` should see an instant: its local date and time and its zone's name. */
function expected(iso: string, timeZone: string, locale: string): string {
  const c = wallClock(new Date(iso), timeZone, locale);
  return `${c.year}-${c.month}-${c.day} ${c.hour}:${c.minute}:${c.second} ${c.timeZoneName}`;
}

describe.skipIf(browserMissing)('times in the viewer’s time zone', () => {
  beforeAll(async () => {
    stack = await startConsoleStack(redis, { token: TOKEN });
    const { producer, config } = stack.pipeline;
    await producer.inviteMany('acme', [{ email: 'ann@example.com' }], { batchId: 'first' });
    await waitFor(async () => (await batchStatus(producer.redis, config.redis.prefix, 'first'))?.complete, 15_000, 'first done');
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it.each([
    ['Europe/Paris', 'en-GB', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T$/],
    ['America/New_York', 'en-US', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T$/],
  ])(
    'shows times in %s (%s) with the zone named, after a live refresh too',
    async (timezoneId, locale, shape) => {
      const context = await stack.browser.newContext({ timezoneId, locale });
      const page = await context.newPage();
      try {
        await step(page, `log in (${timezoneId})`, () => stack.login(page));
        const started = page.locator('tr[data-batch="first"] time');
        const iso = (await started.getAttribute('datetime')) ?? '';
        await expect(started.textContent()).resolves.toBe(expected(iso, timezoneId, locale));
        expect(await started.textContent()).toMatch(shape);
        await expect(started.getAttribute('title')).resolves.toBe(`${iso.replace('T', ' ').slice(0, 19)} UTC`);

        // A section swapped in by the live refresh is localised as well.
        const batchId = `later-${timezoneId.replace('/', '-')}`;
        await stack.pipeline.producer.inviteMany('acme', [{ email: `bob-${locale}@example.com` }], { batchId });
        const later = page.locator(`tr[data-batch="${batchId}"] time`);
        await step(page, `live refresh (${timezoneId})`, () => later.waitFor({ timeout: 15_000 }));
        const laterIso = (await later.getAttribute('datetime')) ?? '';
        await expect(later.textContent()).resolves.toBe(expected(laterIso, timezoneId, locale));
      } finally {
        await context.close();
      }
    },
    60_000,
  );
});
