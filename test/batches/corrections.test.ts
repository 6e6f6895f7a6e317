/**
 * A corrected invite can be sent (issue: exact accounting, item 4). Enqueuing a person whose invite failed,
 * with different fields, replaces the failed job (new job, fresh attempts, counted once in its batch);
 * identical fields, pending or succeeded invites stay duplicates. A replay can carry changed fields, checked
 * by the provider's schema before anything moves.
 */
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { replayFailed } from '../../src/replay.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { finishedJob, startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

/** A Better Stack account whose first `failFirst` calls are refused for good (422), then answers as documented. */
async function pipeline(failFirst: number, options: { workers?: boolean } = {}) {
  const fake = await startFakeServer(betterstackHandler());
  cleanups.push(() => fake.close());
  fake.script(...Array.from({ length: failFirst }, () => ({ status: 422, body: B.invalidRole })));
  const p = await startPipeline(
    redis,
    {
      acme: {
        provider: 'betterstack',
        baseUrl: fake.url,
        retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
        credentials: { token: { env: 'T' } },
      },
    },
    { env: { T: 'bs-team-token' }, ...(options.workers === false ? { workers: false } : {}) },
  );
  cleanups.push(() => p.close());
  const status = (batch: string) => batchStatus(p.producer.redis, p.config.redis.prefix, batch);
  // A batch completes when its last outcome is recorded, just before BullMQ moves that job to completed or
  // failed: a correction must wait for the move to see the failure.
  const settled = async (batch: string) => (await status(batch))?.complete === true && (await p.producer.queue('acme').getActiveCount()) === 0;
  const completions = async (batch: string) =>
    (await p.events.read('-', 10_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === batch).map((e) => e.fields);
  const roleSent = (email: string) =>
    fake.requests.filter((r) => (r.json as { email?: string } | undefined)?.email === email).map((r) => (r.json as { role?: string }).role);
  return { p, fake, status, settled, completions, roleSent };
}

describe('a corrected invite', () => {
  it('replaces the failed job when its fields differ: new job, fresh attempts, the batch counts it once', async () => {
    const { p, status, settled, completions, roleSent } = await pipeline(1);
    await p.producer.inviteMany('acme', [{ email: 'ann@example.com', role: 'responder' }], { batchId: 'fix' });
    await waitFor(() => settled('fix'), 15_000, 'first round');
    expect(await status('fix')).toMatchObject({ total: 1, done: 1, failed: 1 });
    const failed = await p.producer.queue('acme').getJob((await p.producer.queue('acme').getFailed())[0]?.id as string);
    expect(failed?.attemptsMade).toBe(1);

    // The same fields again: no correction, nothing sent; the person is already in this batch (not a duplicate).
    const same = await p.producer.inviteMany('acme', [{ email: 'ann@example.com', role: 'responder' }], { batchId: 'fix' });
    expect(same).toMatchObject({ accepted: 0, duplicates: 0, alreadyInBatch: 1 });

    const fixed = await p.producer.inviteMany('acme', [{ email: 'Ann@Example.com', role: 'member' }], { batchId: 'fix' });
    expect(fixed).toMatchObject({ accepted: 1, duplicates: 0, replaced: 1 });
    const done = await waitFor(async () => {
      const s = await status('fix');
      return s?.complete && s.succeeded === 1 ? s : undefined;
    }, 15_000);
    expect(done).toMatchObject({ total: 1, done: 1, succeeded: 1, failed: 0 });
    expect(roleSent('Ann@Example.com')).toEqual(['member']);
    expect(roleSent('ann@example.com')).toEqual(['responder']);
    // The outcome is recorded (and the batch completes) just before BullMQ moves the job: wait for the move.
    // The job is removed as it completes; its sent record is what is kept.
    const job = await finishedJob(p.producer.queue('acme'), failed?.id as string);
    expect(job.attemptsMade).toBe(1);
    // The same job, moved with its new fields in one step (not removed and added again): enqueued anew.
    const sent = await p.events.sentRecord('acme', failed?.id as string);
    expect(sent?.enqueuedAt).toBeGreaterThan(failed?.data.enqueuedAt ?? Number.POSITIVE_INFINITY);
    expect((await completions('fix')).map((e) => [e.round, e.total, e.failed, e.succeeded])).toEqual([
      ['1', '1', '1', '0'],
      ['2', '1', '0', '1'],
    ]);
  });

  it('into another batch: the new batch counts it, the old one keeps its recorded failure and stays complete', async () => {
    const { p, status, settled, roleSent } = await pipeline(1);
    await p.producer.inviteMany('acme', [{ email: 'bob@example.com', role: 'responder' }], { batchId: 'monday' });
    await waitFor(() => settled('monday'), 15_000, 'monday');
    const fixed = await p.producer.inviteMany('acme', [{ email: 'bob@example.com', role: 'member' }], { batchId: 'tuesday' });
    expect(fixed).toMatchObject({ accepted: 1, replaced: 1 });
    await waitFor(() => settled('tuesday'), 15_000, 'tuesday');
    expect(await status('tuesday')).toMatchObject({ total: 1, done: 1, succeeded: 1 });
    expect(await status('monday')).toMatchObject({ total: 1, done: 1, failed: 1, complete: true });
    expect(roleSent('bob@example.com')).toEqual(['responder', 'member']);
  });

  it('pending and succeeded invites are never replaced, whatever their fields: already in the batch, or duplicates of another', async () => {
    const { p, status } = await pipeline(0, { workers: false });
    await p.producer.inviteMany('acme', [{ email: 'cy@example.com', role: 'responder' }], { batchId: 'pending' });
    expect(await p.producer.inviteMany('acme', [{ email: 'cy@example.com', role: 'member' }], { batchId: 'pending' })).toMatchObject({
      accepted: 0,
      duplicates: 0,
      alreadyInBatch: 1,
      replaced: 0,
    });
    expect(await p.producer.inviteMany('acme', [{ email: 'cy@example.com', role: 'member' }], { batchId: 'pending-2' })).toMatchObject({
      accepted: 0,
      duplicates: 1,
      alreadyInBatch: 0,
    });
    expect(await status('pending')).toMatchObject({ total: 1 });
    const { p: q, settled: s2settled } = await pipeline(0);
    await q.producer.inviteMany('acme', [{ email: 'di@example.com', role: 'responder' }], { batchId: 'ok' });
    await waitFor(() => s2settled('ok'), 15_000, 'ok');
    expect(await q.producer.inviteMany('acme', [{ email: 'di@example.com', role: 'member' }], { batchId: 'ok' })).toMatchObject({
      accepted: 0,
      alreadyInBatch: 1,
    });
  });

  it('two corrections of the same failure at once replace it once', async () => {
    const { p, status, settled, fake } = await pipeline(1);
    await p.producer.inviteMany('acme', [{ email: 'eve@example.com' }], { batchId: 'race' });
    await waitFor(() => settled('race'), 15_000, 'first round');
    // The outcome is recorded just before BullMQ moves the job to failed: wait for the move.
    const results = await Promise.all([
      p.producer.inviteMany('acme', [{ email: 'eve@example.com', role: 'member' }], { batchId: 'race' }),
      p.producer.inviteMany('acme', [{ email: 'eve@example.com', role: 'member' }], { batchId: 'race' }),
      replayFailed(p.producer, { batchId: 'race' }),
    ]);
    const moved = results[0].accepted + results[1].accepted + results[2].replayed;
    expect(moved).toBe(1);
    await waitFor(async () => {
      const s = await status('race');
      return s?.complete && s.succeeded === 1;
    }, 15_000);
    expect(await status('race')).toMatchObject({ total: 1, done: 1, succeeded: 1, failed: 0 });
    expect(fake.requests).toHaveLength(2);
  });
});

describe('replay with changed fields', () => {
  it('sends the changed fields, validated by the provider schema', async () => {
    const { p, status, settled, roleSent } = await pipeline(3);
    await p.producer.inviteMany(
      'acme',
      ['f1', 'f2', 'f3'].map((n) => ({ email: `${n}@example.com`, role: 'responder' })),
      { batchId: 'set' },
    );
    await waitFor(() => settled('set'), 15_000, 'first round');

    await expect(replayFailed(p.producer, { batchId: 'set' }, { set: { role: 'wizard' } })).rejects.toThrow(/role/);
    await expect(replayFailed(p.producer, { batchId: 'set' }, { set: { email: 'x@example.com' } })).rejects.toThrow(/email/);
    await expect(replayFailed(p.producer, { batchId: 'set' }, { set: { colour: 'blue' } })).rejects.toThrow(/colour/);
    expect(await p.producer.queue('acme').getFailedCount()).toBe(3);
    // A wrong value is refused even when the filter matches nothing: the operator learns it now, not on the day it matters.
    await expect(replayFailed(p.producer, { batchId: 'no-such-batch' }, { set: { role: 'wizard' } })).rejects.toMatchObject({
      code: 'INVITE_INVALID',
      message: expect.stringMatching(/acme: role: /),
    });
    await expect(replayFailed(p.producer, { batchId: 'no-such-batch' }, { set: { colour: 'blue' } })).rejects.toThrow(/colour: not an invite field/);
    expect(await replayFailed(p.producer, { batchId: 'no-such-batch' }, { set: { role: 'member' } })).toMatchObject({ matched: 0, replayed: 0 });

    const result = await replayFailed(p.producer, { batchId: 'set' }, { set: { role: 'member' } });
    expect(result.replayed).toBe(3);
    await waitFor(async () => (await status('set'))?.succeeded === 3, 15_000, 'replayed');
    for (const n of ['f1', 'f2', 'f3']) expect(roleSent(`${n}@example.com`)).toEqual(['responder', 'member']);
  });
});
