/**
 * The Redis topologies of test/support/redis-topologies.ts, each started for real and spoken to with plain
 * ioredis (and BullMQ) clients: what the failover tests of issue 22 stand on, and what ioredis and BullMQ do on
 * them before invitebus adds anything.
 */
import { Queue, Worker } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { startRedisCluster, startReplicaPair, startSentinelGroup, startTlsRedis } from '../support/redis-topologies.ts';
import { tempDir } from '../support/temp-dir.ts';
import { figure } from './harness.ts';

const cleanups = useCleanups();
const DATA_PASSWORD = 'data-node-secret';
const SENTINEL_PASSWORD = 'sentinel-secret';

/** A client that is disconnected when the test ends (errors while a node is down are expected, not printed). */
function track<T extends Redis | Cluster>(client: T): T {
  client.on('error', () => undefined);
  cleanups.push(() => client.disconnect());
  return client;
}

/** Milliseconds from `since` until `write` first succeeds (retried while it fails), at most 30 s. */
async function firstSuccess(since: number, write: () => Promise<unknown>): Promise<number> {
  await waitFor(
    () =>
      write().then(
        () => true,
        () => false,
      ),
    30_000,
    'a write to succeed again',
  );
  return Math.round(performance.now() - since);
}

describe('Redis topologies on loopback', () => {
  it('a primary and its replica: the replica holds the primary’s writes and takes writes once promoted', async () => {
    const pair = await startReplicaPair({ dir: tempDir('ib-pair-'), password: DATA_PASSWORD });
    cleanups.push(() => pair.destroy());
    const primary = track(new Redis(pair.primary.url, { password: DATA_PASSWORD }));
    const replica = track(new Redis(pair.replica.url, { password: DATA_PASSWORD }));
    await primary.set('{ib}:k', 'v');
    expect(await primary.wait(1, 2_000)).toBe(1);
    await expect(replica.set('{ib}:k', 'w')).rejects.toThrow(/READONLY/);
    await pair.promote();
    await replica.set('{ib}:k', 'w');
    expect(await replica.get('{ib}:k')).toBe('w');
    expect(pair.primary.pid).toBeGreaterThan(0);
  });

  it('Sentinel: a client with the data and Sentinel passwords writes again after its primary is SIGKILLed', async () => {
    const t0 = performance.now();
    const group = await startSentinelGroup({ dir: tempDir('ib-sentinel-'), password: DATA_PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
    cleanups.push(() => group.destroy());
    const startupMs = Math.round(performance.now() - t0);
    const client = track(new Redis({ sentinels: group.sentinelAddresses, name: group.name, sentinelPassword: SENTINEL_PASSWORD, password: DATA_PASSWORD }));
    await client.set('{ib}:before', 'kept');
    expect(await client.wait(1, 2_000)).toBe(1);

    const old = group.primary;
    const killedAt = performance.now();
    await group.kill(old);
    const written = firstSuccess(killedAt, () => client.set('{ib}:after', 'written'));
    const promoted = await group.waitForFailover();
    const failoverMs = Math.round(performance.now() - killedAt);
    const firstWriteMs = await written;

    expect(promoted.port).not.toBe(old.port);
    expect(group.primary).toBe(promoted);
    // The client wrote to the promoted replica, which also kept the write acknowledged by WAIT before the kill.
    const direct = track(new Redis(promoted.url, { password: DATA_PASSWORD }));
    expect(await direct.mget('{ib}:before', '{ib}:after')).toEqual(['kept', 'written']);
    figure('topologies sentinel', { startup_ms: startupMs, kill_to_switch_ms: failoverMs, kill_to_first_write_ms: firstWriteMs });
  });

  it('Cluster: a braced prefix is one slot; a Cluster client and a BullMQ worker on it go on after the slot’s owner is SIGKILLed', async () => {
    const t0 = performance.now();
    const cluster = await startRedisCluster({ dir: tempDir('ib-cluster-'), primaries: 3, replicasPerPrimary: 1 });
    cleanups.push(() => cluster.destroy());
    const startupMs = Math.round(performance.now() - t0);
    const client = track(new Cluster(cluster.startupNodes));

    const keys = Array.from({ length: 20 }, (_, i) => `{ib}:key-${i}`);
    const slot = await cluster.slotOf(keys[0]!);
    expect(new Set(await Promise.all(keys.map((k) => cluster.slotOf(k))))).toEqual(new Set([slot]));
    await client.mset(Object.fromEntries(keys.map((k) => [k, k])));
    const owner = await cluster.ownerOf(slot);
    // WAIT counts the writes of the connection it is sent on: the Cluster client's own link to the owner.
    const ownerLink = client.nodes('master').find((n) => n.options.port === owner.port)!;
    expect(await ownerLink.wait(1, 2_000)).toBe(1);
    // A plain client on any other node is only told where the slot lives.
    const elsewhere = cluster.nodes.find((n) => n !== owner)!;
    const plain = track(new Redis(elsewhere.url, { maxRetriesPerRequest: 0 }));
    await expect(plain.get(keys[0]!)).rejects.toThrow(/MOVED/);

    // BullMQ refuses a Cluster for a Worker when its redisOptions set maxRetriesPerRequest; leaving it unset
    // (or null) is accepted.
    const strict = track(new Cluster(cluster.startupNodes, { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 20 } }));
    expect(() => new Worker('topo', async () => undefined, { connection: strict, prefix: '{ib}', autorun: false })).toThrow(
      /maxRetriesPerRequest must be null/,
    );

    const queue = new Queue('topo', { connection: client, prefix: '{ib}' });
    cleanups.push(() => queue.close());
    const workerClient = track(new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: null } }));
    const done: string[] = [];
    let workerErrors = 0;
    const worker = new Worker(
      'topo',
      async (job) => {
        done.push(job.id!);
        return (job.data as { n: number }).n * 2;
      },
      { connection: workerClient, prefix: '{ib}' },
    );
    worker.on('error', () => {
      workerErrors += 1;
    });
    cleanups.push(() => worker.close(true));
    const before = await queue.addBulk(Array.from({ length: 5 }, (_, n) => ({ name: 'j', data: { n } })));
    await waitFor(() => done.length === 5, 10_000, 'five jobs on the Cluster');
    expect((await queue.getJob(before[4]!.id!))?.returnvalue).toBe(8);
    expect(await cluster.slotOf('{ib}:topo:wait')).toBe(slot);

    const killedAt = performance.now();
    const { node } = await cluster.killOwnerOf(keys[0]!);
    expect(node).toBe(owner);
    const written = firstSuccess(killedAt, () => client.set('{ib}:after', 'written'));
    const added = firstSuccess(killedAt, () => queue.add('after', { n: 100 }));
    const promoted = await cluster.waitForFailover(slot, { from: owner });
    const failoverMs = Math.round(performance.now() - killedAt);
    const firstWriteMs = await written;
    const firstAddMs = await added;
    await waitFor(() => done.length === 6, 30_000, 'a job added after the kill to be processed');
    const firstJobMs = Math.round(performance.now() - killedAt);

    expect(promoted).not.toBe(owner);
    expect(await client.mget(...keys)).toEqual(keys);
    figure('topologies cluster', {
      startup_ms: startupMs,
      kill_to_slot_moved_ms: failoverMs,
      kill_to_first_write_ms: firstWriteMs,
      kill_to_first_add_ms: firstAddMs,
      kill_to_first_job_done_ms: firstJobMs,
      worker_errors: workerErrors,
    });
  });

  it('TLS with an ACL user: rediss:// with the CA and the user’s password connects; no password, or no CA, does not', async () => {
    const t0 = performance.now();
    const tls = await startTlsRedis({ dir: tempDir('ib-tls-'), aclUser: 'invitebus', password: DATA_PASSWORD });
    cleanups.push(() => tls.destroy());
    const startupMs = Math.round(performance.now() - t0);
    const url = new URL(tls.url);
    url.username = 'invitebus';
    url.password = DATA_PASSWORD;
    // The server certificate names IP:127.0.0.1, so no servername is needed.
    const client = track(new Redis(url.href, { tls: { ca: tls.certs.ca } }));
    expect(await client.call('ACL', 'WHOAMI')).toBe('invitebus');
    const withCert = track(new Redis(url.href, { tls: { ca: tls.certs.ca, cert: tls.certs.clientCert, key: tls.certs.clientKey } }));
    expect(await withCert.ping()).toBe('PONG');

    const once = { retryStrategy: () => null, maxRetriesPerRequest: 0 } as const;
    const anonymous = track(new Redis(tls.url, { ...once, tls: { ca: tls.certs.ca } }));
    await expect(anonymous.ping()).rejects.toThrow(/NOAUTH/);
    const untrusting = track(new Redis(url.href, { ...once, tls: {} }));
    const refused = await new Promise<Error>((resolve) => untrusting.once('error', resolve));
    expect(refused.message).toMatch(/certificate/);
    figure('topologies tls', { startup_ms: startupMs });
  });
});
