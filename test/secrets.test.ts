import { describe, expect, it } from 'vitest';
import { batchReport } from '../src/batches.ts';
import { parseConfig } from '../src/config/load.ts';
import { Producer } from '../src/producer.ts';
import { betterstackHandler } from '../src/providers/betterstack/sandbox.ts';
import { SANDBOX_CREDENTIALS, startSandbox } from '../src/sandbox/index.ts';
import { runWorkers } from '../src/worker/run.ts';
import { useCleanups } from './support/cleanups.ts';
import { captureLogs } from './support/log-capture.ts';
import { waitFor } from './support/pipeline.ts';
import { useRedis } from './support/redis.ts';
import { startStack } from './support/stack.ts';

const redis = useRedis(import.meta.url);
const SECRET = 'bs-SECRET-9f8e7d6c5b4a';

/** Every key and value under a prefix, as text: strings, hashes, lists, sets, sorted sets, streams. */
async function dump(prefix: string): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.admin.type(key);
      out.push(key);
      if (type === 'string') out.push(String(await redis.admin.get(key)));
      if (type === 'hash') out.push(JSON.stringify(await redis.admin.hgetall(key)));
      if (type === 'list') out.push(JSON.stringify(await redis.admin.lrange(key, 0, -1)));
      if (type === 'set') out.push(JSON.stringify(await redis.admin.smembers(key)));
      if (type === 'zset') out.push(JSON.stringify(await redis.admin.zrange(key, '0', '-1')));
      if (type === 'stream') out.push(JSON.stringify(await redis.admin.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

const cleanups = useCleanups('file');

describe('secret hygiene', () => {
  it('no credential value reaches Redis, job data, events or logs, whatever the outcome', async () => {
    const { lines, logger } = captureLogs();
    const stack = await startStack(redis, {
      fakes: { fake: betterstackHandler({ tokens: [SECRET], members: ['m@example.com'] }) },
      accounts: (f) => ({
        good: { provider: 'betterstack', baseUrl: f.fake.url, credentials: { token: { env: 'GOOD' } } },
        bad: { provider: 'betterstack', baseUrl: f.fake.url, credentials: { token: { env: 'BAD' } } },
      }),
      config: () => ({ defaults: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 } } }),
      env: { GOOD: SECRET, BAD: `${SECRET}-revoked` },
      logger,
    });
    cleanups.push(() => stack.close());
    const { producer, fakes } = stack;
    const fake = fakes.fake;
    fake.script({ status: 500, body: {} }, { status: 429, headers: { 'retry-after': '0' }, body: {} });
    const prefix = stack.config.redis.prefix;

    await producer.inviteMany('good', [{ email: 'a@example.com' }, { email: 'b@example.com' }, { email: 'm@example.com' }]);
    await producer.inviteMany('bad', [{ email: 'c@example.com' }]);
    await waitFor(async () => (await producer.events().read()).length >= 5, 15_000, 'events');
    await waitFor(async () => (await producer.queue('bad').isPaused()) && (await producer.queue('bad').getActiveCount()) === 0);

    const stored = await dump(prefix);
    expect(stored).toContain('a@example.com'); // the dump really holds the jobs
    expect(stored).not.toContain(SECRET);
    const logs = lines.join('');
    expect(logs).toContain('provider answered');
    expect(logs).not.toContain(SECRET);
    expect(fake.requests.some((r) => r.headers.authorization === `Bearer ${SECRET}`)).toBe(true);
  });

  it('after a run with every provider, success and failure alike, no credential or session token appears anywhere', async () => {
    const sandbox = await startSandbox({ chaos: { rate5xx: 0.1 } });
    cleanups.push(() => sandbox.close());
    const WRONG = 'wrong-stellas-secret-5e1f';
    const prefix = `${redis.prefix}-all`;
    const config = parseConfig({
      redis: { url: redis.url, prefix },
      defaults: { retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 20 } },
      accounts: {
        ...sandbox.accounts,
        'stellas-wrong': {
          ...sandbox.accounts['sandbox-stellas'],
          credentials: { secretKey: { env: 'WRONG' }, email: { env: 'SANDBOX_STELLAS_EMAIL' }, password: { env: 'SANDBOX_STELLAS_PASSWORD' } },
        },
      },
    });
    const { lines, logger } = captureLogs();
    const conn = redis.connect();
    const wconn = redis.connect();
    const producer = new Producer(config, { redis: conn });
    const workers = await runWorkers(config, { env: { ...SANDBOX_CREDENTIALS, WRONG }, logger, redis: wconn });
    cleanups.push(async () => {
      await workers.close();
      await producer.close();
      await conn.quit();
      await wconn.quit();
    });
    const people = Array.from({ length: 6 }, (_, i) => `p${i}@example.com`);
    const fields: Record<string, Record<string, unknown>> = {
      'sandbox-stellas': { role: 'Member' },
      'stellas-wrong': { role: 'Member' },
      'sandbox-unibee': { roleIds: ['1'] },
    };
    for (const account of Object.keys(config.accounts)) {
      await producer.inviteMany(account, [...people.map((email) => ({ email, ...fields[account] })), { email: 'p0@example.com' }], { batchId: `b-${account}` });
    }
    await waitFor(
      async () => (await producer.events().read('-', 10_000)).filter((e) => e.fields.type === 'batch.completed').length >= 5,
      30_000,
      'five batches',
    );
    await waitFor(async () => producer.queue('stellas-wrong').isPaused());

    const secrets = [...Object.values(SANDBOX_CREDENTIALS), WRONG, 'sandbox-jwt-'];
    const stored = await dump(prefix);
    const report: string[] = [];
    for (const account of Object.keys(config.accounts)) for await (const l of batchReport(producer, `b-${account}`)) report.push(JSON.stringify(l));
    const events = JSON.stringify(await producer.events().read('-', 10_000));
    const logs = lines.join('');
    expect(stored).toContain('p1@example.com');
    expect(report.length).toBeGreaterThanOrEqual(30);
    expect(logs).toContain('account paused');
    for (const secret of secrets) {
      expect(stored, `Redis holds ${secret}`).not.toContain(secret);
      expect(logs, `logs hold ${secret}`).not.toContain(secret);
      expect(events, `events hold ${secret}`).not.toContain(secret);
      expect(report.join('\n'), `report holds ${secret}`).not.toContain(secret);
    }
  });
});
