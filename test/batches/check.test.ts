/**
 * `batches check` (issue: exactly once … batches check): a batch recomputed from its jobs and recorded results;
 * drift reported, and repaired idempotently; a failure left without its result (what an interrupted replay used
 * to leave) is found and recorded, so the batch completes.
 */
import { describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { checkBatch } from '../../src/batch-check.ts';
import { batchStatus } from '../../src/batches.ts';
import { createMetrics } from '../../src/metrics.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { scripts } from '../../src/redis-scripts/index.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

async function pipeline(failFirst: number) {
  const fake = await startFakeServer(betterstackHandler());
  cleanups.push(() => fake.close());
  fake.script(...Array.from({ length: failFirst }, () => ({ status: 422, body: B.invalidEmail })));
  const p = await startPipeline(
    redis,
    { acme: { provider: 'betterstack', baseUrl: fake.url, retry: { attempts: 1 }, credentials: { token: { env: 'T' } } } },
    { env: { T: 'bs-team-token' } },
  );
  cleanups.push(() => p.close());
  const keys = invitebusKeys(p.config.redis.prefix);
  const status = (batch: string) => batchStatus(p.producer.redis, p.config.redis.prefix, batch);
  const settled = async (batch: string) => (await status(batch))?.complete === true && (await p.producer.queue('acme').getActiveCount()) === 0;
  const completions = async (batch: string) =>
    (await p.events.read('-', 100_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === batch).map((e) => e.fields);
  return { p, keys, status, settled, completions };
}

const people = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.com` }));

describe('batches check', () => {
  it('finds nothing wrong with a batch that is as its jobs say', async () => {
    const { p, settled } = await pipeline(2);
    await p.producer.inviteMany('acme', people(5, 'clean'), { batchId: 'clean' });
    await waitFor(() => settled('clean'), 15_000, 'done');
    expect(await checkBatch(p.producer, 'clean')).toEqual({ batchId: 'clean', members: 5, drift: [], stranded: [], repaired: false });
  });

  it('reports drifted counters and repairs them once: a second repair finds nothing', async () => {
    const { p, keys, status, settled, completions } = await pipeline(0);
    await p.producer.inviteMany('acme', people(5, 'drift'), { batchId: 'drift' });
    await waitFor(() => settled('drift'), 15_000, 'done');
    await p.producer.redis.hincrby(keys.batch('drift'), 'done', -2);
    await p.producer.redis.hincrby(keys.batch('drift'), 'outcome:invited', 3);
    await p.producer.redis.hdel(keys.batch('drift'), 'completedAt');
    const found = await checkBatch(p.producer, 'drift');
    expect(found.drift).toEqual([
      { field: 'done', stored: 3, expected: 5 },
      { field: 'outcome:invited', stored: 8, expected: 5 },
    ]);
    expect(found.repaired).toBe(false);
    expect(await status('drift')).toMatchObject({ done: 3 });
    const repaired = await checkBatch(p.producer, 'drift', { repair: true });
    expect(repaired).toMatchObject({ repaired: true, drift: found.drift });
    expect(await status('drift')).toMatchObject({ total: 5, done: 5, succeeded: 5, outcomes: { invited: 5 }, complete: true });
    expect(await checkBatch(p.producer, 'drift', { repair: true })).toMatchObject({ drift: [], stranded: [], repaired: false });
    // Completed again with the true counts, once.
    expect((await completions('drift')).map((e) => [e.round, e.total, e.succeeded])).toEqual([
      ['1', '5', '5'],
      ['2', '5', '5'],
    ]);
  });

  it('finds a failure whose result was forgotten but never moved (an interrupted replay) and records it: the batch completes', async () => {
    const { p, status, settled, completions } = await pipeline(5);
    // With their HR ids: the repaired event carries the person as the worker's would.
    const withIds = people(5, 'stranded').map((person, i) => ({ ...person, externalId: `S-${i}` }));
    await p.producer.inviteMany('acme', withIds, { batchId: 'stranded' });
    await waitFor(() => settled('stranded'), 15_000, 'done');
    // What a replay cut between its old two steps left: the result forgotten, the job still failed.
    const [job] = await p.producer.queue('acme').getFailed(0, 0);
    const ref = `acme/${job?.id}`;
    await scripts(p.producer.redis).unrecordTerminal({
      prefix: p.producer.config.redis.prefix,
      account: 'acme',
      inviteId: job?.id as string,
      enqueuedAt: job?.data.enqueuedAt,
      batchId: 'stranded',
    });
    expect(await status('stranded')).toMatchObject({ total: 5, done: 4, complete: false });
    const found = await checkBatch(p.producer, 'stranded');
    expect(found).toMatchObject({ drift: [], stranded: [{ ref, state: 'failed' }], repaired: false });
    const repaired = await checkBatch(p.producer, 'stranded', { repair: true });
    expect(repaired.repaired).toBe(true);
    expect(await status('stranded')).toMatchObject({ total: 5, done: 5, failed: 5, complete: true });
    const events = (await p.inviteEvents()).filter((e) => e.inviteId === job?.id);
    expect(events.map((e) => e.type)).toEqual(['invite.failed', 'invite.failed']);
    expect(job?.data.person?.externalId).toMatch(/^S-\d$/);
    expect(events.map((e) => e.externalId)).toEqual([job?.data.person?.externalId, job?.data.person?.externalId]);
    expect((await completions('stranded')).map((e) => e.round)).toEqual(['1', '2']);
    expect(await checkBatch(p.producer, 'stranded', { repair: true })).toMatchObject({ drift: [], stranded: [], repaired: false });
  });

  it('is served by the API: GET check, POST repair, 404 for an unknown batch', async () => {
    const { p, keys, settled } = await pipeline(0);
    await p.producer.inviteMany('acme', people(2, 'api'), { batchId: 'api-check' });
    await waitFor(() => settled('api-check'), 15_000, 'done');
    await p.producer.redis.hincrby(keys.batch('api-check'), 'succeeded', 1);
    const api = await buildApi({ producer: p.producer, token: 'check-token', registry: createMetrics().registry });
    cleanups.push(() => api.close());
    const headers = { authorization: 'Bearer check-token' };
    const check = await api.inject({ method: 'GET', url: '/v1/batches/api-check/check', headers });
    expect(check.statusCode).toBe(200);
    expect(check.json()).toMatchObject({ drift: [{ field: 'succeeded', stored: 3, expected: 2 }], repaired: false });
    const repair = await api.inject({ method: 'POST', url: '/v1/batches/api-check/repair', headers });
    expect(repair.json()).toMatchObject({ repaired: true });
    expect((await api.inject({ method: 'GET', url: '/v1/batches/api-check/check', headers })).json()).toMatchObject({ drift: [] });
    expect((await api.inject({ method: 'GET', url: '/v1/batches/nope/check', headers })).statusCode).toBe(404);
  });
});
