import { describe, expect, it } from 'vitest';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { closientFake } from '../../src/providers/closient/sandbox.ts';
import { stellasFake } from '../../src/providers/stellas/sandbox.ts';
import { sutroFake } from '../../src/providers/sutro/sandbox.ts';
import { rawRoleIds, unibeeFake } from '../../src/providers/unibee/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

async function fakeOf(handler: Parameters<typeof startFakeServer>[0]): Promise<FakeServer> {
  const server = await startFakeServer(handler);
  cleanups.push(() => server.close());
  return server;
}

const ORG = 'NBQ8ukvDUEUcFfYpRwbm4W';

describe('every provider end to end through Redis and the worker', () => {
  it('delivers to all five providers, each invite with its true outcome and one event', async () => {
    const stellas = stellasFake({ members: [] });
    const unibee = unibeeFake({ members: ['ours@example.com'], othersMembers: ['theirs@example.com'] });
    const closient = closientFake({ members: ['member@example.com'] });
    const sutro = sutroFake({ members: ['member@example.com'] });
    const servers = {
      betterstack: await fakeOf(betterstackHandler({ globalTokens: ['bs-global'], members: ['member@example.com'] })),
      stellas: await fakeOf(stellas.handler),
      unibee: await fakeOf(unibee.handler),
      closient: await fakeOf(closient.handler),
      sutro: await fakeOf(sutro.handler),
    };
    const p = await startPipeline(
      redis,
      {
        bs: { provider: 'betterstack', baseUrl: servers.betterstack.url, teamName: 'Acme', credentials: { token: { env: 'BS' } } },
        st: {
          provider: 'stellas',
          baseUrl: servers.stellas.url,
          businessId: 'biz_123',
          credentials: { secretKey: { env: 'ST_KEY' }, email: { env: 'ST_EMAIL' }, password: { env: 'ST_PW' } },
        },
        ub: { provider: 'unibee', baseUrl: servers.unibee.url, credentials: { apiKey: { env: 'UB' } } },
        cl: { provider: 'closient', baseUrl: servers.closient.url, orgId: ORG, credentials: { apiKey: { env: 'CL' } } },
        su: { provider: 'sutro', baseUrl: servers.sutro.url, addressesPerCall: 10, credentials: { token: { env: 'SU' } } },
      },
      {
        env: {
          BS: 'bs-global',
          ST_KEY: 'sandbox-secret-key',
          ST_EMAIL: 'ops@acme.example',
          ST_PW: 'sandbox-password',
          UB: 'sandbox-unibee-key',
          CL: 'sandbox-closient-key',
          SU: 'sandbox-sutro-jwt',
        },
      },
    );
    cleanups.push(() => p.close());

    await p.producer.inviteMany('bs', [{ email: 'new@example.com', role: 'member' }, { email: 'member@example.com' }]);
    await p.producer.inviteMany('st', [
      { email: 'a@example.com', role: 'Member' },
      { email: 'b@example.com', memberRoleId: 'role_abc123' },
      { email: 'c@example.com', role: 'Owner' },
    ]);
    await p.producer.inviteMany('ub', [
      { email: 'big@example.com', roleIds: ['9007199254740993'] },
      { email: 'ours@example.com', roleIds: [1] },
      { email: 'theirs@example.com', roleIds: [1] },
    ]);
    await p.producer.inviteMany('cl', [{ email: 'new@example.com', role: 'billing' }, { email: 'member@example.com' }]);
    const sutroEmails = [...Array.from({ length: 24 }, (_, i) => `s${i}@example.com`), 'member@example.com'];
    await p.producer.inviteMany(
      'su',
      sutroEmails.map((email) => ({ email })),
    );

    const events = await p.waitForInviteEvents(35, 20_000);
    const by = (account: string, email: string) => events.find((e) => e.account === account && e.email === email);
    expect(by('bs', 'new@example.com')).toMatchObject({ type: 'invite.succeeded', outcome: 'invited' });
    expect(by('bs', 'member@example.com')).toMatchObject({ outcome: 'already_member' });
    expect(servers.betterstack.requests.every((r) => r.query.get('team_name') === 'Acme')).toBe(true);
    expect(by('st', 'a@example.com')).toMatchObject({ outcome: 'invited' });
    expect(by('st', 'c@example.com')).toMatchObject({
      type: 'invite.failed',
      reasonClass: 'rejected',
      message: expect.stringContaining("role 'Owner' does not exist"),
    });
    expect(stellas.stats.signIns).toBe(1);
    expect(by('ub', 'big@example.com')).toMatchObject({ outcome: 'invited', requestId: expect.stringMatching(/^sandbox-req-/) });
    const bigCall = servers.unibee.requests.find((r) => r.body.includes('big@example.com'));
    expect(rawRoleIds(bigCall?.body ?? '')).toEqual(['9007199254740993']);
    expect(by('ub', 'ours@example.com')).toMatchObject({ outcome: 'already_member' });
    expect(by('ub', 'theirs@example.com')).toMatchObject({ type: 'invite.failed', message: expect.stringContaining('another UniBee merchant') });
    expect(by('cl', 'new@example.com')).toMatchObject({ outcome: 'invited', providerId: expect.any(String) });
    expect(by('cl', 'member@example.com')).toMatchObject({ outcome: 'already_member' });
    for (const email of sutroEmails.slice(0, 24)) expect(by('su', email)).toMatchObject({ outcome: 'invited' });
    expect(by('su', 'member@example.com')).toMatchObject({ outcome: 'already_member' });
    // 25 invites in fewer calls than invites: batching through BullMQ worked.
    expect(sutro.stats.callSizes.every((n) => n <= 10)).toBe(true);
    expect(sutro.stats.callSizes.some((n) => n > 1)).toBe(true);
    expect(new Set(events.map((e) => e.inviteId)).size).toBe(35);
  });

  it('Closient: holds the queue when RateLimit-Remaining reaches 0 instead of spending a call on a 429', async () => {
    const closient = closientFake({ perWindow: 3, windowSeconds: 2 });
    const server = await fakeOf(closient.handler);
    const p = await startPipeline(
      redis,
      { cl: { provider: 'closient', baseUrl: server.url, orgId: ORG, concurrency: 1, credentials: { apiKey: { env: 'CL' } } } },
      { env: { CL: 'sandbox-closient-key' } },
    );
    cleanups.push(() => p.close());
    await p.producer.inviteMany(
      'cl',
      Array.from({ length: 7 }, (_, i) => ({ email: `p${i}@example.com` })),
    );
    const events = await p.waitForInviteEvents(7, 20_000);
    expect(events.every((e) => e.outcome === 'invited')).toBe(true);
    expect(closient.stats.over).toBe(0); // never answered 429
    const holds = await p.accountEvents('account.rate_limited');
    expect(holds.length).toBeGreaterThanOrEqual(2);
    expect(holds[0]).toMatchObject({ reason: 'window_spent' });
  });

  it('Sutro: a worker dying mid-batch leaves every job of the batch to be retried, none lost', async () => {
    const sutro = sutroFake();
    let hang = true;
    const server = await fakeOf((req) => (hang ? { hang: true } : sutro.handler(req)));
    const account = { su: { provider: 'sutro', baseUrl: server.url, addressesPerCall: 5, timeoutMs: 30_000, credentials: { token: { env: 'SU' } } } };
    const config = { worker: { shutdownTimeoutMs: 300, lockDurationMs: 1000, stalledIntervalMs: 500 } };
    const first = await startPipeline(redis, account, { env: { SU: 'sandbox-sutro-jwt' }, config });
    await first.producer.inviteMany(
      'su',
      Array.from({ length: 5 }, (_, i) => ({ email: `d${i}@example.com` })),
    );
    await waitFor(() => server.requests.length >= 1, 10_000, 'the batch call');
    const prefix = first.config.redis.prefix;
    expect((await first.workers?.close())?.clean).toBe(false); // abandoned mid-call, like a crash
    await first.close();

    hang = false;
    const second = await startPipeline(redis, account, { env: { SU: 'sandbox-sutro-jwt' }, config: { ...config, redis: { url: redis.url, prefix } } });
    cleanups.push(() => second.close());
    const events = await second.waitForInviteEvents(5, 20_000);
    expect(events.map((e) => e.email).sort()).toEqual(['d0@example.com', 'd1@example.com', 'd2@example.com', 'd3@example.com', 'd4@example.com']);
    expect(events.every((e) => e.type === 'invite.succeeded')).toBe(true);
  });
});
