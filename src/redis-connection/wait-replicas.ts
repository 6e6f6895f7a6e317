/**
 * Acknowledged means replicated (`redis.waitReplicas`): an enqueue, a POST or a replay reports success only once
 * Redis's `WAIT replicas timeoutMs` says that many replicas have its writes. Without it, Redis replicates
 * asynchronously, and a failover right after an acknowledgement can lose the last writes the replica had not
 * received.
 *
 * `WAIT` waits for the replication offset its own connection recorded last, so a `WAIT` on a connection that has
 * not spoken since the work was done does not cover that work: on a connection that last spoke before the writes, it
 * answers "1 replica" at once with the replica stopped (measured, Redis 7.0). Each confirmation therefore sends
 * a marker write and `WAIT` together, in one pipeline on one connection: replication is one ordered stream per
 * primary, so a confirmed marker confirms every write acknowledged before it, on any connection of this process,
 * even one that a reconnect replaced in between. In a Redis Cluster the marker's key is in invitebus's slot (the
 * braced prefix), so ioredis sends the whole pipeline, `WAIT` included, on its connection to the primary that owns
 * that slot, not to a random node.
 */

import { InvitebusError } from '../errors.ts';
import { invitebusKeys } from '../redis.ts';
import type { RedisClient } from './factory.ts';

/** What `redis.waitReplicas` asks: this many replicas, waited for at most `timeoutMs`. */
export interface WaitReplicas {
  replicas: number;
  timeoutMs: number;
}

/** The marker outlives any WAIT by far; it is overwritten by the next one, so at most one exists. */
const MARKER_TTL_MS = 60_000;

/**
 * How many replicas have every write this process made on the primary of invitebus's keys, waiting up to
 * `timeoutMs` for `replicas` of them (WAIT answers as soon as that many have them). Redis's own errors (READONLY
 * from a demoted primary, a lost connection) are thrown as they are.
 */
export async function replicasConfirming(client: RedisClient, prefix: string, wanted: WaitReplicas): Promise<number> {
  const replies = await client
    .pipeline()
    // First: a write, so the pipeline goes to the primary (a Cluster routes it by this key's slot).
    .set(invitebusKeys(prefix).replicationMarker, String(Date.now()), 'PX', MARKER_TTL_MS)
    .wait(wanted.replicas, wanted.timeoutMs)
    .exec();
  for (const [error] of replies ?? []) if (error) throw error;
  const acked = replies?.[1]?.[1];
  if (typeof acked !== 'number') throw new Error(`WAIT answered ${String(acked)}`);
  return acked;
}

/**
 * Returns once `wanted.replicas` replicas have this process's writes (at once when `wanted` is undefined: the
 * option is off). Otherwise throws NOT_REPLICATED: `done` (what is on the primary, e.g. "batch b1: 50 invites
 * queued on the Redis primary (…)"), that only k of n replicas confirmed them within T ms, that a failover now
 * could lose them, and `rerun` (that running the same operation again is safe).
 */
export async function requireReplicated(
  client: RedisClient,
  prefix: string,
  wanted: WaitReplicas | undefined,
  what: { done: string; rerun: string },
): Promise<void> {
  if (wanted === undefined) return;
  const n = wanted.replicas;
  const replicas = `${n} replica${n === 1 ? '' : 's'}`;
  const tail = `a failover now could lose them. ${what.rerun}; once it succeeds, they are on ${replicas}`;
  let acked: number;
  try {
    acked = await replicasConfirming(client, prefix, wanted);
  } catch (error) {
    const why = (error as { message?: unknown } | null)?.message;
    throw new InvitebusError(
      'NOT_REPLICATED',
      `${what.done}, but their replication to ${replicas} could not be confirmed (redis.waitReplicas${typeof why === 'string' ? `: ${why}` : ''}): ${tail}`,
      { cause: error, details: [`replicas confirmed: unknown of ${n}`] },
    );
  }
  if (acked >= n) return;
  throw new InvitebusError(
    'NOT_REPLICATED',
    `${what.done}, but only ${acked} of ${replicas} confirmed them within ${wanted.timeoutMs} ms (redis.waitReplicas): ${tail}`,
    { details: [`replicas confirmed: ${acked} of ${n} within ${wanted.timeoutMs} ms`] },
  );
}
