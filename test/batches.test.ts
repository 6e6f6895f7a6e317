import { describe, expect, it } from 'vitest';
import { batchStatus } from '../src/batches.ts';
import { betterstackBodies as B, betterstackHandler } from '../src/providers/betterstack/sandbox.ts';
import { replayFailed } from '../src/replay.ts';
import { startFakeServer } from '../src/sandbox/server.ts';
import { useCleanups } from './support/cleanups.ts';
import { startPipeline, waitFor } from './support/pipeline.ts';
import { useRedis } from './support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

describe('batches', () => {
  it('counts outcomes as invites finish and publishes batch.completed once, with the totals', async () => {
    const fake = await startFakeServer(betterstackHandler({ members: ['m@example.com'] }));
    cleanups.push(() => fake.close());
    fake.script({ status: 422, body: B.invalidEmail });
    const p = await startPipeline(
      redis,
      { acme: { provider: 'betterstack', baseUrl: fake.url, concurrency: 1, credentials: { token: { env: 'T' } } } },
      { env: { T: 'bs-team-token' } },
    );
    cleanups.push(() => p.close());
    const invites = [{ email: 'x@example.com' }, { email: 'm@example.com' }, ...Array.from({ length: 8 }, (_, i) => ({ email: `b${i}@example.com` }))];
    const result = await p.producer.inviteMany('acme', invites, { batchId: 'b-1', chunkSize: 3 });
    expect(result.accepted).toBe(10);
    const done = await waitFor(async () => {
      const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'b-1');
      return s?.complete ? s : undefined;
    });
    expect(done).toMatchObject({
      total: 10,
      done: 10,
      succeeded: 9,
      failed: 1,
      sealed: true,
      outcomes: { invited: 8, already_member: 1, rejected: 1 },
      reasons: { rejected: 1 },
    });
    const completed = (await p.events.read()).filter((e) => e.fields.type === 'batch.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.fields).toMatchObject({ batchId: 'b-1', total: '10', succeeded: '9', failed: '1' });
  });

  it('a replay takes the failure out of the counts and completes the batch again with the new outcome', async () => {
    const fake = await startFakeServer(betterstackHandler());
    cleanups.push(() => fake.close());
    fake.script({ status: 503, body: {} });
    const p = await startPipeline(
      redis,
      { acme: { provider: 'betterstack', baseUrl: fake.url, retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 }, credentials: { token: { env: 'T' } } } },
      { env: { T: 'bs-team-token' } },
    );
    cleanups.push(() => p.close());
    await p.producer.inviteMany('acme', [{ email: 'r1@example.com' }, { email: 'r2@example.com' }], { batchId: 'b-2' });
    const first = await waitFor(async () => {
      const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'b-2');
      return s?.complete ? s : undefined;
    });
    expect(first).toMatchObject({ succeeded: 1, failed: 1, reasons: { retries_exhausted: 1 } });

    expect(await replayFailed(p.producer, { batchId: 'b-2', reason: 'rejected' })).toMatchObject({ matched: 0, replayed: 0 });
    expect(await replayFailed(p.producer, { batchId: 'b-2', reason: 'retries_exhausted' })).toMatchObject({ matched: 1, replayed: 1 });
    const second = await waitFor(async () => {
      const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'b-2');
      return s?.complete && s.succeeded === 2 ? s : undefined;
    });
    expect(second).toMatchObject({ total: 2, done: 2, succeeded: 2, failed: 0, reasons: {} });
    expect(await replayFailed(p.producer, { batchId: 'b-2' })).toMatchObject({ matched: 0, replayed: 0 }); // safe to run twice
    const events = (await p.events.read()).filter((e) => e.fields.type?.startsWith('invite.'));
    expect(events.map((e) => e.fields.type).sort()).toEqual(['invite.failed', 'invite.succeeded', 'invite.succeeded']);
    expect((await p.events.read()).filter((e) => e.fields.type === 'batch.completed')).toHaveLength(2);
    expect(fake.requests).toHaveLength(3); // the succeeded invite was never sent again
  });
});
