/**
 * Real Redis topologies on loopback ports, made of the machine's `redis-server` processes: a primary with a
 * replica, a Sentinel group, a Cluster, a TLS server with an ACL user. Each hands back its nodes (ports, urls,
 * pids), `kill(node, signal)`, `restart(node)` and `destroy()`, and owns the folder the caller gives it
 * (`tempDir()` in a test). No vitest here, so `node bench/run.ts` can import it too.
 */
export { type ClusterOptions, type RedisCluster, startRedisCluster } from './topologies/cluster.ts';
export type { RedisNode, Topology } from './topologies/node.ts';
export {
  type ReplicaPair,
  type ReplicationOptions,
  type SentinelGroup,
  type SentinelOptions,
  startReplicaPair,
  startSentinelGroup,
} from './topologies/replication.ts';
export { startTlsRedis, type TlsRedis, type TlsRedisOptions } from './topologies/tls.ts';
