import http from 'node:http';
import { Queue, Worker } from 'bullmq';
import got from 'got';
import { Redis } from 'ioredis';
import type { Config } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { betterstack, config, ENV, type Result, redis, redisWork, resetRedisStats, silent, until } from '../lib.ts';

const N = 5000;
/** Invites per run of the overhead scenario (the Redis ceiling scenario runs the same). */
export const OVERHEAD_INVITES = N;
const CONCURRENCY = 16;

/** invitebus end to end: producer → Redis → worker → HTTP → completion event. */
export async function invitebusRate(url: string, providerUrl: string): Promise<number> {
  return invitebusRateOn(config(url, { acme: betterstack(providerUrl, { concurrency: CONCURRENCY }) }));
}

/** The same on any configured Redis (`cfg` has one account, `acme`). */
export async function invitebusRateOn(cfg: Config): Promise<number> {
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

/** CPU seconds used so far by this process and by Redis (whose INFO reports its own). */
async function cpuNow(url: string): Promise<{ node: number; redis: number }> {
  const c = new Redis(url);
  const info = await c.info('cpu');
  await c.quit();
  const field = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  const u = process.cpuUsage();
  return { node: (u.user + u.system) / 1e6, redis: field('used_cpu_user') + field('used_cpu_sys') };
}

/** One timed run with the CPU it took (this process, which holds the fake provider too, and Redis), µs per invite. */
export async function measured(url: string, run: () => Promise<number>): Promise<{ rate: number; cpuUs: number; nodeUs: number; redisUs: number }> {
  const before = await cpuNow(url);
  const rate = await run();
  const after = await cpuNow(url);
  const nodeUs = ((after.node - before.node) * 1e6) / N;
  const redisUs = ((after.redis - before.redis) * 1e6) / N;
  return { rate, cpuUs: nodeUs + redisUs, nodeUs, redisUs };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

const ROUNDS = Number(process.env.BENCH_OVERHEAD_ROUNDS ?? 5);

export async function overheadScenario(): Promise<Result[]> {
  const r = await redis();
  const provider = await startFakeServer(betterstackHandler());
  try {
    // Alternated, ROUNDS times each, medians compared: warm-up and this VM's noise (single runs of either side vary
    // by ±20%) fall on both sides. Redis's own work counted for the last round of each.
    const ours: Array<Awaited<ReturnType<typeof measured>>> = [];
    const bare: Array<Awaited<ReturnType<typeof measured>>> = [];
    let bareWork = { calls: 0, usec: 0, top: '' };
    let ourWork = { calls: 0, usec: 0, top: '' };
    for (let i = 0; i < ROUNDS; i++) {
      await resetRedisStats(r.url);
      bare.push(await measured(r.url, () => bareBullmqRate(r.url, provider.url)));
      bareWork = await redisWork(r.url);
      await resetRedisStats(r.url);
      ours.push(await measured(r.url, () => invitebusRate(r.url, provider.url)));
      ourWork = await redisWork(r.url);
    }
    const oursRate = median(ours.map((x) => x.rate));
    const bareRate = median(bare.map((x) => x.rate));
    const oursCpu = median(ours.map((x) => x.cpuUs));
    const bareCpu = median(bare.map((x) => x.cpuUs));
    const name = `2. unthrottled overhead (zero-latency provider, ${N} invites, concurrency ${CONCURRENCY})`;
    return [
      {
        scenario: name,
        metric: 'invites/s end to end (median of alternated runs)',
        value: oursRate,
        unit: '/s',
        baseline: { name: 'bare BullMQ worker + got POST', value: bareRate },
        ratio: oursRate / bareRate,
        target: '>= 0.95 × baseline',
        met: oursRate / bareRate >= 0.95,
        note: `runs: invitebus ${ours.map((x) => x.rate.toFixed(0)).join(', ')}; bare ${bare.map((x) => x.rate.toFixed(0)).join(', ')}`,
      },
      {
        scenario: name,
        metric: 'CPU per invite (this process with the fake provider, plus Redis; median)',
        value: oursCpu,
        unit: 'µs',
        baseline: { name: 'bare BullMQ worker + got POST', value: bareCpu },
        ratio: oursCpu / bareCpu,
        note: `Node ${median(ours.map((x) => x.nodeUs)).toFixed(0)} µs vs ${median(bare.map((x) => x.nodeUs)).toFixed(0)} µs; Redis ${median(ours.map((x) => x.redisUs)).toFixed(0)} µs vs ${median(bare.map((x) => x.redisUs)).toFixed(0)} µs`,
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
