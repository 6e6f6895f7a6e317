/**
 * Batch numbers are exact (issue: exact accounting). total = the distinct invites that belong to the batch,
 * done <= total, one batch.completed per completion with the right totals: under concurrent enqueues of the
 * same batch, the same people into two batches at once, a reused batch id, reruns and concurrent replays.
 */
import { describe, expect, it } from 'vitest';
import { batchReport, batchStatus } from '../../src/batches.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { replayFailed } from '../../src/replay.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

async function pipeline(options: { workers?: boolean; fake?: FakeServer; attempts?: number } = {}) {
  const fake = options.fake ?? (await startFakeServer(betterstackHandler()));
  if (!options.fake) cleanups.push(() => fake.close());
  const p = await startPipeline(
    redis,
    {
      acme: {
        provider: 'betterstack',
        baseUrl: fake.url,
        concurrency: 16,
        retry: { attempts: options.attempts ?? 4, baseDelayMs: 10, maxDelayMs: 20 },
        credentials: { token: { env: 'T' } },
      },
    },
    { env: { T: 'bs-team-token' }, ...(options.workers === false ? { workers: false } : {}) },
  );
  cleanups.push(() => p.close());
  return { p, fake };
}

const people = (n: number, tag = 'p') => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.com` }));

async function completed(p: Awaited<ReturnType<typeof pipeline>>['p'], batchId: string) {
  return (await p.events.read('-', 100_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === batchId).map((e) => e.fields);
}

async function reportIds(p: Awaited<ReturnType<typeof pipeline>>['p'], batchId: string) {
  const ids: string[] = [];
  for await (const line of batchReport(p.producer, batchId)) ids.push(line.inviteId);
  return ids;
}

describe('batch accounting', () => {
  it('two enqueues of the same people into the same batch at once count each person once and complete once', async () => {
    const { p } = await pipeline();
    const list = people(3_000, 'same');
    const [a, b] = await Promise.all([
      p.producer.inviteMany('acme', list, { batchId: 'twice', chunkSize: 250 }),
      p.producer.inviteMany('acme', list, { batchId: 'twice', chunkSize: 250 }),
    ]);
    expect(a.accepted + b.accepted).toBe(3_000);
    // What the other enqueue queued first is already in this batch: not a duplicate.
    expect(a.accepted + a.alreadyInBatch).toBe(3_000);
    expect([a.duplicates, b.duplicates]).toEqual([0, 0]);
    const status = await waitFor(async () => {
      const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'twice');
      return s?.complete ? s : undefined;
    }, 60_000);
    expect(status).toMatchObject({ total: 3_000, done: 3_000, succeeded: 3_000 });
    const ids = await reportIds(p, 'twice');
    expect(ids).toHaveLength(3_000);
    expect(new Set(ids).size).toBe(3_000);
    expect(await completed(p, 'twice')).toEqual([expect.objectContaining({ total: '3000', succeeded: '3000', round: '1' })]);
  });

  it('the same people into two batches at once: each invite belongs to exactly one, both complete', async () => {
    const { p } = await pipeline();
    const list = people(2_000, 'ab');
    const [a, b] = await Promise.all([
      p.producer.inviteMany('acme', list, { batchId: 'batch-a', chunkSize: 200 }),
      p.producer.inviteMany('acme', list, { batchId: 'batch-b', chunkSize: 200 }),
    ]);
    expect(a.accepted + b.accepted).toBe(2_000);
    expect(a.duplicates).toBe(2_000 - a.accepted);
    for (const [batch, result] of [
      ['batch-a', a],
      ['batch-b', b],
    ] as const) {
      const status = await waitFor(async () => {
        const s = await batchStatus(p.producer.redis, p.config.redis.prefix, batch);
        return s?.complete ? s : undefined;
      }, 60_000);
      expect(status.total).toBe(result.accepted);
      expect(status.done).toBe(result.accepted);
      expect(await completed(p, batch)).toEqual([expect.objectContaining({ total: String(result.accepted), round: '1' })]);
    }
    const inA = new Set(await reportIds(p, 'batch-a'));
    const inB = await reportIds(p, 'batch-b');
    expect(inB.filter((id) => inA.has(id))).toEqual([]);
    expect(inA.size + inB.length).toBe(2_000);
  });

  it('a batch id used again later reopens the batch: it completes again with the new total', async () => {
    const { p } = await pipeline();
    await p.producer.inviteMany('acme', people(29, 'reuse'), { batchId: 'reused' });
    await waitFor(async () => (await completed(p, 'reused')).length === 1, 30_000, 'first completion');
    await p.producer.inviteMany('acme', people(36, 'reuse'), { batchId: 'reused' });
    const events = await waitFor(async () => {
      const e = await completed(p, 'reused');
      return e.length === 2 ? e : undefined;
    }, 30_000);
    expect(events.map((e) => [e.total, e.round])).toEqual([
      ['29', '1'],
      ['36', '2'],
    ]);
    expect(await batchStatus(p.producer.redis, p.config.redis.prefix, 'reused')).toMatchObject({ total: 36, done: 36, complete: true });
  });

  it('a rerun of an enqueue whose jobs were added but not yet counted (a crash in between) counts each once', async () => {
    const { p } = await pipeline({ workers: false });
    // The crash window: jobs of the batch exist, the batch knows nothing of them.
    const list = people(500, 'crash');
    await p.producer.inviteMany('acme', list, { batchId: 'other-name' });
    const queue = p.producer.queue('acme');
    const jobs = await queue.getWaiting(0, 999);
    for (const job of jobs.slice(0, 200)) await job.updateData({ ...job.data, batchId: 'crashed' });
    const first = await p.producer.inviteMany('acme', list, { batchId: 'crashed' });
    expect(first.accepted).toBe(200);
    const again = await p.producer.inviteMany('acme', list, { batchId: 'crashed' });
    expect(again.accepted).toBe(0);
    expect(await batchStatus(p.producer.redis, p.config.redis.prefix, 'crashed')).toMatchObject({ total: 200, done: 0 });
  });

  it('replays run at the same time move each failed invite back once, and the batch completes with the true counts', async () => {
    const fake = await startFakeServer(betterstackHandler());
    cleanups.push(() => fake.close());
    // Every first call fails for good (422); replayed calls succeed.
    fake.script(...Array.from({ length: 300 }, () => ({ status: 422, body: B.invalidEmail })));
    const { p } = await pipeline({ fake, attempts: 1 });
    await p.producer.inviteMany('acme', people(300, 'replay'), { batchId: 'replayed' });
    await waitFor(async () => (await batchStatus(p.producer.redis, p.config.redis.prefix, 'replayed'))?.complete, 30_000, 'first round');
    expect(await batchStatus(p.producer.redis, p.config.redis.prefix, 'replayed')).toMatchObject({ failed: 300 });
    const callsBefore = fake.requests.length;

    const results = await Promise.all([
      replayFailed(p.producer, { batchId: 'replayed' }),
      replayFailed(p.producer, { batchId: 'replayed' }),
      replayFailed(p.producer, { batchId: 'replayed' }),
    ]);
    expect(results.reduce((n, r) => n + r.replayed, 0)).toBe(300);
    const status = await waitFor(async () => {
      const s = await batchStatus(p.producer.redis, p.config.redis.prefix, 'replayed');
      return s?.complete && s.succeeded === 300 ? s : undefined;
    }, 30_000);
    expect(status).toMatchObject({ total: 300, done: 300, succeeded: 300, failed: 0 });
    expect(fake.requests.length - callsBefore).toBe(300);
    // A replay after that finds nothing failed.
    expect((await replayFailed(p.producer, { batchId: 'replayed' })).replayed).toBe(0);
    expect((await completed(p, 'replayed')).map((e) => [e.round, e.failed, e.succeeded])).toEqual([
      ['1', '300', '0'],
      ['2', '0', '300'],
    ]);
  });
});
