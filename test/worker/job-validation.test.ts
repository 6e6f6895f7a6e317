/**
 * Nothing unvalidated reaches a provider (issue: exact accounting, item 5). Jobs written by bull-board, by an
 * older version or by hand skip the producer; the worker checks every job's data with the provider's schema
 * before each call and fails it `rejected` (reason invalid_job_data) when it does not hold.
 */
import { describe, expect, it } from 'vitest';
import { INVITE_JOB } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { unibeeFake } from '../../src/providers/unibee/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

describe('the worker validates job data before every call', () => {
  it('fails hand-written, hostile or old-format jobs as rejected (invalid_job_data) without calling the provider', async () => {
    const bs = await startFakeServer(betterstackHandler());
    const ub = await startFakeServer(unibeeFake({ qps: 1000 }).handler);
    cleanups.push(
      () => bs.close(),
      () => ub.close(),
    );
    const p = await startPipeline(
      redis,
      {
        acme: { provider: 'betterstack', baseUrl: bs.url, retry: { attempts: 3 }, credentials: { token: { env: 'T' } } },
        money: { provider: 'unibee', baseUrl: ub.url, retry: { attempts: 3 }, credentials: { apiKey: { env: 'K' } } },
      },
      { env: { T: 'bs-team-token', K: 'sandbox-unibee-key' } },
    );
    cleanups.push(() => p.close());
    const now = Date.now();
    const data = (account: string, provider: string, invite: unknown) => ({ account, provider, invite, enqueuedAt: now, batchId: 'by-hand' });
    const hostile = [
      // What bull-board's "add job" let through: a role id pasted into the request changed the invited address.
      ['money', 'ub-paste', data('money', 'unibee', { email: 'victim@example.com', roleIds: ['1],"email":"attacker@example.com","x":[1'] })],
      ['acme', 'bs-crlf', data('acme', 'betterstack', { email: 'a@example.com\r\nBcc: b@example.com', role: 'member' })],
      ['acme', 'bs-admin', data('acme', 'betterstack', { email: 'c@example.com', role: 'admin' })],
      ['acme', 'bs-no-invite', { account: 'acme', provider: 'betterstack', enqueuedAt: now }],
      ['acme', 'bs-not-object', 'hello'],
      ['acme', 'bs-other-account', data('money', 'unibee', { email: 'd@example.com' })],
    ] as const;
    for (const [account, id, jobData] of hostile) await p.producer.queue(account).add(INVITE_JOB, jobData, { jobId: id, attempts: 3 });
    // A well-formed job added by hand is delivered, normalised by the schema like an enqueued one.
    await p.producer.queue('money').add(INVITE_JOB, data('money', 'unibee', { email: 'ok@example.com', roleIds: [1] }), { jobId: 'ub-ok' });

    const failed = await waitFor(async () => {
      const jobs = [...(await p.producer.queue('acme').getFailed()), ...(await p.producer.queue('money').getFailed())];
      return jobs.length === hostile.length ? jobs : undefined;
    }, 15_000);
    for (const job of failed) {
      expect(job.failedReason, String(job.id)).toMatch(/^rejected: invalid_job_data: /);
      expect(job.attemptsMade, String(job.id)).toBe(1);
    }
    expect(failed.find((j) => j.id === 'ub-paste')?.failedReason).toMatch(/roleIds\.0/);
    expect(failed.find((j) => j.id === 'bs-crlf')?.failedReason).toMatch(/email/);
    expect(failed.find((j) => j.id === 'bs-other-account')?.failedReason).toMatch(/account/);
    await waitFor(async () => (await p.producer.queue('money').getCompletedCount()) === 1, 15_000, 'the good job');
    expect(bs.requests).toHaveLength(0);
    expect(ub.requests.map((r) => r.body)).toEqual(['{"email":"ok@example.com","roleIds":[1]}']);

    // Each failure has its completion event, like any rejected invite.
    const events = await p.waitForInviteEvents(hostile.length + 1);
    const rejected = events.filter((e) => e.type === 'invite.failed');
    expect(rejected).toHaveLength(hostile.length);
    for (const e of rejected) expect(e).toMatchObject({ outcome: 'rejected', reasonClass: 'rejected', message: expect.stringMatching(/^invalid_job_data: /) });
  });
});
