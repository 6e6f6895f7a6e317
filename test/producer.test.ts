import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { InvitebusError } from '../src/errors.ts';
import { inviteJobId } from '../src/policies/job-id.ts';
import { Producer } from '../src/producer.ts';
import { useRedis } from './support/redis.ts';

const redis = useRedis(import.meta.url);
const config = parseConfig({
  redis: { url: redis.url, prefix: redis.prefix },
  accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } },
});
const conn = redis.connect();
const producer = new Producer(config, { redis: conn });
afterAll(async () => {
  await producer.close();
  await conn.quit();
});

describe('producer', () => {
  it('refuses an invalid invite with the field and reason, queueing nothing', async () => {
    const error = await producer.invite('acme', { email: 'x@example.com', role: 'admin' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvitebusError);
    expect((error as InvitebusError).code).toBe('INVITE_INVALID');
    expect((error as Error).message).toMatch(/role: role admin cannot be invited/);
    expect(await producer.queue('acme').getJobCounts('wait')).toEqual({ wait: 0 });
  });

  it('names an unknown account and the configured ones', async () => {
    await expect(producer.invite('nope', { email: 'x@example.com' })).rejects.toThrow("unknown account 'nope'; configured accounts: acme");
  });

  it('stores the validated, normalised invite and no credential in job data', async () => {
    const { id } = await producer.invite('acme', { email: '  Pat@Example.com ', role: 'member', extra: 'dropped' });
    const job = await producer.queue('acme').getJob(id);
    expect(job?.data).toMatchObject({ account: 'acme', provider: 'betterstack', invite: { email: 'Pat@Example.com', role: 'member' } });
    expect(job?.data.invite).not.toHaveProperty('extra');
    expect(job?.opts).toMatchObject({ attempts: 8, backoff: { type: 'invitebus' }, removeOnComplete: { age: 604800 }, removeOnFail: { age: 2592000 } });
  });

  it('queues a streamed 10,000-invite input in chunks, reporting bad rows by index and queueing the rest', async () => {
    async function* rows() {
      for (let i = 0; i < 10_000; i++) yield i % 1000 === 999 ? { email: `broken-${i}` } : { email: `p${i}@example.com` };
    }
    const progress: number[] = [];
    const result = await producer.inviteMany('acme', rows(), { batchId: 'big', chunkSize: 500, onProgress: (p) => progress.push(p.accepted) });
    expect(result.accepted).toBe(9_990);
    expect(result.rejected).toHaveLength(10);
    expect(result.rejected[0]).toEqual({ index: 999, field: 'email', message: "'broken-999' is not a valid email address" });
    expect(progress).toHaveLength(20); // 9,990 jobs in chunks of at most 500
    expect(progress.every((n, i) => i === 0 || n - (progress[i - 1] ?? 0) <= 500)).toBe(true);
    expect(await producer.queue('acme').getWaitingCount()).toBeGreaterThanOrEqual(9_990);

    const again = await producer.inviteMany('acme', rows(), { batchId: 'big-again' });
    expect(again).toMatchObject({ accepted: 0, duplicates: 9_990 });
  });

  it('names each duplicate by its index: the first occurrence of the same address in the input, or the invite already queued', async () => {
    await producer.invite('acme', { email: 'known@example.com' });
    const invites = [
      { email: 'a@example.com' },
      { email: 'KNOWN@example.com' },
      { email: ' A@Example.com ' },
      { email: 'b@example.com' },
      { email: 'a@example.com' },
    ];
    const result = await producer.inviteMany('acme', invites, { batchId: 'dups', chunkSize: 2, reportDuplicates: true });
    expect(result).toMatchObject({ accepted: 2, duplicates: 3 });
    expect(result.duplicateRows?.sort((x, y) => x.index - y.index)).toEqual([
      { index: 1, id: inviteJobId('acme', 'known@example.com') },
      { index: 2, ofIndex: 0, id: inviteJobId('acme', 'a@example.com') },
      { index: 4, ofIndex: 0, id: inviteJobId('acme', 'a@example.com') },
    ]);
  });

  it('lists duplicates only when asked, so its answer keeps its shape for API clients', async () => {
    const result = await producer.inviteMany('acme', [{ email: 'c@example.com' }, { email: 'c@example.com' }]);
    expect(result).toEqual({
      batchId: expect.any(String),
      accepted: 1,
      replaced: 0,
      duplicates: 1,
      alreadyInBatch: 0,
      rejected: [],
    });
  });
});
