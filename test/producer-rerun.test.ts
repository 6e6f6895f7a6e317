/**
 * Issue 20, case 5 (library side): the same enqueue run again, or twice at once, counts the people the batch
 * already has as "already in this batch", never as duplicates; duplicates within one input are still found
 * across chunk boundaries, in a dry run, and again in a rerun after an interrupted run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../src/batches.ts';
import { parseConfig } from '../src/config/load.ts';
import { onboard } from '../src/onboarding/onboard.ts';
import { inviteJobId } from '../src/policies/job-id.ts';
import { EnqueueInterruptedError, Producer } from '../src/producer.ts';
import { useRedis } from './support/redis.ts';

const redis = useRedis(import.meta.url);
const config = parseConfig({
  redis: { url: redis.url, prefix: redis.prefix },
  accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } },
});
const conns = [redis.connect(), redis.connect()];
const [one, two] = conns.map((conn) => new Producer(config, { redis: conn })) as [Producer, Producer];
afterAll(async () => {
  for (const p of [one, two]) await p.close();
  for (const c of conns) await c.quit();
});

const people = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.com` }));
const status = (batch: string) => batchStatus(one.redis, redis.prefix, batch);

describe('an enqueue of the same batch again', () => {
  it('counts a rerun as already in this batch: no duplicates in the answer, the counters or the intake log', async () => {
    const list = people(2_500, 'rerun');
    const first = await onboard(one, list, { accounts: ['acme'] }, { batchId: 'rerun', chunkSize: 200 });
    expect(first).toMatchObject({ accepted: 2_500, alreadyInBatch: 0, duplicates: 0 });
    const again = await onboard(one, list, { accounts: ['acme'] }, { batchId: 'rerun', chunkSize: 300, reportDuplicates: true });
    expect(again).toMatchObject({ accepted: 0, alreadyInBatch: 2_500, duplicates: 0, duplicateRows: [] });
    expect(await status('rerun')).toMatchObject({ total: 2_500, duplicates: 0, alreadyInBatch: 2_500, sealed: true });
    expect(await one.redis.llen(`${redis.prefix}:_invitebus:batch:rerun:intake`)).toBe(0);
  });

  it('two identical enqueues at once: every person queued once, the rest already in this batch, duplicates 0', async () => {
    const list = people(5_000, 'twice');
    const [a, b] = await Promise.all([
      onboard(one, list, { accounts: ['acme'] }, { batchId: 'twice', chunkSize: 100 }),
      onboard(two, list, { accounts: ['acme'] }, { batchId: 'twice', chunkSize: 100 }),
    ]);
    expect(a.accepted + b.accepted).toBe(5_000);
    expect(a.alreadyInBatch + b.alreadyInBatch).toBe(5_000);
    expect([a.duplicates, b.duplicates]).toEqual([0, 0]);
    expect(await status('twice')).toMatchObject({ total: 5_000, duplicates: 0, alreadyInBatch: 5_000 });
  });

  it('a person of another batch is still a duplicate', async () => {
    await one.inviteMany('acme', people(3, 'other'), { batchId: 'other-1' });
    const result = await one.inviteMany('acme', people(4, 'other'), { batchId: 'other-2', reportDuplicates: true });
    expect(result).toMatchObject({ accepted: 1, duplicates: 3, alreadyInBatch: 0 });
    expect(result.duplicateRows?.every((d) => d.ofIndex === undefined)).toBe(true);
  });
});

describe('duplicates within one input', () => {
  // Chunks of 4: row0 at 0, 10 and 25 (three chunks), row5 at 5 and 6 (one chunk), row3 at 3 and 4 (the chunk edge).
  const inputOf = (tag: string) => {
    const input = Array.from({ length: 30 }, (_, i) => ({ email: `${tag}${i}@example.com` }));
    for (const i of [10, 25]) input[i] = { email: `${tag.toUpperCase()}0@example.com` };
    input[6] = { email: `${tag}5@example.com` };
    input[4] = { email: ` ${tag}3@example.com ` };
    return input;
  };
  const expectedOf = (tag: string) => [
    { index: 4, ofIndex: 3, id: inviteJobId('acme', `${tag}3@example.com`) },
    { index: 6, ofIndex: 5, id: inviteJobId('acme', `${tag}5@example.com`) },
    { index: 10, ofIndex: 0, id: inviteJobId('acme', `${tag}0@example.com`) },
    { index: 25, ofIndex: 0, id: inviteJobId('acme', `${tag}0@example.com`) },
  ];
  const byIndex = (rows: Array<{ index: number }> | undefined) => [...(rows ?? [])].sort((x, y) => x.index - y.index);
  const runKeys = async () => (await one.redis.keys(`${redis.prefix}:_invitebus:run:*`)).length;

  it('are found across chunk boundaries, naming the first occurrence, in a dry run too; the check leaves no key', async () => {
    const input = inputOf('edge');
    const dry = await one.inviteMany('acme', input, { batchId: 'in-file-dry', chunkSize: 4, dryRun: true, reportDuplicates: true });
    expect(dry).toMatchObject({ accepted: 26, duplicates: 4, alreadyInBatch: 0 });
    expect(byIndex(dry.duplicateRows)).toEqual(expectedOf('edge'));
    const real = await one.inviteMany('acme', input, { batchId: 'in-file', chunkSize: 4, reportDuplicates: true });
    expect(real).toMatchObject({ accepted: 26, duplicates: 4, alreadyInBatch: 0 });
    expect(byIndex(real.duplicateRows)).toEqual(expectedOf('edge'));
    expect(await runKeys()).toBe(0);
  });

  it('are found again by a rerun after an interrupted run, while what that run queued is already in this batch', async () => {
    const input = inputOf('resume');
    const stop = new AbortController();
    const first = await one.inviteMany('acme', input, { batchId: 'resumed', chunkSize: 4, signal: stop.signal, onProgress: () => stop.abort('test') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(first).toBeInstanceOf(EnqueueInterruptedError);
    const interrupted = first as EnqueueInterruptedError;
    expect(interrupted.stage).toBe('stopped');
    expect(interrupted.message).toMatch(/^stopped: batch resumed: \d+ invites confirmed queued .*Running the same command again is safe/);
    const confirmed = interrupted.result.accepted;
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThan(26);
    expect(await status('resumed')).toMatchObject({ total: confirmed, sealed: false });

    const again = await one.inviteMany('acme', input, { batchId: 'resumed', chunkSize: 4, reportDuplicates: true });
    expect(again).toMatchObject({ accepted: 26 - confirmed, alreadyInBatch: confirmed, duplicates: 4 });
    expect(byIndex(again.duplicateRows)).toEqual(expectedOf('resume'));
    expect(await status('resumed')).toMatchObject({ total: 26, sealed: true });
    expect(await runKeys()).toBe(0);
  });
});
