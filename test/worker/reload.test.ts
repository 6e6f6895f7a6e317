/**
 * Accounts change without a restart (issue 24): RunningWorkers.reload starts added accounts, drains removed and
 * changed ones, leaves the rest alone, and refuses a config the process could not start with.
 */
import { describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config/load.ts';
import { betterstackHandler, betterstackSandbox } from '../../src/providers/betterstack/sandbox.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { startProviderThread } from '../support/provider-thread.ts';
import { useRedis } from '../support/redis.ts';
import { startStack } from '../support/stack.ts';
import { maxInWindow } from '../support/timing.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();

const slow = (delayMs: number) => (req: Parameters<ReturnType<typeof betterstackHandler>>[0]) => ({ ...betterstackHandler()(req), delayMs });
const account = (baseUrl: string, extra: Record<string, unknown> = {}) => ({ provider: 'betterstack', baseUrl, ...betterstackSandbox.account, ...extra });
const emails = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.com` }));

/** The running config with other accounts: what a reloaded file with only its accounts edited parses to. */
function withAccounts(config: Config, accounts: Record<string, unknown>, redisChanges: Record<string, unknown> = {}): Config {
  return parseConfig({ redis: { ...config.redis, ...redisChanges }, defaults: config.defaults, worker: config.worker, accounts });
}

async function stack<K extends string>(
  fakes: Record<K, Parameters<typeof startStack>[1]['fakes'][string]>,
  accounts: Parameters<typeof startStack<K>>[1]['accounts'],
) {
  const s = await startStack(redis, { fakes, accounts, env: betterstackSandbox.env });
  cleanups.push(() => s.close());
  const workers = s.workers;
  if (workers === undefined) throw new Error('no workers');
  const workerOf = (name: string) => workers.workers.find((w) => w.account.name === name);
  return { ...s, workers, workerOf };
}

describe('config reload in a running worker', () => {
  it('starts an added account, whose queued invites are then delivered; an unchanged account keeps its worker and its call in flight', async () => {
    const s = await stack({ a: slow(800), b: betterstackHandler() }, (f) => ({ a: account(f.a.url) }));
    const next = withAccounts(s.config, { a: account(s.fakes.a.url), b: account(s.fakes.b.url) });
    // Queued for b before b runs anywhere (an HR system may enqueue as soon as the account is configured).
    s.producer.useConfig(next);
    await s.producer.inviteMany('b', emails('b', 3));
    await s.producer.invite('a', { email: 'a0@example.com' });
    await waitFor(() => s.fakes.a.requests.length === 1, 10_000, "a's call in flight");
    const aWorker = s.workerOf('a');
    expect(s.fakes.b.requests).toHaveLength(0);

    const result = await s.workers.reload(next);

    expect(result).toEqual({ applied: true, added: ['b'], removed: [], changed: [], unchanged: ['a'], problems: [] });
    expect(s.workerOf('a')).toBe(aWorker);
    const events = await s.waitForInviteEvents(4);
    expect(events.filter((e) => e.account === 'b' && e.outcome === 'invited')).toHaveLength(3);
    expect(events.filter((e) => e.account === 'a' && e.outcome === 'invited')).toHaveLength(1);
    expect(s.fakes.a.requests).toHaveLength(1);
  });

  it('drains a removed account: its calls in flight finish, no call follows, its waiting invites stay queued', async () => {
    const s = await stack({ a: betterstackHandler(), gone: slow(1000) }, (f) => ({ a: account(f.a.url), gone: account(f.gone.url, { concurrency: 2 }) }));
    await s.producer.inviteMany('gone', emails('g', 6));
    await waitFor(() => s.fakes.gone.requests.length === 2, 10_000, 'two calls in flight');

    const result = await s.workers.reload(withAccounts(s.config, { a: account(s.fakes.a.url) }));

    expect(result).toMatchObject({ applied: true, removed: ['gone'], unchanged: ['a'] });
    expect(s.workerOf('gone')).toBeUndefined();
    // Both calls in flight were answered and recorded before the reload returned.
    const counts = await s.producer.queue('gone').getJobCounts('wait', 'active', 'failed');
    expect(counts).toEqual({ wait: 4, active: 0, failed: 0 });
    const gone = (await s.inviteEvents()).filter((e) => e.account === 'gone');
    expect(gone.map((e) => e.type)).toEqual(['invite.succeeded', 'invite.succeeded']);
    // Nothing takes the waiting four: a worker would have fetched them at once (a is still served and delivers).
    await s.producer.invite('a', { email: 'after@example.com' });
    await waitFor(() => s.fakes.a.requests.length === 1, 10_000, "a's call");
    expect(s.fakes.gone.requests).toHaveLength(2);
    expect(await s.producer.queue('gone').getJobCounts('wait')).toEqual({ wait: 4 });
  });

  it('applies a lowered rate limit to the calls after the reload', async () => {
    // On its own thread: calls are stamped as a provider would, not late whenever the test runner is busy.
    const fake = await startProviderThread({ provider: 'betterstack' });
    cleanups.push(() => fake.close());
    const s = await stack({}, () => ({ a: account(fake.url, { rateLimit: { max: 20, durationMs: 1000 }, concurrency: 8 }) }));
    // At 20/s, 8 invites leave within half a second.
    await s.producer.inviteMany('a', emails('fast', 8));
    await s.waitForInviteEvents(8);
    expect(maxInWindow(await fake.arrivals(), 1000)).toBeGreaterThan(2);

    const result = await s.workers.reload(withAccounts(s.config, { a: account(fake.url, { rateLimit: { max: 2, durationMs: 1000 }, concurrency: 8 }) }));
    expect(result).toMatchObject({ applied: true, changed: ['a'] });
    const before = (await fake.arrivals()).length;
    await s.producer.inviteMany('a', emails('slow', 6));
    await s.waitForInviteEvents(14, 20_000);
    const after = (await fake.arrivals()).slice(before);
    expect(after).toHaveLength(6);
    expect(maxInWindow(after, 1000)).toBeLessThanOrEqual(2);
  });

  it('paces a raised rate limit from the new limit, not from the rate a 429 left under the old one', async () => {
    const s = await stack({ a: betterstackHandler() }, (f) => ({ a: account(f.a.url, { rateLimit: { max: 2, durationMs: 1000 } }) }));
    const keys = invitebusKeys(s.config.redis.prefix);
    // As a 429 leaves it: the account slowed to 1/s under its 2/s limit, and why.
    await redis.admin.set(keys.pacedRate('a'), '1');
    await redis.admin.hset(keys.pacedRateChange('a'), { from: '2', to: '1', reason: 'rate_limited', at: String(Date.now()), rateAt: String(Date.now()) });

    await s.workers.reload(withAccounts(s.config, { a: account(s.fakes.a.url, { rateLimit: { max: 20, durationMs: 1000 } }) }));

    expect(await redis.admin.get(keys.pacedRate('a'))).toBeNull();
    expect(await redis.admin.exists(keys.pacedRateChange('a'))).toBe(0);
  });

  it('refuses a config it could not start with and keeps running the old one', async () => {
    const s = await stack({ a: betterstackHandler() }, (f) => ({ a: account(f.a.url) }));
    const noToken = withAccounts(s.config, { a: account(s.fakes.a.url), b: account(s.fakes.a.url, { credentials: { token: { env: 'NOT_SET_ANYWHERE' } } }) });
    const moved = withAccounts(s.config, { a: account(s.fakes.a.url) }, { prefix: `${s.config.redis.prefix}-x` });

    const missing = await s.workers.reload(noToken);
    const restart = await s.workers.reload(moved);

    expect(missing.applied).toBe(false);
    expect(missing.problems.join('\n')).toMatch(/account 'b' has no credentials\.token.*NOT_SET_ANYWHERE/);
    expect(restart.applied).toBe(false);
    expect(restart.problems).toEqual([expect.stringMatching(/^redis\.prefix changed, which needs a restart/)]);
    expect(s.workers.engine.accounts).toEqual(['a']);
    await s.producer.invite('a', { email: 'still@example.com' });
    await s.waitForInviteEvents(1);
  });
});
