/**
 * A Redis Cluster on loopback: `redis-server --cluster-enabled yes` nodes joined by `redis-cli --cluster create`.
 * No vitest here, so `node bench/run.ts` can import it too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '../pipeline.ts';
import { freePorts, HOST, NodeProcess, parseInfo, type RedisNode, startAll, type Topology, topology } from './node.ts';

/** Options of a Cluster. */
export interface ClusterOptions {
  /** An empty folder the topology owns (tempDir() in a test, one of its own in the bench); destroy() removes it. */
  dir: string;
  /** Default 3 (the fewest a Cluster accepts). */
  primaries?: number;
  /** Default 1. */
  replicasPerPrimary?: number;
  /** `cluster-node-timeout` (default 2000): how long a silent primary takes to be judged failed. */
  nodeTimeoutMs?: number;
  /** `requirepass` and `masterauth` on every node. */
  password?: string;
}

/** A Cluster whose nodes announce themselves as 127.0.0.1 (so an ioredis Cluster client needs no natMap). */
export interface RedisCluster extends Topology {
  /** For `new Cluster(startupNodes)`. */
  readonly startupNodes: { host: string; port: number }[];
  /** The slot of a key (`CLUSTER KEYSLOT`): with a braced prefix, `{ib}:anything` is one slot. */
  slotOf(key: string): Promise<number>;
  /** The primary that serves `slot`, as a live node sees it. */
  ownerOf(slot: number): Promise<RedisNode>;
  /** Kills (default SIGKILL) the primary that serves the slot of `key`; resolves with that node and the slot. */
  killOwnerOf(key: string, signal?: NodeJS.Signals): Promise<{ node: RedisNode; slot: number }>;
  /** Resolves with the new owner once a live node other than `from` (default: the owner now) serves `slot`. */
  waitForFailover(slot: number, options?: { from?: RedisNode; timeoutMs?: number }): Promise<RedisNode>;
}

export async function startRedisCluster(options: ClusterOptions): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const perPrimary = options.replicasPerPrimary ?? 1;
  const count = primaries * (1 + perPrimary);
  const ports = await freePorts(2 * count);
  const nodes: NodeProcess[] = [];
  for (let i = 1; i <= count; i += 1) {
    const port = ports[2 * i - 2]!;
    // An explicit bus port: the default, port + 10000, may be taken or out of range.
    const busPort = ports[2 * i - 1]!;
    const conf = [
      `port ${port}`,
      `bind ${HOST}`,
      'cluster-enabled yes',
      'cluster-config-file nodes.conf',
      `cluster-port ${busPort}`,
      `cluster-node-timeout ${options.nodeTimeoutMs ?? 2_000}`,
      'appendonly no',
      'maxmemory-policy noeviction',
      'repl-diskless-sync-delay 0',
      ...(options.password ? [`requirepass ${options.password}`, `masterauth ${options.password}`] : []),
    ];
    nodes.push(new NodeProcess({ name: `node-${i}`, port, dir: options.dir, conf, client: options.password ? { password: options.password } : {} }));
  }
  const t = topology(options.dir, nodes);
  await startAll(options.dir, nodes);
  try {
    await promisify(execFile)(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `${HOST}:${n.port}`), '--cluster-replicas', String(perPrimary), '--cluster-yes'],
      // The password by environment, not on a command line `ps` shows.
      { env: { ...process.env, ...(options.password ? { REDISCLI_AUTH: options.password } : {}) }, timeout: 30_000 },
    ).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
    });
    await waitFor(
      async () => {
        for (const n of nodes) {
          const info = parseInfo(String(await n.call('CLUSTER', 'INFO')));
          if (info.cluster_state !== 'ok' || info.cluster_known_nodes !== String(nodes.length)) return false;
          const repl = await n.info('replication');
          if (repl.role === 'slave' && repl.master_link_status !== 'up') return false;
        }
        return true;
      },
      20_000,
      'every node to say cluster_state:ok with its replicas in sync',
    );
  } catch (e) {
    await t.destroy();
    throw e;
  }

  const live = () => {
    const n = nodes.find((x) => x.alive);
    if (n === undefined) throw new Error('no cluster node is running');
    return n;
  };
  const ownerOf = async (slot: number, asking: NodeProcess = live()) => {
    const ranges = (await asking.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
    const range = ranges.find(([lo, hi]) => slot >= lo && slot <= hi);
    const node = nodes.find((n) => n.port === Number(range?.[2][1]));
    if (node === undefined) throw new Error(`no node serves slot ${slot}`);
    return node;
  };
  const slotOf = async (key: string) => Number(await live().call('CLUSTER', 'KEYSLOT', key));
  return {
    ...t,
    startupNodes: nodes.map((n) => ({ host: n.host, port: n.port })),
    slotOf,
    ownerOf: (slot) => ownerOf(slot),
    async killOwnerOf(key, signal = 'SIGKILL') {
      const slot = await slotOf(key);
      const node = await ownerOf(slot);
      await node.kill(signal);
      return { node, slot };
    },
    async waitForFailover(slot, o = {}) {
      const from = o.from ?? (await ownerOf(slot));
      return waitFor(
        async () => {
          // Ask every live node: the failover is done when the one that took the slot says so and is ok.
          for (const n of nodes.filter((x) => x.alive && x !== from)) {
            const owner = await ownerOf(slot, n).catch(() => undefined);
            if (owner === undefined || owner === from || owner !== n) continue;
            const info = parseInfo(String(await n.call('CLUSTER', 'INFO').catch(() => '')));
            if (info.cluster_state === 'ok') return n;
          }
          return undefined;
        },
        o.timeoutMs ?? 30_000,
        `slot ${slot} to move off port ${from.port}`,
      );
    },
  };
}
