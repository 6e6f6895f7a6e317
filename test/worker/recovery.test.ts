import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { outcomeOfSent } from '../../src/events/stream.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { sentOptions } from '../../src/worker/processor.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { startCutProxy } from '../support/cut-proxy.ts';
import { captureLogs } from '../support/log-capture.ts';
import { finishedJob, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');

/** Workers on a connection of their own, closed with them. */
async function startWorkers(config: ReturnType<typeof configFor>, engine?: { recentSweepMs: number }) {
  const connection = redis.connect();
  const running = await runWorkers(config, {
    env: { T: 'bs-team-token' },
    logger: pino({ level: 'silent' }),
    redis: connection,
    ...(engine ? { engine } : {}),
  });
  return {
    running,
    async close() {
      const result = await running.close();
      await connection.quit().catch(() => connection.disconnect());
      return result;
    },
  };
}

function configFor(baseUrl: string, prefix: string, others = 0, url = redis.url) {
  const account = { provider: 'betterstack', baseUrl, credentials: { token: { env: 'T' } }, timeoutMs: 20_000 };
  const accounts: Record<string, typeof account> = { acme: account };
  for (let i = 0; i < others; i++) accounts[`idle${i}`] = account;
  return parseConfig({
    redis: { url, prefix },
    worker: { shutdownTimeoutMs: 300, lockDurationMs: 1000, stalledIntervalMs: 500 },
    accounts,
  });
}

describe('recovery of a job whose worker died', () => {
  it('a job abandoned mid-call is retried by another worker once its lock expires', async () => {
    let hang = true;
    const fake = await startFakeServer((req) => (hang ? { hang: true } : betterstackHandler()(req)));
    cleanups.push(() => fake.close());
    const config = configFor(fake.url, `${redis.prefix}-stall`);
    const conn = redis.connect();
    const producer = new Producer(config, { redis: conn });
    cleanups.push(() => producer.close().then(() => conn.quit()));

    const first = await startWorkers(config);
    const { id } = await producer.invite('acme', { email: 'stall@example.com' });
    await waitFor(() => fake.requests.length === 1, 10_000, 'first call');
    expect((await first.close()).clean).toBe(false); // abandoned at the deadline, like a crashed worker

    hang = false;
    const second = await startWorkers(config);
    cleanups.push(() => second.close());
    const job = await waitFor(
      async () => {
        // The job is removed as it completes: what is kept of it is its sent record.
        const sent = await producer.events().sentRecord('acme', id);
        return sent === undefined ? undefined : { returnvalue: { outcome: outcomeOfSent(sent) } };
      },
      15_000,
      'the stalled job to complete',
    );
    expect(job.returnvalue.outcome.kind).toBe('invited');
    expect(fake.requests).toHaveLength(2); // at-least-once: the abandoned call and the retry
    const events = (await producer.events().read()).filter((e) => e.fields.type?.startsWith('invite.'));
    expect(events).toHaveLength(1);
  });

  it('a job whose terminal event was written before the crash finishes with that outcome, without a second call or event', async () => {
    let hang = true;
    const fake = await startFakeServer((req) => (hang ? { hang: true } : betterstackHandler()(req)));
    cleanups.push(() => fake.close());
    const config = configFor(fake.url, `${redis.prefix}-marker`);
    const conn = redis.connect();
    const producer = new Producer(config, { redis: conn });
    cleanups.push(() => producer.close().then(() => conn.quit()));

    const first = await startWorkers(config);
    const { id } = await producer.invite('acme', { email: 'marker@example.com' });
    await waitFor(() => fake.requests.length === 1, 10_000, 'first call');
    await first.close();
    // What the crashed run had done just before dying: the provider said 201 and the event was written.
    const job = await producer.queue('acme').getJob(id);
    const outcome = { kind: 'invited' as const, status: 201, providerId: '202' };
    const { written: wrote } = await producer.events().recordTerminal(
      {
        type: 'invite.succeeded',
        inviteId: id,
        account: 'acme',
        provider: 'betterstack',
        email: 'marker@example.com',
        outcome: 'invited',
        attempts: 1,
        enqueuedAt: job?.data.enqueuedAt ?? 0,
        finishedAt: Date.now(),
      },
      outcome,
      60_000,
      // As the worker records a success of a job removed as it completes: its sent record.
      job === undefined ? undefined : sentOptions(job),
    );
    expect(wrote).toBe(true);

    hang = false;
    const second = await startWorkers(config);
    cleanups.push(() => second.close());
    const done = await waitFor(
      async () => {
        // The job is removed as it completes: what is kept of it is its sent record.
        const sent = await producer.events().sentRecord('acme', id);
        return sent === undefined ? undefined : { returnvalue: { outcome: outcomeOfSent(sent) } };
      },
      15_000,
      'the job to complete',
    );
    expect(done.returnvalue.outcome).toEqual(outcome);
    expect(fake.requests).toHaveLength(1); // no second call
    const events = (await producer.events().read()).filter((e) => e.fields.type?.startsWith('invite.'));
    expect(events).toHaveLength(1);
  });

  it('a job of a process that died is recovered by a process already running, among hundreds of idle accounts', async () => {
    let hang = true;
    const fake = await startFakeServer((req) => (hang ? { hang: true } : betterstackHandler()(req)));
    cleanups.push(() => fake.close());
    // 300 accounts: the slow sweep (2 queues/s) would take minutes to reach acme; the recent-work index does not.
    const config = configFor(fake.url, `${redis.prefix}-running`, 300);
    const conn = redis.connect();
    const producer = new Producer(config, { redis: conn });
    cleanups.push(() => producer.close().then(() => conn.quit()));

    // Both processes run before the job exists: no start-up look at the queues will find it.
    const a = await startWorkers(config, { recentSweepMs: 500 });
    const b = await startWorkers(config, { recentSweepMs: 500 });
    const { id } = await producer.invite('acme', { email: 'crash@example.com' });
    await waitFor(() => fake.requests.length === 1, 10_000, 'first call');
    const [holder, survivor] = a.running.workers.some((w) => w.account.name === 'acme') ? [a, b] : [b, a];
    expect((await holder.close()).clean).toBe(false); // abandoned mid-call, like a crash
    cleanups.push(() => survivor.close());

    hang = false;
    // A success keeps its sent record once BullMQ's job is removed on completion.
    const inviteEvent = async () => (await producer.events().read()).some((e) => e.fields.type?.startsWith('invite.'));
    await waitFor(inviteEvent, 15_000, 'the stalled job to complete in the surviving process');
    const job = await finishedJob(producer.queue('acme'), id);
    expect(job.returnvalue?.outcome.kind).toBe('invited');
    const events = (await producer.events().read()).filter((e) => e.fields.type?.startsWith('invite.'));
    expect(events).toHaveLength(1);
  });
});

describe('a completion that reached Redis twice', () => {
  it("a job's completion whose reply was lost is resent after the reconnect: the job is already finished; said once as a warning, not an error", async () => {
    const fake = await startFakeServer(betterstackHandler());
    cleanups.push(() => fake.close());
    const prefix = `${redis.prefix}-resent`;
    const target = new URL(redis.url);
    // The worker's Redis runs its first completion of an acme job, then the connection is cut before the answer:
    // ioredis sends it again on the new connection, where the job is already gone (removed as it completed).
    const proxy = await startCutProxy({ host: target.hostname, port: Number(target.port) }, Number.POSITIVE_INFINITY, {
      reconnect: true,
      loseReplyOf: (command) => /^\*\d+\r\n\$\d+\r\neval/i.test(command) && command.includes(`${prefix}:acme:completed`),
    });
    cleanups.push(() => proxy.close());
    const config = configFor(fake.url, prefix, 0, proxy.url);
    const conn = redis.connect();
    const producer = new Producer(configFor(fake.url, prefix), { redis: conn });
    cleanups.push(() => producer.close().then(() => conn.quit()));
    const logs = captureLogs('info');
    const running = await runWorkers(config, { env: { T: 'bs-team-token' }, logger: logs.logger });
    cleanups.push(() => running.close());

    const { id } = await producer.invite('acme', { email: 'resent@example.com' });
    await waitFor(() => producer.events().sentRecord('acme', id), 15_000, 'the invite recorded as sent');
    await waitFor(() => proxy.replyLost, 5_000, 'the completion that lost its reply');
    const saidOf = () => logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string; jobId?: string }).filter((l) => l.jobId === id && l.level >= 40);
    await waitFor(() => saidOf().length > 0, 15_000, 'the resent completion said');
    await new Promise((r) => setTimeout(r, 1_000)); // and the retry path's own command on the same job (moveToDelayed)
    const said = saidOf();
    const errors = logs.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
    expect(said.map((l) => l.level)).toEqual([40]);
    expect(said[0]?.msg).toMatch(/already finished/);
    expect(fake.requests).toHaveLength(1);
    expect((await producer.events().read()).filter((e) => e.fields.type?.startsWith('invite.'))).toHaveLength(1);
    expect(await producer.queue('acme').getJobCounts('active', 'wait', 'delayed', 'failed')).toEqual({ active: 0, wait: 0, delayed: 0, failed: 0 });
  });
});
