/**
 * Accounts' workers alive at once are bounded (issue 24): however many accounts have work at once, a worker process
 * runs at most `worker.maxAccountWorkers` of them (default from its heap cap); the others wait their turn, and every
 * invite is delivered exactly once.
 */
import { QueueEvents } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { inviteEventReader, invitesPerAccount, startPipeline, waitFor } from '../support/pipeline.ts';
import { startWorker, type WorkerProcess, writeConfigIn } from '../support/processes.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const name = (i: number) => `a${String(i).padStart(4, '0')}`;

const invites = (accounts: number, each: number) =>
  invitesPerAccount(
    Array.from({ length: accounts }, (_, a) => name(a)),
    each,
  );

describe('accounts with work at once', () => {
  const dir = tempDir('account-slots');
  let worker: WorkerProcess | undefined;
  afterAll(async () => {
    if (worker?.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  it('runs at most maxAccountWorkers account workers at once and delivers every invite exactly once', { timeout: 60_000 }, async () => {
    const fake = await startFakeServer(betterstackHandler());
    const accounts: Record<string, Record<string, unknown>> = {};
    for (let i = 0; i < 300; i++) {
      accounts[name(i)] = { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } }, rateLimit: { max: 5, durationMs: 1000 } };
    }
    const p = await startPipeline(redis, accounts, { env: { T: 'bs-team-token' }, config: { worker: { shutdownTimeoutMs: 5_000, maxAccountWorkers: 20 } } });
    const engine = p.workers?.engine;
    if (engine === undefined) throw new Error('no engine');
    try {
      let most = 0;
      let waitedMost = 0;
      const sampler = setInterval(() => {
        most = Math.max(most, engine.slots.alive);
        waitedMost = Math.max(waitedMost, engine.slots.waiting);
      }, 5);
      const items = invites(300, 3);
      expect((await p.producer.enqueue(items)).accepted).toBe(items.length);
      const read = inviteEventReader(p.events);
      const done = await waitFor(
        async () => {
          const found = await read();
          return found.length >= items.length ? found : undefined;
        },
        45_000,
        `${items.length} invite events`,
      );
      clearInterval(sampler);
      expect(engine.slots.max).toBe(20);
      expect(most).toBeLessThanOrEqual(20);
      // The bound did bind: accounts waited for a slot.
      expect(waitedMost).toBeGreaterThan(0);
      expect(done).toHaveLength(items.length);
      expect(new Set(done.map((e) => e.inviteId)).size).toBe(items.length);
      expect(done.every((e) => e.type === 'invite.succeeded')).toBe(true);
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(items.length);
    } finally {
      await p.close();
      await fake.close();
    }
  });

  it('delivers 3,000 accounts with work at once under a 64 MB heap cap (the default bound follows the cap)', { timeout: 90_000 }, async () => {
    const fake = await startFakeServer(betterstackHandler(), { keepRequests: 100 });
    const prefix = `${redis.prefix}-heap`;
    const accounts: Record<string, unknown> = {};
    for (let i = 0; i < 3_000; i++) {
      accounts[name(i)] = { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } }, rateLimit: { max: 5, durationMs: 1000 } };
    }
    const settings = { redis: { url: redis.url, prefix }, worker: { shutdownTimeoutMs: 5_000 }, log: { level: 'info' }, accounts };
    worker = await startWorker(writeConfigIn(dir, settings), { T: 'bs-team-token' }, [], { heapMb: 64 });
    const conn = redis.connect();
    const producer = new Producer(parseConfig(settings), { redis: conn });
    try {
      const items = invites(3_000, 2);
      expect((await producer.enqueue(items)).accepted).toBe(items.length);
      const read = inviteEventReader(producer.events());
      const running = worker;
      const done = await waitFor(
        async () => {
          if (running.child.exitCode !== null) throw new Error(`the worker exited: ${running.output().slice(-1_500)}`);
          const found = await read();
          return found.length >= items.length ? found : undefined;
        },
        70_000,
        `${items.length} invite events`,
      );
      expect(new Set(done.map((e) => e.inviteId)).size).toBe(items.length);
      expect(done.every((e) => e.type === 'invite.succeeded')).toBe(true);
      expect(worker.child.exitCode).toBeNull();
    } finally {
      await producer.close();
      await conn.quit();
    }
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    await fake.close();
  });
});

describe('jobs an account takes at once', () => {
  it('an account paced by its limit takes one job at a time: none is fetched only to go back to delayed', { timeout: 30_000 }, async () => {
    // Issue 24 (bench `accounts`, limit-bound): an account at 1 call / 4 s with the default concurrency (4) fetched
    // four jobs at each start, found three of them seconds from their call slot and moved them back to delayed, then
    // did it again at its next start: 22.8 Redis commands per invite where 7.5 suffice.
    const fake = await startFakeServer(betterstackHandler());
    const slow = { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } }, rateLimit: { max: 1, durationMs: 1_500 } };
    const p = await startPipeline(redis, { slow }, { env: { T: 'bs-team-token' } });
    const queueEvents = new QueueEvents('slow', { connection: { url: redis.url }, prefix: p.config.redis.prefix });
    const delayedMoves: string[] = [];
    queueEvents.on('delayed', ({ jobId }) => delayedMoves.push(jobId));
    try {
      await queueEvents.waitUntilReady();
      expect((await p.producer.enqueue(invitesPerAccount(['slow'], 4))).accepted).toBe(4);
      const read = inviteEventReader(p.events);
      await waitFor(async () => (await read()).length >= 4, 20_000, 'four invite events');
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(4);
      // None goes back to delayed: its worker takes one job at a time and, its next slot far, is released as a call
      // completes instead of fetching the next job. Before, every start fetched four and moved three back (6 moves
      // for these 4 invites); with one job at a time and a fetch at each completion, 3.
      expect(delayedMoves).toEqual([]);
    } finally {
      await queueEvents.close();
      await p.close();
      await fake.close();
    }
  });

  it('an account whose rate is not the bound takes its configured concurrency at once', { timeout: 30_000 }, async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const answer = betterstackHandler();
    const fake = await startFakeServer(async (req) => {
      await held;
      return answer(req);
    });
    const fast = {
      provider: 'betterstack',
      baseUrl: fake.url,
      credentials: { token: { env: 'T' } },
      concurrency: 4,
      rateLimit: { max: 100, durationMs: 1_000 },
    };
    const p = await startPipeline(redis, { fast }, { env: { T: 'bs-team-token' } });
    try {
      expect((await p.producer.enqueue(invitesPerAccount(['fast'], 8))).accepted).toBe(8);
      await waitFor(() => fake.inFlight() >= 4, 10_000, 'four calls in flight at once');
      await new Promise((r) => setTimeout(r, 300));
      expect(fake.inFlight()).toBe(4);
      release();
      const read = inviteEventReader(p.events);
      await waitFor(async () => (await read()).length >= 8, 15_000, 'eight invite events');
      expect(fake.requests).toHaveLength(8);
    } finally {
      release();
      await p.close();
      await fake.close();
    }
  });
});
