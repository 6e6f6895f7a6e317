/**
 * Recovery from each Redis failure mode (issue 22), one worker process delivering 1,500 invites at 150/s:
 * the time from the fault to the first invite delivered again, beside the time the topology itself took (the
 * sentinels naming a new primary, the Cluster's replica serving the slot) measured in the same run. The fault
 * tests (test/faults/dead-link.test.ts, failover.test.ts) assert the bounds; this prints the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { startOwnRedis } from '../../src/embedded-redis.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { startEndpointProxy } from '../../test/support/endpoint-proxy.ts';
import { startWorker } from '../../test/support/processes.ts';
import { startRedisCluster, startReplicaPair, startSentinelGroup } from '../../test/support/redis-topologies.ts';
import { startSilentProxy } from '../../test/support/silent-proxy.ts';
import type { Result } from '../lib.ts';
import { until, writeConfig } from '../lib.ts';

const N = 1_500;
const RATE = 150;

/** One failure: set up what the worker connects to, then the fault; both return what the run needs. */
interface Mode {
  name: string;
  /** `redis` config for the worker, and a URL (or config) for the bench's own producer. */
  setup(dir: string): Promise<{ redis: Record<string, unknown>; producerRedis: Record<string, unknown>; teardown(): Promise<void> }>;
  /** Causes the fault; resolves with when it happened (ms) and the topology's own recovery time (ms), if any. */
  fault(): Promise<{ at: number; topologyMs?: number; from?: number }>;
  baseline: string;
}

async function run(mode: Mode): Promise<{ recoveryMs: number; topologyMs: number | undefined; delivered: number; twice: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ib-bench-recovery-'));
  const provider = await startFakeServer((req) => ({ ...betterstackHandler()(req), delayMs: 20 }));
  const env = await mode.setup(dir);
  const prefix = mode.name.includes('Cluster') ? '{bench}' : 'bench';
  const accounts = {
    acme: {
      provider: 'betterstack',
      baseUrl: provider.url,
      credentials: { token: { env: 'BS_TOKEN' } },
      concurrency: 8,
      rateLimit: { max: RATE, durationMs: 1_000 },
    },
  };
  const raw = {
    redis: { ...env.redis, prefix },
    worker: { lockDurationMs: 4_000, stalledIntervalMs: 2_000, maxStalledCount: 5 },
    accounts,
  };
  const producer = new Producer(parseConfig({ ...raw, redis: { ...env.producerRedis, prefix } }));
  const worker = await startWorker(writeConfig(raw), { BS_TOKEN: 'bs-team-token' });
  try {
    await producer.inviteMany(
      'acme',
      Array.from({ length: N }, (_, i) => ({ email: `r${i}@example.com` })),
      { batchId: 'recovery' },
    );
    await until(() => provider.requests.length >= N / 5, 60_000, 'a fifth of the invites');
    const fault = await mode.fault();
    // In-flight calls end within their 20 ms: a call that starts 0.5 s after the fault was taken after recovery.
    const start = fault.from ?? fault.at;
    await until(() => provider.requests.some((r) => r.at > start + 500), 120_000, `delivery after ${mode.name}`);
    const first = Math.min(...provider.requests.filter((r) => r.at > start + 500).map((r) => r.at));
    const emails = () => new Set(provider.requests.map((r) => (r.json as { email?: string } | undefined)?.email));
    await until(() => emails().size >= N, 180_000, `every invite after ${mode.name}`);
    return { recoveryMs: first - start, topologyMs: fault.topologyMs, delivered: emails().size, twice: provider.requests.length - emails().size };
  } finally {
    worker.child.kill('SIGKILL');
    await worker.exited;
    await producer.close().catch(() => undefined);
    producer.redis.disconnect();
    await env.teardown();
    await provider.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const deadLink: Mode = (() => {
  let proxy: Awaited<ReturnType<typeof startSilentProxy>>;
  return {
    name: 'dead link (sockets open, nothing passes for 20 s): traffic flows again',
    baseline: '',
    async setup() {
      const redis = await startOwnRedis();
      proxy = await startSilentProxy(redis.url);
      return {
        redis: { url: proxy.url },
        producerRedis: { url: redis.url },
        teardown: async () => {
          await proxy.close();
          await redis.destroy();
        },
      };
    },
    async fault() {
      const at = Date.now();
      proxy.silence({ mode: 'drop' });
      await new Promise((r) => setTimeout(r, 20_000));
      proxy.resume();
      // Counted from the moment traffic flows again: until then nothing can be delivered.
      return { at, from: Date.now() };
    },
  };
})();

const sentinel: Mode = (() => {
  let group: Awaited<ReturnType<typeof startSentinelGroup>>;
  return {
    name: 'Sentinel: the primary SIGKILLed',
    baseline: 'the sentinels naming the new primary',
    async setup(dir) {
      group = await startSentinelGroup({ dir });
      const redis = { sentinels: group.sentinelAddresses.map((s) => `${s.host}:${s.port}`), name: group.name };
      return { redis, producerRedis: redis, teardown: () => group.destroy() };
    },
    async fault() {
      const old = group.primary;
      await group.kill(old);
      const at = Date.now();
      await group.waitForFailover({ from: old, timeoutMs: 60_000 });
      return { at, topologyMs: Date.now() - at };
    },
  };
})();

const endpoint: Mode = (() => {
  let pair: Awaited<ReturnType<typeof startReplicaPair>>;
  let proxy: Awaited<ReturnType<typeof startEndpointProxy>>;
  return {
    name: 'managed endpoint moved to the promoted replica (the old primary SIGKILLed 6 s later)',
    baseline: 'the endpoint moving (cut, replica caught up, promoted)',
    async setup(dir) {
      pair = await startReplicaPair({ dir });
      proxy = await startEndpointProxy(pair.primary);
      return {
        redis: { url: proxy.url },
        producerRedis: { url: proxy.url },
        teardown: async () => {
          await proxy.close();
          await pair.destroy();
        },
      };
    },
    async fault() {
      // As a managed service fails over without losing an acknowledged write: connections cut, the replica
      // promoted once it has everything (promote() waits for it), the endpoint pointed at it.
      const at = Date.now();
      proxy.hold();
      await pair.promote();
      proxy.pointTo(pair.replica);
      const topologyMs = Date.now() - at;
      setTimeout(() => void pair.kill(pair.primary).catch(() => undefined), 6_000 - topologyMs);
      return { at, topologyMs };
    },
  };
})();

const cluster: Mode = (() => {
  let c: Awaited<ReturnType<typeof startRedisCluster>>;
  return {
    name: 'Cluster (3+3): the primary of the slot SIGKILLed',
    baseline: 'the replica serving the slot',
    async setup(dir) {
      c = await startRedisCluster({ dir });
      const redis = { cluster: { nodes: c.startupNodes.map((n) => `${n.host}:${n.port}`) } };
      return { redis, producerRedis: redis, teardown: () => c.destroy() };
    },
    async fault() {
      const { node, slot } = await c.killOwnerOf('{bench}');
      const at = Date.now();
      await c.waitForFailover(slot, { from: node, timeoutMs: 60_000 });
      return { at, topologyMs: Date.now() - at };
    },
  };
})();

export async function redisRecoveryScenario(): Promise<Result[]> {
  const results: Result[] = [];
  for (const mode of [deadLink, sentinel, endpoint, cluster]) {
    const r = await run(mode);
    results.push({
      scenario: `Redis recovery (${N} invites at ${RATE}/s, one worker process)`,
      metric: `${mode.name} → first invite delivered again`,
      value: r.recoveryMs / 1000,
      unit: 's',
      ...(r.topologyMs === undefined ? {} : { baseline: { name: mode.baseline, value: r.topologyMs / 1000 }, ratio: r.recoveryMs / r.topologyMs }),
      target: '≤ 30 s',
      met: r.recoveryMs <= 30_000,
      note: `delivered ${r.delivered}/${N}, calls repeated ${r.twice}`,
    });
  }
  return results;
}
