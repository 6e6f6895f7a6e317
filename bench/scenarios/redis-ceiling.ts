/**
 * The one-slot ceiling (issue 22, "Cluster honesty"): with a braced prefix every key invitebus and BullMQ write is
 * in one slot, so one Redis main thread does all of invitebus's work however many shards a Cluster has. Its
 * ceiling is 1 s of that thread divided by the Redis CPU one invite costs; measured here end to end, beside a bare
 * BullMQ worker's in the same run, and once on a 3-primary Cluster to show the shards do not add up.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { startRedisCluster } from '../../test/support/redis-topologies.ts';
import { betterstack, type Result, redis } from '../lib.ts';
import { bareBullmqRate, invitebusRate, invitebusRateOn, measured, OVERHEAD_INVITES } from './overhead.ts';

/** invitebus end to end on a Redis Cluster (prefix in braces: one slot). */
function clusterRate(nodes: string[], providerUrl: string): Promise<number> {
  return invitebusRateOn(
    parseConfig({
      redis: { cluster: { nodes }, prefix: `{bench${Date.now()}}` },
      log: { level: 'silent' },
      accounts: { acme: betterstack(providerUrl, { concurrency: 16 }) },
    }),
  );
}

export async function redisCeilingScenario(): Promise<Result[]> {
  const r = await redis();
  const provider = await startFakeServer(betterstackHandler());
  const dir = mkdtempSync(join(tmpdir(), 'ib-bench-cluster-'));
  try {
    const bare = await measured(r.url, () => bareBullmqRate(r.url, provider.url));
    const ours = await measured(r.url, () => invitebusRate(r.url, provider.url));
    const cluster = await startRedisCluster({ dir, primaries: 3, replicasPerPrimary: 0 });
    let onCluster = 0;
    try {
      onCluster = await clusterRate(
        cluster.startupNodes.map((n) => `${n.host}:${n.port}`),
        provider.url,
      );
    } finally {
      await cluster.destroy();
    }
    const name = `Redis ceiling (one slot: ${OVERHEAD_INVITES} invites, zero-latency provider)`;
    return [
      {
        scenario: name,
        metric: 'Redis CPU per invite (enqueue, deliver, events)',
        value: ours.redisUs,
        unit: 'µs',
        baseline: { name: 'bare BullMQ worker', value: bare.redisUs },
        ratio: ours.redisUs / bare.redisUs,
      },
      {
        scenario: name,
        metric: 'one-slot ceiling (1 s of one Redis thread / Redis CPU per invite)',
        value: 1e6 / ours.redisUs,
        unit: 'invites/s',
        baseline: { name: 'bare BullMQ worker', value: 1e6 / bare.redisUs },
        ratio: bare.redisUs / ours.redisUs,
        note: 'a Cluster adds no throughput to one invitebus prefix: every key shares the braced slot',
      },
      {
        scenario: name,
        metric: 'invites/s end to end on a 3-primary Cluster',
        value: onCluster,
        unit: '/s',
        baseline: { name: 'the same on one standalone Redis', value: ours.rate },
        ratio: onCluster / ours.rate,
      },
    ];
  } finally {
    await provider.close();
    await r.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
