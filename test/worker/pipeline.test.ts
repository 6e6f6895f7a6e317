import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { betterstackBodies as B, type BetterStackFakeOptions, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { finishedJob, startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const TOKEN = 'bs-team-token';
const cleanups = useCleanups();

async function setup(options: { fake?: BetterStackFakeOptions; account?: Record<string, unknown> } = {}) {
  const tokens = options.fake?.tokens ?? [TOKEN];
  const fake: FakeServer = await startFakeServer(betterstackHandler({ ...options.fake, tokens }));
  const pipeline = await startPipeline(
    redis,
    { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } }, concurrency: 2, ...options.account } },
    { env: { BS_TOKEN: TOKEN } },
  );
  cleanups.push(async () => {
    await pipeline.close();
    await fake.close();
  });
  return { fake, pipeline, queue: pipeline.producer.queue('acme'), tokens };
}

describe('pipeline through Redis and a local Better Stack', () => {
  it('invites a new address: job completes, one succeeded event', async () => {
    const { fake, pipeline, queue } = await setup();
    const { id, duplicate } = await pipeline.producer.invite('acme', { email: 'New.User@Example.com', role: 'member' });
    expect(duplicate).toBe(false);
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({
      type: 'invite.succeeded',
      inviteId: id,
      account: 'acme',
      provider: 'betterstack',
      email: 'New.User@Example.com',
      outcome: 'invited',
      status: '201',
      attempts: '1',
    });
    // The job is removed as it completes; what is kept of it (its sent record) says how it ended.
    const job = await finishedJob(queue, id);
    expect(await job.getState()).toBe('completed');
    expect(job.returnvalue?.outcome).toMatchObject({ kind: 'invited', providerId: '202' });
    expect(await queue.getJob(id)).toBeUndefined();
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.json).toEqual({ email: 'New.User@Example.com', role: 'member' });
  });

  it('treats "already a member" (200) as success', async () => {
    const { pipeline } = await setup({ fake: { members: ['alice@example.com'] } });
    await pipeline.producer.invite('acme', { email: 'alice@example.com' });
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({ type: 'invite.succeeded', outcome: 'already_member', status: '200' });
  });

  it('fails a 422 at once, without retrying, with the provider message', async () => {
    const { fake, pipeline, queue } = await setup();
    fake.script({ status: 422, body: B.invalidEmail });
    const { id } = await pipeline.producer.invite('acme', { email: 'odd@example.com' });
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({ type: 'invite.failed', outcome: 'rejected', reasonClass: 'rejected', message: B.invalidEmail.errors, status: '422' });
    const job = await finishedJob(queue, id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
    expect(fake.requests).toHaveLength(1);
  });

  it('on 429 with Retry-After: 2 sends nothing to the account for 2 s, then succeeds without spending attempts', async () => {
    const { fake, pipeline, queue } = await setup({ account: { concurrency: 1 } });
    fake.script({ status: 429, headers: { 'retry-after': '2' }, body: B.tooMany });
    const ids = [];
    for (const email of ['r1@example.com', 'r2@example.com', 'r3@example.com']) ids.push((await pipeline.producer.invite('acme', { email })).id);
    await pipeline.waitForInviteEvents(3);
    const [limited, ...rest] = fake.requests;
    expect(rest.length).toBe(3); // the limited invite again + the other two
    for (const r of rest) expect(r.at - (limited?.at ?? 0)).toBeGreaterThanOrEqual(2000);
    // attemptsMade counts the successful run only: the rate-limited start was not an attempt.
    for (const id of ids) expect((await finishedJob(queue, id)).attemptsMade).toBe(1);
    const [wait] = await pipeline.accountEvents('account.rate_limited');
    expect(wait).toMatchObject({ account: 'acme', waitMs: '2000' });
  });

  it('a 429 seen by one worker process holds the account in every process', async () => {
    const { fake, pipeline } = await setup({ account: { concurrency: 1 } });
    // A second worker "process" on the same queue: its own connection and its own BullMQ worker.
    const conn = redis.connect();
    const other = await runWorkers(pipeline.config, { env: { BS_TOKEN: TOKEN }, logger: pino({ level: 'silent' }), redis: conn });
    cleanups.push(async () => {
      await other.close();
      await conn.quit();
    });
    fake.script({ status: 429, headers: { 'retry-after': '2' }, body: B.tooMany });
    await pipeline.producer.inviteMany(
      'acme',
      Array.from({ length: 6 }, (_, i) => ({ email: `h${i}@example.com` })),
    );
    await pipeline.waitForInviteEvents(6);
    const limitedAt = fake.requests[0]?.at ?? 0;
    // Inside the 2 s window only a call the other process had already started may arrive (concurrency 1).
    const inside = fake.requests.slice(1).filter((r) => r.at < limitedAt + 2000);
    expect(inside.length).toBeLessThanOrEqual(1);
    expect(fake.requests).toHaveLength(7);
  });

  it('honours Retry-After as an HTTP-date, measured against the response Date', async () => {
    const { fake, pipeline } = await setup({ account: { concurrency: 1 } });
    const now = Math.floor(Date.now() / 1000) * 1000;
    fake.script({ status: 429, headers: { date: new Date(now).toUTCString(), 'retry-after': new Date(now + 2000).toUTCString() }, body: B.tooMany });
    await pipeline.producer.invite('acme', { email: 'date@example.com' });
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({ outcome: 'invited', attempts: '1' });
    expect(fake.requests).toHaveLength(2);
    expect((fake.requests[1]?.at ?? 0) - (fake.requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    const [wait] = await pipeline.accountEvents('account.rate_limited');
    expect(wait?.waitMs).toBe('2000');
  });

  it('retries 500 twice, then succeeds on the 201', async () => {
    const { fake, pipeline, queue } = await setup();
    fake.script({ status: 500, body: { errors: 'boom' } }, { status: 500, rawBody: '<html>oops' });
    const { id } = await pipeline.producer.invite('acme', { email: 'flaky@example.com' });
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({ type: 'invite.succeeded', outcome: 'invited', attempts: '3' });
    expect(fake.requests).toHaveLength(3);
    expect((await finishedJob(queue, id)).attemptsMade).toBe(3);
  });

  it('gives up after the configured attempts with the last reason', async () => {
    const { fake, pipeline } = await setup({ account: { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 } } });
    fake.script({ status: 502, body: {} }, { status: 503, body: {} }, { status: 500, body: { errors: 'still down' } });
    await pipeline.producer.invite('acme', { email: 'down@example.com' });
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({ type: 'invite.failed', reasonClass: 'retries_exhausted', outcome: 'retryable', attempts: '3' });
    expect(event?.message).toMatch(/still down/);
    expect(fake.requests).toHaveLength(3);
  });

  it('retries a call that timed out, then succeeds', async () => {
    const { fake, pipeline } = await setup({ account: { timeoutMs: 300 } });
    fake.script({ hang: true });
    await pipeline.producer.invite('acme', { email: 'slow@example.com' });
    const [event] = await pipeline.waitForInviteEvents(1);
    expect(event).toMatchObject({ outcome: 'invited', attempts: '2' });
    expect(fake.requests).toHaveLength(2);
  });

  it('delivers a duplicate enqueue once, in any letter case, before and after completion', async () => {
    const { fake, pipeline } = await setup();
    const first = await pipeline.producer.invite('acme', { email: 'dup@example.com' });
    const second = await pipeline.producer.invite('acme', { email: 'DUP@Example.com ' });
    expect(second).toEqual({ id: first.id, duplicate: true });
    await pipeline.waitForInviteEvents(1);
    const third = await pipeline.producer.inviteMany('acme', [{ email: 'dup@example.com' }, { email: 'other@example.com' }, { email: 'Other@example.com' }]);
    expect(third).toMatchObject({ accepted: 1, duplicates: 2, rejected: [] });
    await pipeline.waitForInviteEvents(2);
    expect(fake.requests.map((r) => (r.json as { email: string }).email).sort()).toEqual(['dup@example.com', 'other@example.com']);
  });

  it('on 401 pauses the account: jobs stay waiting, none fail; resume delivers them', async () => {
    const { fake, pipeline, queue, tokens } = await setup({ fake: { tokens: ['rotated-token'] } });
    const result = await pipeline.producer.inviteMany(
      'acme',
      ['a', 'b', 'c', 'd', 'e'].map((n) => ({ email: `${n}@example.com` })),
    );
    expect(result.accepted).toBe(5);
    const [paused] = await waitFor(async () => {
      const found = await pipeline.accountEvents('account.paused');
      return found.length > 0 ? found : undefined;
    });
    expect(paused).toMatchObject({ account: 'acme', reason: 'auth_failed' });
    expect(await queue.isPaused()).toBe(true);
    const counts = await waitFor(async () => {
      const c = await queue.getJobCounts('wait', 'active', 'failed', 'completed', 'delayed');
      return c.active === 0 ? c : undefined;
    });
    expect(counts.failed).toBe(0);
    expect(counts.completed).toBe(0);
    expect(counts.wait ?? 0).toBe(5);
    expect(fake.requests.length).toBeLessThanOrEqual(2); // at most the calls in flight (concurrency 2)
    expect(await pipeline.inviteEvents()).toEqual([]);

    tokens.push(TOKEN); // the operator fixes the credential at the provider
    const { resumeAccount } = await import('../../src/accounts.ts');
    await resumeAccount(queue, pipeline.events, { account: 'acme', provider: 'betterstack' });
    const events = await pipeline.waitForInviteEvents(5);
    expect(events.every((e) => e.type === 'invite.succeeded')).toBe(true);
    expect(await pipeline.accountEvents('account.resumed')).toHaveLength(1);
  });

  it('pauses the account on a spent quota (422) instead of failing every invite', async () => {
    const { pipeline } = await setup({ fake: { quota: 1 }, account: { concurrency: 1 } });
    await pipeline.producer.inviteMany('acme', [{ email: 'q1@example.com' }, { email: 'q2@example.com' }, { email: 'q3@example.com' }]);
    const [paused] = await waitFor(async () => {
      const found = await pipeline.accountEvents('account.paused');
      return found.length > 0 ? found : undefined;
    });
    expect(paused).toMatchObject({ reason: 'quota', message: B.quota.errors });
    const { accountStats } = await import('../../src/stats.ts');
    const counts = await waitFor(async () => {
      const [c] = await accountStats(pipeline.producer, ['acme']);
      return c?.active === 0 && c.completed === 1 ? c : undefined;
    });
    expect(counts.failed).toBe(0);
    expect(counts.waiting).toBe(2);
  });

  it('pauses the account when a global token has several teams and no teamName (a configuration error)', async () => {
    const { pipeline, queue } = await setup({ fake: { tokens: [], globalTokens: [TOKEN] } });
    await pipeline.producer.inviteMany('acme', [{ email: 't1@example.com' }, { email: 't2@example.com' }]);
    const [paused] = await waitFor(async () => {
      const found = await pipeline.accountEvents('account.paused');
      return found.length > 0 ? found : undefined;
    });
    expect(paused).toMatchObject({ reason: 'config', message: B.multipleTeams.errors });
    const counts = await waitFor(async () => {
      const c = await queue.getJobCounts('wait', 'active', 'failed');
      return c.active === 0 ? c : undefined;
    });
    expect(counts).toEqual({ wait: 2, active: 0, failed: 0 });
  });

  it('ends an invite that is rate-limited without end, with that reason', async () => {
    const { pipeline } = await setup({ fake: { tokens: [] }, account: { rateLimited: { maxStarts: 3, baseDelayMs: 10, maxDelayMs: 20, maxWaitMs: 1000 } } });
    const fake2 = await startFakeServer(() => ({ status: 429, headers: { 'retry-after': '0' }, body: B.tooMany }));
    cleanups.push(() => fake2.close());
    const p2 = await startPipeline(
      redis,
      {
        forever: {
          provider: 'betterstack',
          baseUrl: fake2.url,
          credentials: { token: { env: 'T' } },
          rateLimited: { maxStarts: 3, baseDelayMs: 10, maxDelayMs: 20, maxWaitMs: 1000 },
        },
      },
      { env: { T: 'x' } },
    );
    cleanups.push(() => p2.close());
    await p2.producer.invite('forever', { email: 'never@example.com' });
    const [event] = await p2.waitForInviteEvents(1);
    expect(event).toMatchObject({ type: 'invite.failed', reasonClass: 'rate_limited_exhausted', outcome: 'rate_limited' });
    expect(fake2.requests).toHaveLength(3);
    expect(await pipeline.inviteEvents()).toEqual([]);
  });

  it('writes exactly one completion event per invite across a mixed batch', async () => {
    const { fake, pipeline } = await setup({ fake: { members: ['m0@example.com', 'm1@example.com'] }, account: { concurrency: 4 } });
    fake.script(
      { status: 500, body: {} },
      { status: 422, body: B.invalidEmail },
      { status: 429, headers: { 'retry-after': '0' }, body: B.tooMany },
      { reset: true },
    );
    const invites = [
      ...Array.from({ length: 40 }, (_, i) => ({ email: `u${i}@example.com`, role: 'member' })),
      { email: 'm0@example.com' },
      { email: 'm1@example.com' },
      { email: 'not an email' },
      { email: 'x@example.com', role: 'admin' },
    ];
    const result = await pipeline.producer.inviteMany('acme', invites, { batchId: 'batch-1', chunkSize: 7 });
    expect(result).toMatchObject({ batchId: 'batch-1', accepted: 42, duplicates: 0 });
    expect(result.rejected).toEqual([
      { index: 42, field: 'email', message: "'not an email' is not a valid email address" },
      { index: 43, field: 'role', message: expect.stringMatching(/admin cannot be invited/) },
    ]);
    const events = await pipeline.waitForInviteEvents(42);
    // let any stray duplicate show up before counting
    await new Promise((r) => setTimeout(r, 300));
    const all = await pipeline.inviteEvents();
    expect(all).toHaveLength(42);
    expect(new Set(all.map((e) => e.inviteId)).size).toBe(42);
    expect(events.every((e) => e.batchId === 'batch-1')).toBe(true);
    expect(all.filter((e) => e.type === 'invite.failed')).toHaveLength(1);
    // the 429 did not spend an attempt; the 500 and the reset did
    expect(all.filter((e) => e.attempts === '2')).toHaveLength(2);
  });
});
