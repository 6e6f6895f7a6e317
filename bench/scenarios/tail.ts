/**
 * Target 1 (tail under transient failures): invites against a provider that fails 10% of calls with 5xx,
 * resets 3% of connections and stalls 2% past the timeout, limited to 50 invites/s, on the default retry
 * schedule (first retry up to 60 s); the time to the last invite against the same run without faults.
 * Smaller than the run (no worker killed, 1,000 invites at 50/s): the same mix, minutes instead of ten.
 */
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeAnswer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { betterstack, config, ENV, type Result, redis, silent } from '../lib.ts';

const N = 1_000;
const LIMIT = { max: 50, durationMs: 1_000 };

async function run(faulty: boolean): Promise<{ lastMs: number; p99Ms: number; calls: number }> {
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
  try {
    const cfg = config(r.url, {
      acme: betterstack(fake.url, {
        rateLimit: LIMIT,
        timeoutMs: 2_000,
        concurrency: 20,
        retry: { attempts: 8, baseDelayMs: 60_000, maxDelayMs: 30 * 60_000 },
      }),
    });
    const producer = new Producer(cfg);
    const workers = await runWorkers(cfg, { env: ENV, logger: silent });
    const t0 = Date.now();
    await producer.inviteMany(
      'acme',
      Array.from({ length: N }, (_, i) => ({ email: `t${i}@example.com` })),
      { batchId: 'tail' },
    );
    const finished: number[] = [];
    const events = producer.events();
    let last = '-';
    const deadline = t0 + 20 * 60_000;
    while (finished.length < N && Date.now() < deadline) {
      for (const e of await events.read(last, 5_000)) {
        last = e.id;
        if (e.fields.type?.startsWith('invite.')) finished.push(Number(e.fields.finishedAt) - t0);
      }
      await new Promise((res) => setTimeout(res, 200));
    }
    await workers.close();
    await producer.close();
    finished.sort((a, b) => a - b);
    return { lastMs: finished.at(-1) ?? Number.NaN, p99Ms: finished[Math.floor(finished.length * 0.99) - 1] ?? Number.NaN, calls: fake.requests.length };
  } finally {
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
  const name = `1. tail under transient failures (${N} invites, ${LIMIT.max}/s, 10% 503, 3% resets, 2% stalls)`;
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
    { scenario: name, metric: '99% done after', value: faulty.p99Ms / 1000, unit: 's', note: `without faults ${(clean.p99Ms / 1000).toFixed(1)} s` },
    { scenario: name, metric: 'provider calls', value: faulty.calls, unit: 'calls', note: `without faults ${clean.calls}` },
    {
      scenario: '1b. outage: 503 to every call for 2 minutes (600 invites at 20/s)',
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
