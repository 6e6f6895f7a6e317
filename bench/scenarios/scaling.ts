import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { startWorker } from '../../test/support/processes.ts';
import { betterstack, config, ENV, type Result, redis, until, writeConfig } from '../lib.ts';

const N = 10_000;

async function drain(url: string, providerUrl: string, processes: number): Promise<number> {
  const cfg = config(url, { acme: betterstack(providerUrl, { concurrency: 16 }) });
  const producer = new Producer(cfg);
  await producer.inviteMany(
    'acme',
    Array.from({ length: N }, (_, i) => ({ email: `s${i}@example.com` })),
  );
  const path = writeConfig({ redis: cfg.redis, log: { level: 'info' }, accounts: { acme: betterstack(providerUrl, { concurrency: 16 }) } });
  const started = Date.now();
  const workers = await Promise.all(Array.from({ length: processes }, () => startWorker(path, ENV)));
  const queue = producer.queue('acme');
  await until(async () => (await queue.getCompletedCount()) >= N, 600_000, 'the queue to drain');
  const rate = N / ((Date.now() - started) / 1000);
  for (const w of workers) w.child.kill('SIGTERM');
  await Promise.all(workers.map((w) => w.exited));
  await producer.close();
  return rate;
}

export async function scalingScenario(): Promise<Result[]> {
  const r = await redis();
  const provider = await startFakeServer(betterstackHandler());
  try {
    const one = await drain(r.url, provider.url, 1);
    const two = await drain(r.url, provider.url, 2);
    return [
      {
        scenario: `6. scaling out (unthrottled provider, ${N} invites, concurrency 16 per process)`,
        metric: 'invites/s with 2 worker processes',
        value: two,
        unit: '/s',
        baseline: { name: '1 worker process', value: one },
        ratio: two / one,
        note: 'the machine has 2 cores, shared with Redis and the fake provider',
      },
    ];
  } finally {
    await provider.close();
    await r.destroy();
  }
}
