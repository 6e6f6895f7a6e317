import got from 'got';
import pRetry from 'p-retry';
import { Producer } from '../../src/producer.ts';
import { betterstackBodies } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { betterstack, config, ENV, type Result, redis, silent, until } from '../lib.ts';

const INVITES = 2000;

/** A provider enforcing L calls/s per key with a token bucket (capacity L), 429 + Retry-After beyond it. */
async function tokenBucketProvider(L: number): Promise<{ server: FakeServer; ok: number[]; limited: number[] }> {
  let tokens = L;
  let last = Date.now();
  const ok: number[] = [];
  const limited: number[] = [];
  const server = await startFakeServer((req) => {
    const now = Date.now();
    tokens = Math.min(L, tokens + ((now - last) / 1000) * L);
    last = now;
    if (tokens < 1) {
      limited.push(now);
      return { status: 429, headers: { 'retry-after': String(Math.max(1, Math.ceil((1 - tokens) / L))) }, body: betterstackBodies.tooMany };
    }
    tokens -= 1;
    ok.push(now);
    const email = (req.json as { email: string }).email;
    return { status: 201, body: betterstackBodies.invited(email, 'member') };
  });
  return { server, ok, limited };
}

function summarise(ok: number[], limited: number[]) {
  const first = Math.min(ok[0] ?? Number.POSITIVE_INFINITY, limited[0] ?? Number.POSITIVE_INFINITY);
  const lastOk = ok[ok.length - 1] ?? first;
  const rate = ok.length / Math.max(0.001, (lastOk - first) / 1000);
  const firstLimited = limited[0];
  const after = firstLimited === undefined ? [] : [...ok.filter((t) => t > firstLimited), ...limited.filter((t) => t > firstLimited)];
  const limitedAfter = firstLimited === undefined ? 0 : limited.filter((t) => t > firstLimited).length;
  return { rate, limitedAfterFirstShare: after.length === 0 ? 0 : limitedAfter / after.length, total429: limited.length, calls: ok.length + limited.length };
}

async function runInvitebus(L: number) {
  const r = await redis();
  const p = await tokenBucketProvider(L);
  try {
    // Configured a little above L: invitebus does not know L exactly.
    const cfg = config(r.url, {
      acme: betterstack(p.server.url, { concurrency: L >= 100 ? 16 : 8, rateLimit: { max: Math.round(L * 1.2), durationMs: 1000 } }),
    });
    const producer = new Producer(cfg);
    await producer.inviteMany(
      'acme',
      Array.from({ length: INVITES }, (_, i) => ({ email: `u${i}@example.com` })),
    );
    const workers = await runWorkers(cfg, { env: ENV, logger: silent });
    await until(() => p.ok.length >= INVITES, 600_000, 'all invites');
    await workers.close();
    await producer.close();
    return summarise(p.ok, p.limited);
  } finally {
    await p.server.close();
    await r.destroy();
  }
}

/** The baseline: a naive loop, p-retry around got, 8 at a time. */
async function runNaive(L: number) {
  const p = await tokenBucketProvider(L);
  try {
    let next = 0;
    const client = got.extend({ retry: { limit: 0 }, headers: { authorization: 'Bearer bs-team-token' } });
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < INVITES) {
          const i = next++;
          await pRetry(() => client.post(`${p.server.url}/api/v2/team-members`, { json: { email: `u${i}@example.com` } }), { retries: 20 });
        }
      }),
    );
    return summarise(p.ok, p.limited);
  } finally {
    await p.server.close();
  }
}

export async function rateLimitScenario(): Promise<Result[]> {
  const results: Result[] = [];
  for (const L of (process.env.BENCH_RATES ?? '200,20').split(',').map(Number)) {
    const ours = await runInvitebus(L);
    const naive = await runNaive(L);
    const name = `1. rate-limit utilisation (L=${L}/s, limit configured ${Math.round(L * 1.2)}/s, ${INVITES} invites)`;
    results.push({
      scenario: name,
      metric: 'successful invites/s',
      value: ours.rate,
      unit: '/s',
      baseline: { name: 'naive p-retry+got loop, concurrency 8', value: naive.rate },
      ratio: ours.rate / naive.rate,
      target: `>= ${0.95 * L} (0.95 L)`,
      met: ours.rate >= 0.95 * L,
      note: `utilisation ${(ours.rate / L).toFixed(3)} L; baseline ${(naive.rate / L).toFixed(3)} L`,
    });
    results.push({
      scenario: name,
      metric: 'share of calls answered 429 after the first 429',
      value: ours.limitedAfterFirstShare * 100,
      unit: '%',
      baseline: { name: 'naive loop', value: naive.limitedAfterFirstShare * 100 },
      ratio: naive.limitedAfterFirstShare === 0 ? 0 : ours.limitedAfterFirstShare / naive.limitedAfterFirstShare,
      target: '<= 1%',
      met: ours.limitedAfterFirstShare <= 0.01,
      note: `429s: ${ours.total429} of ${ours.calls} calls; baseline ${naive.total429} of ${naive.calls}`,
    });
  }
  return results;
}
