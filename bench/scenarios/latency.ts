import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import got from 'got';
import { Redis } from 'ioredis';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { betterstack, config, ENV, percentile, type Result, redis, silent } from '../lib.ts';

const N = 1000;

/** A provider that resolves the waiting measurement when a request arrives. */
async function arrivalProvider() {
  const honest = betterstackHandler();
  let arrived: ((t: number) => void) | undefined;
  const server = await startFakeServer((req) => {
    arrived?.(performance.now());
    return honest(req);
  });
  const next = () => new Promise<number>((resolve) => (arrived = resolve));
  return { server, next };
}

async function measure(send: (i: number) => Promise<unknown>, next: () => Promise<number>): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < N; i++) {
    const arrival = next();
    const t0 = performance.now();
    await send(i);
    latencies.push((await arrival) - t0);
    await new Promise((r) => setTimeout(r, 2)); // idle between invites
  }
  return latencies.sort((a, b) => a - b);
}

export async function latencyScenario(): Promise<Result[]> {
  const r = await redis();
  const p = await arrivalProvider();
  try {
    const cfg = config(r.url, { acme: betterstack(p.server.url) });
    const producer = new Producer(cfg);
    const workers = await runWorkers(cfg, { env: ENV, logger: silent });
    const ours = await measure((i) => producer.invite('acme', { email: `l${i}@example.com` }), p.next);
    await workers.close();
    await producer.close();

    const connection = new Redis(r.url, { maxRetriesPerRequest: null });
    const queue = new Queue('bare', { connection, prefix: 'bare-latency' });
    const client = got.extend({ agent: { http: new http.Agent({ keepAlive: true }) }, retry: { limit: 0 }, throwHttpErrors: false });
    const worker = new Worker(
      'bare',
      async (job) =>
        (await client.post(`${p.server.url}/api/v2/team-members`, { headers: { authorization: 'Bearer bs-team-token' }, json: { email: job.data.email } }))
          .statusCode,
      {
        connection,
        prefix: 'bare-latency',
        concurrency: 4,
      },
    );
    await worker.waitUntilReady();
    const bare = await measure((i) => queue.add('invite', { email: `b${i}@example.com` }), p.next);
    await worker.close();
    await queue.close();
    await connection.quit();

    const name = `4. latency, idle system, enqueue → first byte at the provider (${N} single invites)`;
    return [
      {
        scenario: name,
        metric: 'p50',
        value: percentile(ours, 50),
        unit: 'ms',
        baseline: { name: 'bare BullMQ queue.add → worker → got POST', value: percentile(bare, 50) },
        ratio: percentile(ours, 50) / percentile(bare, 50),
        target: '< 10 ms',
        met: percentile(ours, 50) < 10,
      },
      {
        scenario: name,
        metric: 'p99',
        value: percentile(ours, 99),
        unit: 'ms',
        baseline: { name: 'bare BullMQ', value: percentile(bare, 99) },
        ratio: percentile(ours, 99) / percentile(bare, 99),
      },
    ];
  } finally {
    await p.server.close();
    await r.destroy();
  }
}
