/**
 * Start dates on a real Redis (issue 23): a profile's inviteAt makes each of its tools' invites a BullMQ delayed
 * job due at the right instant in the person's zone; a past date sends now; the same person enqueued again with
 * another date moves the waiting job (never a second one), and one already sent is reported, not moved; status,
 * reports and `find` say "scheduled for …"; and, with a worker, an invite a few seconds ahead goes out after its
 * time, not before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchReport, batchStatus } from '../../src/batches.ts';
import { formatFound } from '../../src/cli/format.ts';
import { formatStatus, watchBatch } from '../../src/cli/watch.ts';
import { parseConfig } from '../../src/config/load.ts';
import { batchProgress } from '../../src/console/views.ts';
import type { Invitebus } from '../../src/core/invitebus.ts';
import { findInvitesByEmail } from '../../src/invites/lookup.ts';
import { onboard } from '../../src/onboarding/onboard.ts';
import { peopleReport } from '../../src/onboarding/people.ts';
import { inviteJobId } from '../../src/policies/job-id.ts';
import { INVITE_JOB } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { closientFake, SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { accountStats } from '../../src/stats.ts';
import { useCleanups } from '../support/cleanups.ts';
import { finishedJob, startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');
const ENV = { BS: 'bs-team-token', CL: 'sandbox-closient-key' };

let servers: { uptime: FakeServer; closient: FakeServer };
const accounts = () => ({
  'acme-uptime': { provider: 'betterstack', baseUrl: servers.uptime.url, credentials: { token: { env: 'BS' } } },
  'acme-closient': { provider: 'closient', baseUrl: servers.closient.url, orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'CL' } } },
});
const PROFILES = {
  // Engineering's tools three days ahead at 09:00; finance's on the day at 08:30.
  engineering: { inviteAt: { daysBefore: 3, at: '09:00' }, 'acme-uptime': { role: 'member' }, 'acme-closient': { role: 'editor' } },
  finance: { inviteAt: { daysBefore: 0, at: '08:30' }, 'acme-closient': { role: 'billing' } },
  // No inviteAt: a start date changes nothing.
  ops: { 'acme-uptime': {} },
};

beforeAll(async () => {
  servers = {
    uptime: await startFakeServer(betterstackHandler({ members: [] })),
    closient: await startFakeServer(closientFake({ perWindow: 1_000_000 }).handler),
  };
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((s) => s.close()));
});

/** The time a delayed job is due, as BullMQ holds it (score = ms × 4096 + a sequence). */
async function dueAt(prefix: string, account: string, email: string): Promise<number | undefined> {
  const score = await redis.admin.zscore(`${prefix}:${account}:delayed`, inviteJobId(account, email));
  return score === null ? undefined : Math.floor(Number(score) / 4096);
}

describe('start dates in the config', () => {
  const parse = (extra: Record<string, unknown>) => () => parseConfig({ accounts: accounts(), profiles: PROFILES, ...extra });

  it('keeps inviteAt apart from the accounts, checks it, and refuses an account named inviteAt', () => {
    const config = parse({ intake: { timeZone: 'europe/berlin' } })();
    expect(config.profiles.engineering).toEqual({ 'acme-uptime': { role: 'member' }, 'acme-closient': { role: 'editor' } });
    expect(config.profileSchedules).toEqual({ engineering: { daysBefore: 3, at: '09:00' }, finance: { daysBefore: 0, at: '08:30' } });
    expect(config.intake.timeZone).toBe('Europe/Berlin');
    expect(parse({ intake: { timeZone: 'Berlin' } })).toThrow(/intake\.timeZone: 'Berlin' is not a time zone/);
    expect(parse({ intake: { dateOrder: 'YMD' } })).toThrow(/intake\.dateOrder: /);
    expect(parse({ profiles: { p: { inviteAt: { daysBefore: 1, at: '9am' }, 'acme-uptime': {} } } })).toThrow(
      /profiles\.p\.inviteAt\.at: must be a 24-hour time "HH:MM"/,
    );
    expect(parse({ profiles: { p: { inviteAt: { days: 1 }, 'acme-uptime': {} } } })).toThrow(/profiles\.p\.inviteAt: Unrecognized key: "days"/);
    expect(parse({ profiles: { p: { inviteAt: { daysBefore: 1 } } } })).toThrow(/profiles\.p: a profile names at least one account/);
    expect(() => parseConfig({ accounts: { ...accounts(), inviteAt: accounts()['acme-uptime'] }, profiles: { p: { 'acme-uptime': {} } } })).toThrow(
      /accounts\.inviteAt: the name 'inviteAt' is reserved/,
    );
  });
});

describe('scheduled invites (no worker)', () => {
  it('queues each tool as a delayed job due at its profile time in the person\u2019s zone; a past date and no inviteAt send now', async () => {
    const p = await startPipeline(redis, accounts(), { env: ENV, workers: false, config: { profiles: PROFILES, intake: { timeZone: 'Europe/Berlin' } } });
    cleanups.push(() => p.close());
    const prefix = p.config.redis.prefix;
    const people = [
      { email: 'ny@example.com', profile: 'engineering', startDate: '12/14/2030', timeZone: 'America/New_York' },
      { email: 'berlin@example.com', profile: 'engineering;finance', startDate: '14.12.2030' },
      { email: 'tokyo@example.com', profile: 'finance', startDate: '2030-12-14', timeZone: 'Asia/Tokyo' },
      { email: 'past@example.com', profile: 'engineering', startDate: '2020-01-06' },
      { email: 'ops@example.com', profile: 'ops', startDate: '2030-12-14' },
      { email: 'nodate@example.com', profile: 'engineering' },
      { email: 'ambiguous@example.com', profile: 'engineering', startDate: '03/04/2030' },
      { email: 'nozone@example.com', profile: 'engineering', startDate: '2030-12-14', timeZone: 'Mars/Base' },
    ];
    const result = await onboard(p.producer, people, {}, { batchId: 'dates-1' });
    expect(result).toMatchObject({ people: 8, accepted: 10 });
    expect(result.rejected).toEqual([
      { index: 6, who: 'ambiguous@example.com', field: 'startDate', message: expect.stringMatching(/"03\/04\/2030" is ambiguous.*"dateOrder": "DMY"/) },
      { index: 7, who: 'nozone@example.com', field: 'timeZone', message: expect.stringMatching(/"Mars\/Base" is not a time zone/) },
    ]);

    // The delayed job's own time is the instant: 09:00 in New York and Berlin three days before, 08:30 in Tokyo on the day.
    expect(await dueAt(prefix, 'acme-uptime', 'ny@example.com')).toBe(Date.UTC(2030, 11, 11, 14));
    expect(await dueAt(prefix, 'acme-closient', 'ny@example.com')).toBe(Date.UTC(2030, 11, 11, 14));
    expect(await dueAt(prefix, 'acme-uptime', 'berlin@example.com')).toBe(Date.UTC(2030, 11, 11, 8));
    // Berlin is in engineering then finance: each account takes the inviteAt of the first profile listed that gives it.
    expect(await dueAt(prefix, 'acme-closient', 'berlin@example.com')).toBe(Date.UTC(2030, 11, 11, 8));
    expect(await dueAt(prefix, 'acme-closient', 'tokyo@example.com')).toBe(Date.UTC(2030, 11, 13, 23, 30));
    const job = await p.producer.queue('acme-closient').getJob(inviteJobId('acme-closient', 'tokyo@example.com'));
    expect(job?.data).toMatchObject({ scheduledFor: Date.UTC(2030, 11, 13, 23, 30), timeZone: 'Asia/Tokyo' });
    expect((job?.timestamp ?? 0) + (job?.delay ?? 0)).toBe(Date.UTC(2030, 11, 13, 23, 30));
    // The date and zone are no invite fields: the provider never sees them.
    expect(job?.data.invite).toEqual({ email: 'tokyo@example.com', role: 'billing' });

    // A past date, a profile without inviteAt and a person without a date: sent now.
    for (const [account, email] of [
      ['acme-uptime', 'past@example.com'],
      ['acme-uptime', 'ops@example.com'],
      ['acme-closient', 'nodate@example.com'],
    ] as const) {
      expect(await (await p.producer.queue(account).getJob(inviteJobId(account, email)))?.getState()).toBe('waiting');
    }

    // Status: the scheduled ones are counted apart (still pending), with the next one's time.
    const status = await batchStatus(p.producer.redis, prefix, 'dates-1');
    expect(status).toMatchObject({ total: 10, scheduled: 5, nextScheduledAt: Date.UTC(2030, 11, 11, 8) });
    expect(formatStatus(status as NonNullable<typeof status>)).toMatch(/pending 10 \(scheduled 5, next 2030-12-11 08:00 UTC\)/);
    // Not stuck: once a worker has sent the five due now, `status --watch` says the rest is scheduled and returns.
    const workers = await startPipeline(redis, accounts(), { env: ENV, config: { profiles: PROFILES, redis: { url: redis.url, prefix } } });
    cleanups.push(() => workers.close());
    await waitFor(async () => (await batchStatus(p.producer.redis, prefix, 'dates-1'))?.done === 5, 10_000, 'the five due now to be sent');
    const out: string[] = [];
    const ib = { batches: { status: (id: string) => batchStatus(p.producer.redis, prefix, id) } } as unknown as Invitebus;
    const watched = await watchBatch(ib, 'dates-1', { tty: false, intervalMs: 10, out: (line) => out.push(line) });
    expect(watched).toMatchObject({ complete: false, scheduled: 5 });
    expect(out.join('\n')).toMatch(/5\/10 done \(50%\), the rest scheduled\n.*pending 5 \(scheduled 5, next 2030-12-11 08:00 UTC\)/);
    expect(out.join('\n')).toContain('every pending invite waits for its scheduled time');
    // The console says the same, calmly.
    const html = batchProgress(watched as NonNullable<typeof watched>, { people: 0, invites: 0, wholeRows: 0 });
    expect(html).toContain('<span class="state scheduled">scheduled</span>');
    expect(html).toContain('5 invites waiting for their start-date time, next <time datetime="2030-12-11T08:00:00.000Z">');
    expect(html).not.toContain('in progress');
    await workers.close();

    // Report, people and find: "scheduled for" the person's own wall clock.
    const lines = [];
    for await (const line of batchReport(p.producer, 'dates-1')) lines.push(line);
    expect(lines.find((l) => l.email === 'tokyo@example.com')).toMatchObject({
      state: 'scheduled',
      message: 'scheduled for 2030-12-14 08:30 Asia/Tokyo',
      at: '2030-12-13T23:30:00.000Z',
    });
    const people2 = await peopleReport(p.producer, 'dates-1');
    expect(people2?.people.find((r) => r.email === 'ny@example.com')).toMatchObject({
      accounts: { 'acme-uptime': 'scheduled for 2030-12-11 09:00 America/New_York' },
      summary: 'scheduled',
    });
    const found = await findInvitesByEmail(p.producer, 'berlin@example.com');
    expect(found.map(formatFound).join('\n')).toContain('acme-uptime: scheduled (attempts 0) queued');
    expect(found.map(formatFound).join('\n')).toContain('scheduled for 2030-12-11 09:00 Europe/Berlin');
  });

  it('moves a scheduled invite to a corrected date (same job, atomically), and reports one already sent instead of moving it', async () => {
    const p = await startPipeline(redis, accounts(), { env: ENV, workers: false, config: { profiles: PROFILES } });
    cleanups.push(() => p.close());
    const prefix = p.config.redis.prefix;
    const queue = p.producer.queue('acme-closient');
    const id = inviteJobId('acme-closient', 'ana@example.com');
    await onboard(
      p.producer,
      [{ email: 'ana@example.com', profile: 'finance', startDate: '2030-12-14', timeZone: 'Europe/Berlin' }],
      {},
      { batchId: 'dates-2' },
    );
    expect(await dueAt(prefix, 'acme-closient', 'ana@example.com')).toBe(Date.UTC(2030, 11, 14, 7, 30));

    // HR corrects the start date: the same batch again, another date.
    const again = await onboard(
      p.producer,
      [{ email: 'ana@example.com', profile: 'finance', startDate: '2031-01-05', timeZone: 'Europe/Berlin' }],
      {},
      { batchId: 'dates-2' },
    );
    expect(again).toMatchObject({ accepted: 0, alreadyInBatch: 1, rescheduled: 1 });
    expect(again.notRescheduled).toBeUndefined();
    expect(await dueAt(prefix, 'acme-closient', 'ana@example.com')).toBe(Date.UTC(2031, 0, 5, 7, 30));
    expect(await queue.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 1, waiting: 0 });
    expect((await queue.getJob(id))?.data).toMatchObject({ scheduledFor: Date.UTC(2031, 0, 5, 7, 30) });
    expect(await batchStatus(p.producer.redis, prefix, 'dates-2')).toMatchObject({ total: 1, scheduled: 1, nextScheduledAt: Date.UTC(2031, 0, 5, 7, 30) });

    // The same file again changes nothing.
    const same = await onboard(
      p.producer,
      [{ email: 'ana@example.com', profile: 'finance', startDate: '2031-01-05', timeZone: 'Europe/Berlin' }],
      {},
      { batchId: 'dates-2' },
    );
    expect([same.alreadyInBatch, same.rescheduled, same.notRescheduled]).toEqual([1, undefined, undefined]);

    // A start date moved into the past: due now (still one job).
    await onboard(
      p.producer,
      [{ email: 'ana@example.com', profile: 'finance', startDate: '2020-01-06', timeZone: 'Europe/Berlin' }],
      {},
      { batchId: 'dates-2' },
    );
    expect(await dueAt(prefix, 'acme-closient', 'ana@example.com')).toBeLessThanOrEqual(Date.now());
    expect(await batchStatus(p.producer.redis, prefix, 'dates-2')).toMatchObject({ total: 1, scheduled: 0 });

    // Sent now (a worker takes it); a later correction cannot unsend it: reported, not moved, not queued again.
    const workers = await startPipeline(redis, accounts(), { env: ENV, config: { profiles: PROFILES, redis: { url: redis.url, prefix } } });
    cleanups.push(() => workers.close());
    await finishedJob(queue, id);
    const late = await onboard(
      p.producer,
      [{ email: 'ana@example.com', profile: 'finance', startDate: '2031-02-02', timeZone: 'Europe/Berlin' }],
      {},
      { batchId: 'dates-2' },
    );
    expect(late.rescheduled).toBeUndefined();
    expect(late).toMatchObject({
      accepted: 0,
      notRescheduled: [{ index: 0, account: 'acme-closient', id, state: 'completed', finishedOn: expect.any(Number) }],
    });
    expect(await queue.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 0 });
    expect((await accountStats(p.producer, ['acme-closient']))[0]?.completed).toBe(1);
  });
});

describe('the queue age of invites that fall due', () => {
  it('counts a scheduled invite as waiting since its time came, not since it was queued weeks before', async () => {
    const p = await startPipeline(redis, accounts(), { env: ENV, workers: false });
    cleanups.push(() => p.close());
    const queue = p.producer.queue('acme-uptime');
    const now = Date.now();
    const queuedAt = now - 21 * 86_400_000;
    const data = {
      account: 'acme-uptime',
      provider: 'betterstack',
      invite: { email: 'due@example.com' },
      enqueuedAt: queuedAt,
      scheduledFor: now - 60_000,
      timeZone: 'UTC',
    };
    const job = await queue.add(INVITE_JOB, data, { jobId: 'inv-due', timestamp: queuedAt, delay: now - 60_000 - queuedAt });
    await job.promote(); // what a worker does when its time comes
    const [stats] = await accountStats(p.producer, ['acme-uptime']);
    expect(stats?.waiting).toBe(1);
    expect(stats?.oldestWaitingMs).toBeGreaterThanOrEqual(60_000);
    expect(stats?.oldestWaitingMs).toBeLessThan(120_000);
  });
});

describe('a scheduled invite with a worker', () => {
  it('is delivered after its time, not before', async () => {
    const p = await startPipeline(redis, accounts(), { env: ENV, config: { profiles: { soon: { inviteAt: { daysBefore: 0 }, 'acme-uptime': {} } } } });
    cleanups.push(() => p.close());
    // A start two and a half seconds from now (to the second, as a date-time is read): the profile invites on it.
    const startAt = new Date(Math.ceil((Date.now() + 2_500) / 1000) * 1000);
    const sentBefore = servers.uptime.requests.length;
    await onboard(p.producer, [{ email: 'soon@example.com', profile: 'soon', startDate: startAt.toISOString() }], {}, { batchId: 'soon-1' });
    const queue = p.producer.queue('acme-uptime');
    const id = inviteJobId('acme-uptime', 'soon@example.com');
    expect(await (await queue.getJob(id))?.getState()).toBe('delayed');
    const status = await batchStatus(p.producer.redis, p.config.redis.prefix, 'soon-1');
    expect(status).toMatchObject({ total: 1, done: 0, scheduled: 1, complete: false });
    const [event] = await p.waitForInviteEvents(1, 10_000);
    // The job is removed as it completes: when the provider was called says when it was processed.
    const calledAt = servers.uptime.requests.at(-1)?.at ?? 0;
    const sentAt = Number(event?.finishedAt);
    console.log(
      `scheduled for ${startAt.toISOString()}; called the provider ${calledAt - startAt.getTime()} ms after, finished ${sentAt - startAt.getTime()} ms after`,
    );
    expect(calledAt).toBeGreaterThanOrEqual(startAt.getTime());
    expect(servers.uptime.requests.length).toBe(sentBefore + 1);
    expect(await batchStatus(p.producer.redis, p.config.redis.prefix, 'soon-1')).toMatchObject({ done: 1, scheduled: 0, complete: true });
  });
});
