/**
 * A primary with a replica (the managed endpoint's two halves), and the same pair watched by Sentinels.
 * No vitest here, so `node bench/run.ts` can import it too.
 */
import { waitFor } from '../pipeline.ts';
import { freePorts, HOST, NodeProcess, type RedisNode, startAll, type Topology, topology } from './node.ts';

/** Options shared by the replication topologies. */
export interface ReplicationOptions {
  /** An empty folder the topology owns (tempDir() in a test, one of its own in the bench); destroy() removes it. */
  dir: string;
  /** `requirepass` (and `masterauth`) on the data nodes. */
  password?: string;
  /** AOF on the data nodes (default off). */
  appendonly?: boolean;
}

function dataNode(name: string, port: number, o: ReplicationOptions, primaryPort?: number): NodeProcess {
  const conf = [
    `port ${port}`,
    `bind ${HOST}`,
    `appendonly ${o.appendonly ? 'yes' : 'no'}`,
    'maxmemory-policy noeviction',
    // The default waits 5 s for more replicas before a full sync.
    'repl-diskless-sync-delay 0',
    ...(o.password ? [`requirepass ${o.password}`, `masterauth ${o.password}`] : []),
    ...(primaryPort === undefined ? [] : [`replicaof ${HOST} ${primaryPort}`]),
  ];
  return new NodeProcess({ name, port, dir: o.dir, conf, client: o.password ? { password: o.password } : {} });
}

async function replicaInSync(replica: NodeProcess): Promise<boolean> {
  const r = await replica.info('replication').catch(() => undefined);
  return r?.role === 'slave' && r.master_link_status === 'up';
}

/** A primary and a replica (`replicaof`): the two halves of a managed endpoint a TCP proxy stands in front of. */
export interface ReplicaPair extends Topology {
  readonly primary: RedisNode;
  readonly replica: RedisNode;
  /**
   * `REPLICAOF NO ONE` on the replica once it has everything the primary acknowledged (while the primary lives): it
   * takes writes from now on (the endpoint's failover, as a managed service does it without losing a write; cut the
   * clients first, or their writes to the old primary meanwhile are lost).
   */
  promote(): Promise<void>;
}

export async function startReplicaPair(options: ReplicationOptions): Promise<ReplicaPair> {
  const [p, r] = await freePorts(2);
  const primary = dataNode('primary', p!, options);
  const replica = dataNode('replica', r!, options, primary.port);
  const t = topology(options.dir, [primary, replica]);
  await startAll(options.dir, [primary, replica]);
  await waitFor(() => replicaInSync(replica), 15_000, 'the replica to sync').catch(async (e) => {
    await t.destroy();
    throw e;
  });
  return {
    ...t,
    primary,
    replica,
    async promote() {
      if (primary.alive) {
        const acknowledged = Number((await primary.info('replication')).master_repl_offset);
        await waitFor(async () => Number((await replica.info('replication')).slave_repl_offset) >= acknowledged, 5_000, 'the replica to catch up');
      }
      await replica.call('REPLICAOF', 'NO', 'ONE');
      await waitFor(async () => (await replica.info('replication')).role === 'master', 5_000, 'the replica to become a primary');
    },
  };
}

/** Options of a Sentinel group. */
export interface SentinelOptions extends ReplicationOptions {
  /** How many Sentinels (default 3); the quorum is a majority of them. */
  sentinels?: number;
  /** How many replicas (default 1). */
  replicas?: number;
  /** The master name the Sentinels monitor (default `ib-main`). */
  name?: string;
  /** `requirepass` on the Sentinels themselves (ioredis `sentinelPassword`). */
  sentinelPassword?: string;
  /** `down-after-milliseconds` (default 1000): how long a silent primary takes to be judged down. */
  downAfterMs?: number;
  /** `failover-timeout` (default 5000); a failed attempt is retried after twice this. */
  failoverTimeoutMs?: number;
}

/** A primary, its replicas and the Sentinels that watch them; addresses are announced as 127.0.0.1. */
export interface SentinelGroup extends Topology {
  /** The master name (ioredis `name`). */
  readonly name: string;
  /** The primary as last known: the first one, then whatever `waitForFailover()` found. */
  readonly primary: RedisNode;
  readonly dataNodes: readonly RedisNode[];
  readonly sentinels: readonly RedisNode[];
  /** For ioredis `sentinels`. */
  readonly sentinelAddresses: { host: string; port: number }[];
  /** Asks a live Sentinel (`SENTINEL get-master-addr-by-name`). */
  primaryAddress(): Promise<{ host: string; port: number }>;
  /**
   * Resolves once the Sentinels name a primary other than `from` (default: `primary`) and that node says it is
   * one; `primary` then points at it.
   */
  waitForFailover(options?: { from?: RedisNode; timeoutMs?: number }): Promise<RedisNode>;
}

export async function startSentinelGroup(options: SentinelOptions): Promise<SentinelGroup> {
  const name = options.name ?? 'ib-main';
  const count = options.sentinels ?? 3;
  const replicaCount = options.replicas ?? 1;
  const ports = await freePorts(1 + replicaCount + count);
  const first = dataNode('primary', ports[0]!, options);
  const replicas: NodeProcess[] = [];
  for (let i = 1; i <= replicaCount; i += 1) replicas.push(dataNode(`replica-${i}`, ports[i]!, options, first.port));
  const quorum = Math.floor(count / 2) + 1;
  const sp = options.sentinelPassword;
  const sentinels: NodeProcess[] = [];
  for (let i = 1; i <= count; i += 1) {
    const port = ports[replicaCount + i]!;
    const conf = [
      `port ${port}`,
      `bind ${HOST}`,
      `sentinel monitor ${name} ${HOST} ${first.port} ${quorum}`,
      `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
      `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 5_000}`,
      `sentinel parallel-syncs ${name} 1`,
      ...(options.password ? [`sentinel auth-pass ${name} ${options.password}`] : []),
      // Sentinels ask each other for votes with their own requirepass (no sentinel-pass needed when all share it).
      ...(sp ? [`requirepass ${sp}`] : []),
    ];
    sentinels.push(new NodeProcess({ name: `sentinel-${i}`, port, dir: options.dir, conf, sentinel: true, client: sp ? { password: sp } : {} }));
  }
  const dataNodes = [first, ...replicas];
  const all = [...dataNodes, ...sentinels];
  const t = topology(options.dir, all);
  await startAll(options.dir, dataNodes);
  try {
    await waitFor(async () => (await Promise.all(replicas.map(replicaInSync))).every(Boolean), 15_000, 'the replicas to sync');
    await Promise.all(sentinels.map((s) => s.start()));
    // Ready once every Sentinel knows every replica and every other Sentinel, and can authorise a failover.
    await waitFor(
      async () => {
        for (const s of sentinels) {
          const m = fields((await s.call('SENTINEL', 'MASTER', name)) as string[]);
          if (m['num-slaves'] !== String(replicas.length) || m['num-other-sentinels'] !== String(count - 1)) return false;
          const known = ((await s.call('SENTINEL', 'REPLICAS', name)) as string[][]).map(fields);
          if (known.some((r) => r.flags !== 'slave' || r['master-link-status'] !== 'ok')) return false;
          if (!String(await s.call('SENTINEL', 'CKQUORUM', name)).startsWith('OK')) return false;
        }
        return true;
      },
      20_000,
      'the Sentinels to know each other and the replicas',
    );
  } catch (e) {
    await t.destroy();
    throw e;
  }

  let primary: NodeProcess = first;
  const primaryAddress = async () => {
    for (const s of sentinels) {
      if (!s.alive) continue;
      const reply = (await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name).catch(() => undefined)) as string[] | undefined;
      if (reply?.[0] !== undefined) return { host: reply[0], port: Number(reply[1]) };
    }
    throw new Error('no Sentinel answered');
  };
  return {
    ...t,
    name,
    get primary() {
      return primary;
    },
    dataNodes,
    sentinels,
    sentinelAddresses: sentinels.map((s) => ({ host: s.host, port: s.port })),
    primaryAddress,
    async waitForFailover(o = {}) {
      const from = o.from ?? primary;
      primary = await waitFor(
        async () => {
          const at = await primaryAddress().catch(() => undefined);
          const node = dataNodes.find((n) => n.port === at?.port && n.port !== from.port);
          if (node === undefined) return undefined;
          return (await node.info('replication').catch(() => undefined))?.role === 'master' ? node : undefined;
        },
        o.timeoutMs ?? 30_000,
        `the Sentinels to fail ${name} over from port ${from.port}`,
      );
      return primary;
    },
  };
}

/** A Sentinel reply's flat [key, value, ...] list as a map. */
function fields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
