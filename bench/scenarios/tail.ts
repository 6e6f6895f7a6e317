/**
 * Target 1 (tail under transient failures), the run: 2,000 invites against a provider that fails 10% of
 * calls with 5xx, resets 3% of connections and stalls 2% past the timeout (10 s, the default), limited to 20
 * invites/s, on the default retry schedule, in two worker processes, one of which is killed with SIGKILL 30 s in
 * and restarted 5 s later. The baseline is the same run without faults (no failures, no kill).
 */
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeAnswer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { startWorker, type WorkerProcess } from '../../test/support/processes.ts';
import { betterstack, config, ENV, type Result, redis, silent, writeConfig } from '../lib.ts';

const N = Number(process.env.BENCH_TAIL_INVITES ?? 2_000);
const LIMIT = { max: 20, durationMs: 1_000 };
const KILL = { atMs: 30_000, restartAfterMs: 5_000 };

async function run(faulty: boolean): Promise<{ lastMs: number; p50Ms: number; p99Ms: number; calls: number; invites: number }> {
  const r = await redis();
  const honest = betterstackHandler();
  const fake = await startFakeServer(async (req): Promise<FakeAnswer> => {
    if (faulty) {
      const roll = Math.random();
      if (roll < 0.1) return { status: 503 };
      if (roll < 0.13) return { reset: true };
      if (roll < 0.15) return { hang: true };
    }
    return honest(req);
  });
  const workers: WorkerProcess[] = [];
  try {
    const accounts = { acme: betterstack(fake.url, { rateLimit: LIMIT, concurrency: 20 }) };
    const cfg = config(r.url, accounts);
    const path = writeConfig({ redis: cfg.redis, log: { level: 'info' }, accounts });
    const producer = new Producer(cfg);
    workers.push(await startWorker(path, ENV), await startWorker(path, ENV));
    const t0 = Date.now();
    await producer.inviteMany(
      'acme',
      Array.from({ length: N }, (_, i) => ({ email: `t${i}@example.com` })),
      { batchId: 'tail' },
    );
    let killed = !faulty;
    const finished = new Map<string, number>();
    const events = producer.events();
    let last = '-';
    const deadline = t0 + 20 * 60_000;
    while (finished.size < N && Date.now() < deadline) {
      if (!killed && Date.now() - t0 >= KILL.atMs) {
        killed = true;
        workers[0]?.child.kill('SIGKILL');
        setTimeout(() => {
          startWorker(path, ENV).then((w) => workers.push(w), console.error);
        }, KILL.restartAfterMs);
      }
      for (const e of await events.read(last, 5_000)) {
        last = e.id;
        if (e.fields.type?.startsWith('invite.')) finished.set(e.fields.inviteId as string, Number(e.fields.finishedAt) - t0);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    await producer.close();
    const times = [...finished.values()].sort((a, b) => a - b);
    const at = (q: number) => times[Math.max(0, Math.ceil(times.length * q) - 1)] ?? Number.NaN;
    const invites = new Set(fake.requests.map((q) => q.body)).size;
    return { lastMs: times.length < N ? Number.NaN : (times.at(-1) ?? Number.NaN), p50Ms: at(0.5), p99Ms: at(0.99), calls: fake.requests.length, invites };
  } finally {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await fake.close();
    await r.destroy();
  }
}

const OUTAGE = { startMs: 5_000, lengthMs: 120_000 };

/**
 * An outage: the provider answers 503 to every call for two minutes, 5 s into a run of 600 invites at 20/s.
 * Counts the calls the provider gets during the outage, with or without the health-aware policy.
 */
async function outage(healthAware: boolean): Promise<number> {
  const r = await redis();
  const honest = betterstackHandler();
  let t0 = Number.POSITIVE_INFINITY;
  const down = (at: number) => at - t0 >= OUTAGE.startMs && at - t0 < OUTAGE.startMs + OUTAGE.lengthMs;
  const fake = await startFakeServer(async (req): Promise<FakeAnswer> => (down(req.at) ? { status: 503 } : honest(req)));
  try {
    const cfg = config(r.url, {
      acme: betterstack(fake.url, {
        rateLimit: { max: 20, durationMs: 1_000 },
        concurrency: 20,
        retry: { attempts: 8, baseDelayMs: 60_000, maxDelayMs: 30 * 60_000, healthAware },
      }),
    });
    const producer = new Producer(cfg);
    const workers = await runWorkers(cfg, { env: ENV, logger: silent });
    t0 = Date.now();
    await producer.inviteMany(
      'acme',
      Array.from({ length: 600 }, (_, i) => ({ email: `o${i}@example.com` })),
    );
    await new Promise((res) => setTimeout(res, OUTAGE.startMs + OUTAGE.lengthMs - (Date.now() - t0) + 500));
    await workers.close();
    await producer.close();
    return fake.requests.filter((q) => down(q.at)).length;
  } finally {
    await fake.close();
    await r.destroy();
  }
}

export async function tailScenario(): Promise<Result[]> {
  const clean = await run(false);
  const faulty = await run(true);
  const today = await outage(false);
  const aware = await outage(true);
  const name = `8. tail under transient failures (${N} invites, ${LIMIT.max}/s, 10% 503, 3% resets, 2% stalls past 10 s, 2 workers, one SIGKILLed and restarted)`;
  return [
    {
      scenario: name,
      metric: 'last invite done after',
      value: faulty.lastMs / 1000,
      unit: 's',
      baseline: { name: 'same run without faults', value: clean.lastMs / 1000 },
      ratio: faulty.lastMs / clean.lastMs,
      target: '≤ 2 × without faults',
      met: faulty.lastMs <= 2 * clean.lastMs,
    },
    {
      scenario: name,
      metric: 'half done after',
      value: faulty.p50Ms / 1000,
      unit: 's',
      baseline: { name: 'same run without faults', value: clean.p50Ms / 1000 },
      ratio: faulty.p50Ms / clean.p50Ms,
    },
    {
      scenario: name,
      metric: '99% done after',
      value: faulty.p99Ms / 1000,
      unit: 's',
      baseline: { name: 'same run without faults', value: clean.p99Ms / 1000 },
      ratio: faulty.p99Ms / clean.p99Ms,
    },
    {
      scenario: name,
      metric: 'provider calls',
      value: faulty.calls,
      unit: 'calls',
      note: `for ${faulty.invites} distinct invites (without faults ${clean.calls} calls)`,
    },
    {
      scenario: '8b. outage: 503 to every call for 2 minutes (600 invites at 20/s)',
      metric: 'calls during the outage',
      value: aware,
      unit: 'calls',
      baseline: { name: "today's schedule (retry.healthAware false)", value: today },
      ratio: aware / today,
      target: "≤ today's schedule",
      met: aware <= today,
    },
  ];
}
