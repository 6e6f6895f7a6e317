import http from 'node:http';
import { Queue, Worker } from 'bullmq';
import got from 'got';
import { Redis } from 'ioredis';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { betterstack, config, ENV, type Result, redis, redisWork, resetRedisStats, silent, until } from '../lib.ts';

const N = 5000;
const CONCURRENCY = 16;

/** invitebus end to end: producer → Redis → worker → HTTP → completion event. */
export async function invitebusRate(url: string, providerUrl: string): Promise<number> {
  const cfg = config(url, { acme: betterstack(providerUrl, { concurrency: CONCURRENCY }) });
  const producer = new Producer(cfg);
  const workers = await runWorkers(cfg, { env: ENV, logger: silent });
  const started = Date.now();
  await producer.inviteMany(
    'acme',
    Array.from({ length: N }, (_, i) => ({ email: `o${i}@example.com` })),
  );
  // A job completes only after its completion event is written: both sides are timed to the last completion,
  // polled the same way.
  const queue = producer.queue('acme');
  await until(async () => (await queue.getCompletedCount()) >= N, 300_000, 'invitebus jobs');
  const rate = N / ((Date.now() - started) / 1000);
  await workers.close();
  await producer.close();
  return rate;
}

/** The baseline: a bare BullMQ queue and worker making the same got POST (keep-alive). */
export async function bareBullmqRate(url: string, providerUrl: string): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('bare', { connection, prefix: `bare${Date.now()}` });
  const client = got.extend({ agent: { http: new http.Agent({ keepAlive: true }) }, retry: { limit: 0 }, throwHttpErrors: false });
  const worker = new Worker(
    'bare',
    async (job) => {
      const res = await client.post(`${providerUrl}/api/v2/team-members`, {
        headers: { authorization: 'Bearer bs-team-token' },
        json: { email: job.data.email, role: 'responder' },
      });
      return res.statusCode;
    },
    { connection, prefix: queue.opts.prefix, concurrency: CONCURRENCY },
  );
  await worker.waitUntilReady();
  const started = Date.now();
  for (let i = 0; i < N; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ name: 'invite', data: { email: `o${i + k}@example.com` } })));
  }
  await until(async () => (await queue.getCompletedCount()) >= N, 300_000, 'bare BullMQ jobs');
  const rate = N / ((Date.now() - started) / 1000);
  await worker.close();
  await queue.close();
  await connection.quit();
  return rate;
}

export async function overheadScenario(): Promise<Result[]> {
  const r = await redis();
  const provider = await startFakeServer(betterstackHandler());
  try {
    // Alternate, twice each, so warm-up and noise fall on both sides; Redis's own work counted for the second of each.
    const bare1 = await bareBullmqRate(r.url, provider.url);
    const ours1 = await invitebusRate(r.url, provider.url);
    await resetRedisStats(r.url);
    const bare2 = await bareBullmqRate(r.url, provider.url);
    const bareWork = await redisWork(r.url);
    await resetRedisStats(r.url);
    const ours2 = await invitebusRate(r.url, provider.url);
    const ourWork = await redisWork(r.url);
    const ours = Math.max(ours1, ours2);
    const bare = Math.max(bare1, bare2);
    const name = `2. unthrottled overhead (zero-latency provider, ${N} invites, concurrency ${CONCURRENCY})`;
    return [
      {
        scenario: name,
        metric: 'invites/s end to end',
        value: ours,
        unit: '/s',
        baseline: { name: 'bare BullMQ worker + got POST', value: bare },
        ratio: ours / bare,
        target: '>= 0.95 × baseline',
        met: ours / bare >= 0.95,
        note: `runs: invitebus ${ours1.toFixed(0)}, ${ours2.toFixed(0)}; bare ${bare1.toFixed(0)}, ${bare2.toFixed(0)} (best of two each)`,
      },
      {
        scenario: name,
        metric: 'Redis commands per invite (inside scripts included)',
        value: ourWork.calls / N,
        unit: 'commands',
        baseline: { name: 'bare BullMQ worker', value: bareWork.calls / N },
        ratio: ourWork.calls / bareWork.calls,
        note: `invitebus: ${ourWork.top}; bare: ${bareWork.top}`,
      },
      {
        scenario: name,
        metric: 'Redis time per invite',
        value: ourWork.usec / N,
        unit: 'µs',
        baseline: { name: 'bare BullMQ worker', value: bareWork.usec / N },
        ratio: ourWork.usec / bareWork.usec,
      },
    ];
  } finally {
    await provider.close();
    await r.destroy();
  }
}
