/**
 * Issue 22, acknowledged means replicated: with `redis.waitReplicas`, an enqueue (library, CLI, API) and a replay
 * report success only once a replica has their writes (`WAIT`); with the replica stalled (SIGSTOP) they fail with
 * NOT_REPLICATED after about `timeoutMs`, saying the invites are queued and a rerun is safe, and the rerun after
 * the replica resumes succeeds with the batch exact. In a Cluster, the WAIT goes to the primary of invitebus's slot.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/app.ts';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { InvitebusError } from '../../src/errors.ts';
import { createMetrics } from '../../src/metrics.ts';
import { Producer } from '../../src/producer.ts';
import { replicasConfirming } from '../../src/redis-connection/wait-replicas.ts';
import { replayFailed } from '../../src/replay.ts';
import { figure } from '../faults/harness.ts';
import { useCli } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { writeConfigIn } from '../support/processes.ts';
import { type RedisNode, type ReplicaPair, startRedisCluster, startReplicaPair } from '../support/redis-topologies.ts';
import { tempDir } from '../support/temp-dir.ts';

const TIMEOUT_MS = 1_000;
const account = { provider: 'betterstack', credentials: { token: { env: 'BS_TOKEN' } } };
const people = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.com` }));

let pair: ReplicaPair;
let producer: Producer;
const raw = (input: Record<string, unknown>) => ({
  redis: { url: pair.primary.url, prefix: 'wr', waitReplicas: { replicas: 1, timeoutMs: TIMEOUT_MS } },
  accounts: { acme: account },
  ...input,
});

beforeAll(async () => {
  pair = await startReplicaPair({ dir: tempDir('ib-wait-replicas-') });
  producer = new Producer(parseConfig(raw({})));
});
afterAll(async () => {
  await producer?.close();
  await pair?.destroy();
});

/** Runs `fn` with the replica paused (its link stays open, it acknowledges nothing), and resumes it after. */
async function withReplicaStalled<T>(fn: () => Promise<T>): Promise<T> {
  await pair.kill(pair.replica, 'SIGSTOP');
  try {
    return await fn();
  } finally {
    await pair.kill(pair.replica, 'SIGCONT');
  }
}

/** The error `promise` rejects with, and how long it took. */
async function failure(promise: Promise<unknown>): Promise<{ error: InvitebusError; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvitebusError);
  return { error: error as InvitebusError, ms: Date.now() - started };
}

describe('redis.waitReplicas', () => {
  it('an enqueue succeeds once the replica has its writes: the batch is on the replica when it returns', async () => {
    const result = await producer.inviteMany('acme', people(50, 'healthy'), { batchId: 'healthy' });
    expect(result.accepted).toBe(50);
    const onReplica = new Redis(pair.replica.url);
    try {
      expect(await onReplica.hget('wr:_invitebus:batch:healthy', 'total')).toBe('50');
    } finally {
      onReplica.disconnect();
    }
  });

  it('with the replica stalled, an enqueue fails with NOT_REPLICATED after about timeoutMs; the rerun succeeds, the batch exact', async () => {
    const { error, ms } = await withReplicaStalled(() => failure(producer.inviteMany('acme', people(80, 'stalled'), { batchId: 'stalled' })));
    expect(error.code).toBe('NOT_REPLICATED');
    expect(error.message).toBe(
      'batch stalled: 80 invites queued on the Redis primary (80 new), but only 0 of 1 replica confirmed them within 1000 ms (redis.waitReplicas): ' +
        'a failover now could lose them. Running the same enqueue again is safe (nothing is counted or sent twice); once it succeeds, they are on 1 replica',
    );
    figure('not replicated', { timeoutMs: TIMEOUT_MS, failedAfterMs: ms });
    expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ms).toBeLessThan(TIMEOUT_MS + 1_500);
    // On the primary all along.
    expect(await batchStatus(producer.redis, 'wr', 'stalled')).toMatchObject({ total: 80, sealed: true });

    const rerun = await producer.inviteMany('acme', people(80, 'stalled'), { batchId: 'stalled' });
    expect(rerun).toMatchObject({ accepted: 0, alreadyInBatch: 80, duplicates: 0 });
    expect(await batchStatus(producer.redis, 'wr', 'stalled')).toMatchObject({ total: 80, duplicates: 0, sealed: true });
  });

  it('a single invite and a replay are confirmed the same way', async () => {
    const invite = await withReplicaStalled(() => failure(producer.invite('acme', { email: 'one@example.com' })));
    expect(invite.error.code).toBe('NOT_REPLICATED');
    expect(invite.error.message).toMatch(/^invite \S+ is queued on the Redis primary, but only 0 of 1 replica confirmed/);
    const replay = await withReplicaStalled(() => failure(replayFailed(producer, { accounts: ['acme'] })));
    expect(replay.error.code).toBe('NOT_REPLICATED');
    expect(replay.error.message).toMatch(
      /^the replay moved 0 failed invites back to waiting on the Redis primary, but only 0 of 1 replica .* Running the same replay again is safe/,
    );
    await expect(replayFailed(producer, { accounts: ['acme'] })).resolves.toMatchObject({ replayed: 0 });
  });

  it('a confirmation covers writes made on another connection (as after a reconnect): it does not answer at once', async () => {
    // A plain WAIT on this connection answers 1 at once (measured): it last spoke before the writes the replica lacks.
    const fresh = new Redis(pair.primary.url);
    try {
      await fresh.ping();
      // The replica has acknowledged everything so far.
      await waitFor(async () => {
        const info = await producer.redis.info('replication');
        return /slave0:.*offset=(\d+)/.exec(info)?.[1] === /master_repl_offset:(\d+)/.exec(info)?.[1];
      }, 5_000);
      const acked = await withReplicaStalled(async () => {
        await producer.redis.set('wr:elsewhere', '1');
        return replicasConfirming(fresh, 'wr', { replicas: 1, timeoutMs: 300 });
      });
      expect(acked).toBe(0);
      expect(await replicasConfirming(fresh, 'wr', { replicas: 1, timeoutMs: 5_000 })).toBe(1);
    } finally {
      fresh.disconnect();
    }
  });

  it('the CLI exits 3 with one line saying so, and its rerun exits 0', async () => {
    const dir = tempDir('ib-wait-replicas-');
    const config = writeConfigIn(dir, raw({}));
    const file = join(dir, 'people.csv');
    writeFileSync(
      file,
      `email\n${people(30, 'cli')
        .map((p) => p.email)
        .join('\n')}\n`,
    );
    const cli = useCli({ BS_TOKEN: 'x' });
    const args = ['enqueue', '--config', config, '--account', 'acme', '--file', file, '--batch', 'cli'];
    const stalled = await withReplicaStalled(() => cli.run(args));
    expect(stalled.code).toBe(3);
    expect(stalled.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^batch cli: 30 invites queued on the Redis primary \(30 new\), but only 0 of 1 replica .* Running the same enqueue again is safe/),
    ]);
    const again = await cli.run(args);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('batch cli: 30 rows, accepted 0, already in this batch 30, duplicates 0, rejected 0');
  });

  it('the API answers 503 not_replicated, and 202 to the same request once the replica is back', async () => {
    const app = await buildApi({ producer, token: 'wait-replicas-token-0123', registry: createMetrics().registry, logger: pino({ level: 'silent' }) });
    try {
      const post = () =>
        app.inject({
          method: 'POST',
          url: '/v1/invites',
          headers: { authorization: 'Bearer wait-replicas-token-0123' },
          payload: { account: 'acme', batchId: 'api', invites: people(5, 'api') },
        });
      const stalled = await withReplicaStalled(post);
      expect(stalled.statusCode).toBe(503);
      expect(stalled.json()).toEqual({
        error: 'not_replicated',
        message: expect.stringMatching(/^batch api: 5 invites queued on the Redis primary .* a failover now could lose them/),
      });
      const again = await post();
      expect(again.statusCode).toBe(202);
      expect(again.json()).toMatchObject({ accepted: 0, alreadyInBatch: 5 });
    } finally {
      await app.close();
    }
  });
});

describe('in a Redis Cluster', () => {
  it("waits on the primary that owns invitebus's slot, not on a random node: its replica stalled, the enqueue is not confirmed", async () => {
    const cluster = await startRedisCluster({ dir: tempDir('ib-wait-replicas-cluster-') });
    const direct = cluster.nodes.map((n) => new Redis(n.url));
    const clustered = new Producer(
      parseConfig(raw({ redis: { cluster: { nodes: cluster.startupNodes }, prefix: '{ib}', waitReplicas: { replicas: 1, timeoutMs: 2_000 } } })),
    );
    try {
      const owner = await cluster.ownerOf(await cluster.slotOf('{ib}'));
      const waits = async () => Promise.all(direct.map(async (d) => Number(/cmdstat_wait:calls=(\d+)/.exec(await d.info('commandstats'))?.[1] ?? 0)));
      const before = await waits();
      await expect(clustered.inviteMany('acme', people(20, 'cluster'), { batchId: 'cluster' })).resolves.toMatchObject({ accepted: 20 });
      const after = await waits();
      expect(after.map((n, i) => n - (before[i] ?? 0))).toEqual(cluster.nodes.map((n) => (n === owner ? 1 : 0)));
      // The owner's replica stalled (every other primary's replica is fine): only a WAIT on the owner can see it.
      const ownerInfo = await (direct[cluster.nodes.indexOf(owner)] as Redis).info('replication');
      const replicaPort = Number(/slave0:.*port=(\d+)/.exec(ownerInfo)?.[1]);
      const replica = cluster.nodes.find((n) => n.port === replicaPort) as RedisNode;
      await cluster.kill(replica, 'SIGSTOP');
      try {
        const { error } = await failure(clustered.inviteMany('acme', people(20, 'cluster2'), { batchId: 'cluster2' }));
        expect(error.code).toBe('NOT_REPLICATED');
      } finally {
        await cluster.kill(replica, 'SIGCONT');
      }
    } finally {
      await clustered.close();
      for (const d of direct) d.disconnect();
      await cluster.destroy();
    }
  });
});
