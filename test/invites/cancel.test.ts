/**
 * Withdrawn hires (src/invites/cancel.ts, src/redis-scripts/cancel-invite.lua) on a real Redis with real workers and
 * a local Better Stack fake: each pending invite removed once, atomically against the worker taking it, counted
 * `cancelled` in its batch, which completes once; what was sent, or is being sent, said so per tool.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Invitebus } from '../../src/core/invitebus.ts';
import { eventFields } from '../../src/events/catalogue.ts';
import { inviteJobId } from '../../src/policies/job-id.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const PERSON = ['externalId', 'firstName', 'lastName'];
const honest = betterstackHandler();
const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});
afterAll(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function setUp(options: { workers?: boolean; delayMs?: number; retry?: Record<string, number>; accounts?: string[] } = {}) {
  const fake: FakeServer = await startFakeServer(async (req) => ({ ...(await honest(req)), ...(options.delayMs ? { delayMs: options.delayMs } : {}) }));
  open.push(fake);
  const account = {
    provider: 'betterstack',
    baseUrl: fake.url,
    concurrency: 4,
    retry: options.retry ?? { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
    credentials: { token: { env: 'T' } },
  };
  const p = await startPipeline(redis, Object.fromEntries((options.accounts ?? ['acme']).map((a) => [a, account])), {
    env: { T: 'bs-team-token' },
    workers: options.workers ?? true,
  });
  open.push(p);
  const ib = Invitebus.over(p.producer);
  const events = async (type: string) => (await p.events.read('-', 100_000)).filter((e) => e.fields.type === type).map((e) => e.fields);
  const sentTo = () => fake.requests.map((r) => (r.json as { email?: string }).email);
  return { fake, p, ib, events, sentTo };
}

describe('cancel (withdrawn hires)', () => {
  it('removes waiting invites in every account, counts them cancelled, and completes the batch once', async () => {
    const { p, ib, events } = await setUp({ workers: false, accounts: ['acme', 'beta'] });
    for (const account of ['acme', 'beta'])
      await p.producer.inviteMany(account, [{ email: 'ada@example.com' }, { email: 'bob@example.com' }], { batchId: 'cohort' });

    const first = await ib.cancel('Ada@Example.com', { by: 'cli' });
    expect(first.cancelled).toBe(2);
    expect(first.invites.map((l) => [l.account, l.status, l.previous])).toEqual([
      ['acme', 'cancelled', 'waiting'],
      ['beta', 'cancelled', 'waiting'],
    ]);
    expect(await p.producer.queue('acme').getJob(inviteJobId('acme', 'ada@example.com'))).toBeUndefined();
    let status = await ib.batches.status('cohort');
    expect(status).toMatchObject({ total: 4, done: 2, cancelled: 2, succeeded: 0, failed: 0, complete: false });
    expect(status?.accounts.acme).toMatchObject({ total: 2, done: 1, cancelled: 1 });

    // The event: the catalogue's fields (the person's HR id and names when the invite kept them), who cancelled
    // and what the invite was.
    const [cancelled] = await events('invite.cancelled');
    expect(Object.keys(cancelled ?? {}).sort()).toEqual(['type', ...eventFields('invite.cancelled')].filter((f) => !PERSON.includes(f)).sort());
    expect(cancelled).toMatchObject({ account: 'acme', email: 'ada@example.com', by: 'cli', previous: 'waiting', batchId: 'cohort' });
    const bob = await p.producer.queue('beta').getJob(inviteJobId('beta', 'bob@example.com'));
    await bob?.updateData({ ...bob.data, person: { externalId: 'E-7', firstName: 'Bob', lastName: '' } });

    // The last open invites cancelled: one batch.completed, counting them.
    await ib.cancel('bob@example.com');
    status = await ib.batches.status('cohort');
    expect(status).toMatchObject({ total: 4, done: 4, cancelled: 4, complete: true });
    const completed = await events('batch.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ batchId: 'cohort', total: '4', succeeded: '0', failed: '0', cancelled: '4' });
    const bobs = (await events('invite.cancelled')).filter((e) => e.email === 'bob@example.com');
    expect(bobs.map((e) => [e.account, e.externalId, e.firstName, e.lastName])).toEqual([
      ['acme', undefined, undefined, undefined],
      ['beta', 'E-7', 'Bob', undefined],
    ]);

    // Reports, find and the people view show it.
    const report = [];
    for await (const line of ib.batches.report('cohort')) report.push(line);
    expect(report.map((l) => [l.email, l.state])).toEqual([
      ['ada@example.com', 'cancelled'],
      ['bob@example.com', 'cancelled'],
      ['ada@example.com', 'cancelled'],
      ['bob@example.com', 'cancelled'],
    ]);
    expect((await ib.find('ada@example.com')).map((f) => [f.account, f.state])).toEqual([
      ['acme', 'cancelled'],
      ['beta', 'cancelled'],
    ]);
    expect((await ib.batches.people('cohort'))?.people.map((r) => r.summary)).toEqual(['withdrawn', 'withdrawn']);
  });

  it('is idempotent: a second cancel removes nothing and says so; two at once count once', async () => {
    const { p, ib, events } = await setUp({ workers: false });
    await p.producer.inviteMany('acme', [{ email: 'ada@example.com' }, { email: 'cy@example.com' }], { batchId: 'twice' });
    const both = await Promise.all([ib.cancel('ada@example.com'), ib.cancel('ada@example.com'), ib.cancel('ada@example.com')]);
    expect(both.map((r) => r.cancelled).sort()).toEqual([0, 0, 1]);
    const again = await ib.cancel('ada@example.com');
    expect(again.cancelled).toBe(0);
    expect(again.invites).toMatchObject([{ account: 'acme', status: 'already_cancelled', previous: 'waiting' }]);
    expect(again.invites[0]?.message).toMatch(/^already cancelled on \d{4}-\d\d-\d\d \d\d:\d\d UTC: nothing to do$/);
    expect(await events('invite.cancelled')).toHaveLength(1);
    expect(await ib.batches.status('twice')).toMatchObject({ total: 2, done: 1, cancelled: 1 });
    // A person never queued: nothing at all.
    expect((await ib.cancel('nobody@example.com')).invites).toEqual([]);
  });

  it('limits a cancel to one batch when asked, and a dry run changes nothing', async () => {
    const { p, ib } = await setUp({ workers: false, accounts: ['acme', 'beta'] });
    await p.producer.inviteMany('acme', [{ email: 'ada@example.com' }], { batchId: 'spring' });
    await p.producer.inviteMany('beta', [{ email: 'ada@example.com' }], { batchId: 'autumn' });
    const dry = await ib.cancel('ada@example.com', { batchId: 'autumn', dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, cancelled: 1 });
    expect(dry.invites.map((l) => [l.account, l.status])).toEqual([
      ['acme', 'other_batch'],
      ['beta', 'cancelled'],
    ]);
    expect(await ib.batches.status('autumn')).toMatchObject({ done: 0, cancelled: 0 });
    const done = await ib.cancel('ada@example.com', { batchId: 'autumn' });
    expect(done.cancelled).toBe(1);
    expect(await p.producer.queue('acme').getJob(inviteJobId('acme', 'ada@example.com'))).toBeDefined();
  });

  it('cancels a retry-delayed invite; says "sent on DATE: remove the person in TOOL" of one already sent', async () => {
    const { fake, p, ib } = await setUp({ retry: { attempts: 3, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    fake.script({ status: 503, body: { errors: 'down' } });
    await p.producer.inviteMany('acme', [{ email: 'late@example.com' }], { batchId: 'mixed' });
    const queue = p.producer.queue('acme');
    await waitFor(async () => (await queue.getJob(inviteJobId('acme', 'late@example.com')))?.isDelayed(), 10_000, 'the retry to be delayed');
    await p.producer.inviteMany('acme', [{ email: 'sent@example.com' }], { batchId: 'mixed' });
    await p.waitForInviteEvents(1);

    expect((await ib.cancel('late@example.com')).invites).toMatchObject([{ status: 'cancelled', previous: 'delayed' }]);
    const sent = await ib.cancel('sent@example.com');
    expect(sent.cancelled).toBe(0);
    expect(sent.invites[0]?.status).toBe('sent');
    expect(sent.invites[0]?.message).toMatch(/^sent on \d{4}-\d\d-\d\d \d\d:\d\d UTC: remove the person in betterstack \(account acme\)$/);
    expect(await ib.batches.status('mixed')).toMatchObject({ total: 2, done: 2, succeeded: 1, cancelled: 1, complete: true });
    // The provider was asked once for late@ (the 503) and never again.
    expect(fake.requests.filter((r) => (r.json as { email: string }).email === 'late@example.com')).toHaveLength(1);
  });

  it('turns a failed invite into a cancelled one, so that no replay sends it', async () => {
    const { fake, p, ib, events } = await setUp();
    fake.script({ status: 422, body: B.invalidRole });
    await p.producer.inviteMany('acme', [{ email: 'gone@example.com' }], { batchId: 'failing' });
    await waitFor(async () => (await ib.batches.status('failing'))?.complete, 10_000, 'the batch to complete');
    expect(await ib.batches.status('failing')).toMatchObject({ failed: 1, cancelled: 0 });

    expect((await ib.cancel('gone@example.com')).invites).toMatchObject([{ status: 'cancelled', previous: 'failed' }]);
    const status = await ib.batches.status('failing');
    expect(status).toMatchObject({ total: 1, done: 1, failed: 0, cancelled: 1, complete: true, reasons: {} });
    expect((await ib.replay({ accounts: ['acme'] })).replayed).toBe(0);
    expect(await ib.batches.check('failing')).toMatchObject({ drift: [], stranded: [] });
    // The batch had completed already: no second batch.completed.
    expect(await events('batch.completed')).toHaveLength(1);
  });

  it('leaves an invite being sent right now, and says so', async () => {
    const { fake, p, ib } = await setUp({ delayMs: 1_500 });
    await p.producer.inviteMany('acme', [{ email: 'now@example.com' }], { batchId: 'busy' });
    await waitFor(() => fake.inFlight() === 1, 10_000, 'the call to start');
    const result = await ib.cancel('now@example.com');
    expect(result.cancelled).toBe(0);
    expect(result.invites).toMatchObject([{ status: 'sending', message: 'being sent now: cannot be stopped; check again (invitebus find now@example.com)' }]);
    await waitFor(async () => (await ib.batches.status('busy'))?.complete, 10_000, 'the batch to complete');
    expect(await ib.batches.status('busy')).toMatchObject({ succeeded: 1, cancelled: 0 });
  });

  it('a person enqueued again in the same batch after a cancel is invited after all (the batch reopens)', async () => {
    const { p, ib, events } = await setUp();
    await p.producer.queue('acme').pause();
    await p.producer.inviteMany('acme', [{ email: 'back@example.com' }], { batchId: 'again' });
    await ib.cancel('back@example.com');
    expect(await ib.batches.status('again')).toMatchObject({ total: 1, cancelled: 1, complete: true });
    await p.producer.queue('acme').resume();
    const again = await p.producer.inviteMany('acme', [{ email: 'back@example.com' }], { batchId: 'again' });
    expect(again.accepted).toBe(1);
    await waitFor(async () => (await ib.batches.status('again'))?.succeeded === 1, 10_000, 'the invite to be sent');
    expect(await ib.batches.status('again')).toMatchObject({ total: 1, done: 1, succeeded: 1, cancelled: 0, complete: true });
    expect((await events('batch.completed')).map((e) => [e.round, e.cancelled, e.succeeded])).toEqual([
      ['1', '1', '0'],
      ['2', '0', '1'],
    ]);
  });

  it('races a running worker: each invite is either sent or cancelled, never both; counts exact; one batch.completed', async () => {
    const N = 300;
    const { p, ib, events, sentTo } = await setUp({ delayMs: 5 });
    const people = Array.from({ length: N }, (_, i) => `hire${i}@example.com`);
    const started = Date.now();
    await p.producer.inviteMany(
      'acme',
      people.map((email) => ({ email })),
      { batchId: 'race' },
    );
    // In the middle: once some are sent, every other person is withdrawn, in parallel with the worker.
    await waitFor(async () => ((await ib.batches.status('race'))?.done ?? 0) >= 20, 15_000, 'the first invites to be sent');
    const withdrawn = people.filter((_, i) => i % 2 === 1);
    const results = await Promise.all(withdrawn.map((email) => ib.cancel(email)));
    await waitFor(async () => (await ib.batches.status('race'))?.complete, 30_000, 'the batch to complete');

    const cancelledEmails = new Set(results.filter((r) => r.cancelled === 1).map((r) => r.email));
    const sent = sentTo();
    const succeeded = new Set((await events('invite.succeeded')).map((e) => e.email));
    const cancelledEvents = (await events('invite.cancelled')).map((e) => e.email);
    // Never both: no cancelled person reached the provider or has a success event; every person has one of the two.
    expect(sent.filter((e) => cancelledEmails.has(e ?? ''))).toEqual([]);
    expect([...succeeded].filter((e) => cancelledEmails.has(e ?? ''))).toEqual([]);
    expect(new Set(cancelledEvents)).toEqual(cancelledEmails);
    expect(cancelledEvents).toHaveLength(cancelledEmails.size);
    expect(succeeded.size + cancelledEmails.size).toBe(N);
    // Those not cancelled were sent (or being sent), and said so.
    for (const r of results.filter((r) => r.cancelled === 0)) expect(['sent', 'sending']).toContain(r.invites[0]?.status);
    const status = await ib.batches.status('race');
    expect(status).toMatchObject({ total: N, done: N, succeeded: N - cancelledEmails.size, failed: 0, cancelled: cancelledEmails.size });
    const completed = await events('batch.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ total: String(N), cancelled: String(cancelledEmails.size) });
    expect(cancelledEmails.size).toBeGreaterThan(0);
    expect(cancelledEmails.size).toBeLessThan(withdrawn.length + 1);
    process.stdout.write(
      `cancel race: ${N} invites, ${withdrawn.length} withdrawn mid-run: ${cancelledEmails.size} cancelled, ${withdrawn.length - cancelledEmails.size} already sent or sending, ${Date.now() - started} ms\n`,
    );
  }, 60_000);
});
