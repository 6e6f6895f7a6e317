/**
 * The console says why an account's rate is what it is (issue 24): after a 429 the paced rate column reads
 * "1/s (limit 2/s) — slowed after a 429 at 19:32 IST, back to 2/s around 19:34 IST", in the viewer's time zone,
 * where it used to read "1 / 1 s of 2 / 1 s". The 429 is recorded by the pacer a worker process runs, on the
 * stack's Redis.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invitebusKeys } from '../../src/redis.ts';
import { AccountPacer } from '../../src/worker/pacer.ts';
import { browserMissing, step } from '../support/browser.ts';
import { startConsoleStack } from '../support/console-stack.ts';
import { useRedis } from '../support/redis.ts';
import { wallClock } from '../support/wall-clock.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'paced-rate-browser-token-0123456789';
let stack: Awaited<ReturnType<typeof startConsoleStack>>;

/** How a viewer in `timeZone` reads a console clock: "19:32 IST", with the date when it is not their today. */
function clockIn(ms: number, timeZone: string, locale: string): string {
  const p = wallClock(ms, timeZone, locale);
  const today = wallClock(Date.now(), timeZone, locale);
  const day = `${p.year}-${p.month}-${p.day}`;
  return `${day === `${today.year}-${today.month}-${today.day}` ? '' : `${day} `}${p.hour}:${p.minute} ${p.timeZoneName}`;
}

describe.skipIf(browserMissing)('the paced rate in the console', () => {
  beforeAll(async () => {
    stack = await startConsoleStack(redis, {
      token: TOKEN,
      accounts: (url) => ({
        acme: { provider: 'betterstack', baseUrl: url, credentials: { token: { env: 'T' } }, rateLimit: { max: 2, durationMs: 1000 } },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('reads the limit while nothing moved it, then why it was slowed and when it is back, in the viewer’s zone', { timeout: 60_000 }, async () => {
    const timezoneId = 'Asia/Kolkata';
    const locale = 'en-GB';
    const context = await stack.browser.newContext({ timezoneId, locale });
    const page = await context.newPage();
    try {
      await step(page, 'log in', () => stack.login(page));
      const cell = page.locator('tr[data-account="acme"] td.paced');
      await expect(cell.textContent()).resolves.toBe('2/s, its limit');
      await expect(page.locator('#accounts th[title]').last().getAttribute('title')).resolves.toContain('climbs back to the limit');

      // A 429 in a worker process of the account: the pacer lowers the shared rate and records why.
      const { config, producer } = stack.pipeline;
      const pacer = new AccountPacer(producer.redis, invitebusKeys(config.redis.prefix).pacedRate('acme'), 2, pino({ level: 'silent' }));
      await pacer.start();
      await pacer.rateLimited();
      const record = await producer.redis.hgetall(invitebusKeys(config.redis.prefix).pacedRateChange('acme'));
      const at = Number(record.at);
      expect(record).toMatchObject({ from: '2.000', to: '1.000', reason: 'rate_limited' });

      await step(page, 'reload', () => page.reload());
      // 1/s to win back at 0.01/s a second: 100 s after the 429.
      await expect(cell.textContent()).resolves.toBe(
        `1/s (limit 2/s) — slowed after a 429 at ${clockIn(at, timezoneId, locale)}, back to 2/s around ${clockIn(at + 100_000, timezoneId, locale)}`,
      );
      const times = cell.locator('time');
      await expect(times.first().getAttribute('datetime')).resolves.toBe(new Date(at).toISOString());
      await expect(times.first().getAttribute('title')).resolves.toBe(`${new Date(at).toISOString().replace('T', ' ').slice(0, 19)} UTC`);
    } finally {
      await context.close();
    }
  });
});
