import { describe, expect, it } from 'vitest';
import { resumeAccount } from '../../src/accounts.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { stellasFake } from '../../src/providers/stellas/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

async function fakeOf(handler: Parameters<typeof startFakeServer>[0]): Promise<FakeServer> {
  const s = await startFakeServer(handler);
  cleanups.push(() => s.close());
  return s;
}

/** Waits for the account to pause, then checks that no call reaches the provider for a while. */
async function expectPausedAndQuiet(p: Awaited<ReturnType<typeof startPipeline>>, account: string, fake: FakeServer) {
  const [paused] = await waitFor(async () => {
    const e = await p.accountEvents('account.paused');
    return e.length > 0 ? e : undefined;
  });
  const queue = p.producer.queue(account);
  await waitFor(async () => (await queue.getActiveCount()) === 0);
  const callsAtPause = fake.requests.length;
  await new Promise((r) => setTimeout(r, 1000));
  expect(fake.requests.length).toBe(callsAtPause); // no further calls while paused
  const counts = await queue.getJobCounts('wait', 'failed', 'completed');
  expect(counts.failed).toBe(0);
  expect(counts.completed).toBe(0);
  expect(await p.inviteEvents()).toEqual([]);
  return { paused, callsAtPause, counts };
}

describe('account circuit breaker', () => {
  it('Stellas: a 401 after the one re-sign-in pauses the account; jobs wait, no further calls until resume', async () => {
    const stellas = stellasFake({ secretKey: 'rotated-at-stellas' });
    const fake = await fakeOf(stellas.handler);
    const p = await startPipeline(
      redis,
      {
        st: {
          provider: 'stellas',
          baseUrl: fake.url,
          businessId: 'biz_123',
          concurrency: 1,
          credentials: { secretKey: { env: 'K' }, email: { env: 'E' }, password: { env: 'P' } },
        },
      },
      { env: { K: 'old-secret-key', E: 'ops@acme.example', P: 'sandbox-password' } },
    );
    cleanups.push(() => p.close());
    await p.producer.inviteMany(
      'st',
      Array.from({ length: 5 }, (_, i) => ({ email: `s${i}@example.com`, memberRoleId: 'role_abc123' })),
    );
    const { paused, counts } = await expectPausedAndQuiet(p, 'st', fake);
    expect(paused).toMatchObject({ account: 'st', provider: 'stellas', reason: 'auth_failed' });
    expect(counts.wait).toBe(5);
    expect(stellas.stats.signIns).toBe(2); // the first sign-in and exactly one re-sign-in
    const stats = await p.producer.redis.hgetall(`${p.config.redis.prefix}:_invitebus:account:st`);
    expect(stats.reason).toBe('auth_failed');

    // Resuming without a fix: one more attempt, paused again, still nothing failed.
    await resumeAccount(p.producer.queue('st'), p.events, { account: 'st', provider: 'stellas' });
    await waitFor(async () => (await p.accountEvents('account.paused')).length === 2);
    expect(await p.producer.queue('st').getJobCounts('failed')).toEqual({ failed: 0 });
  });

  it('Better Stack: a read-only token (403) pauses the account', async () => {
    const fake = await fakeOf(betterstackHandler({ readOnlyTokens: ['ro-token'] }));
    const p = await startPipeline(
      redis,
      { bs: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } } },
      { env: { T: 'ro-token' } },
    );
    cleanups.push(() => p.close());
    await p.producer.inviteMany('bs', [{ email: 'r1@example.com' }, { email: 'r2@example.com' }, { email: 'r3@example.com' }]);
    const { paused } = await expectPausedAndQuiet(p, 'bs', fake);
    expect(paused).toMatchObject({ reason: 'auth_failed', message: B.readOnly.errors });
  });
});
