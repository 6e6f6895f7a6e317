/**
 * Each endpoint reads the event stream through a consumer group of its own, so its pending entries are exactly
 * its unsettled events: an event is acknowledged for an endpoint once that endpoint's delivery is delivered,
 * queued or refused, and one Redis would not let us record stays pending for that endpoint alone (claimed and
 * routed again to it, never to the endpoints that have it). XREADGROUP, XACK and XCLAIM need no memory, so this
 * bookkeeping holds even while Redis refuses writes for lack of memory (OOM under `noeviction`).
 */
import type { RedisClient } from '../redis-connection/factory.ts';

/** The consumer group of one endpoint on the event stream. */
export const webhookGroup = (name: string) => `webhook:${name}`;

/** The consumer holding events whose delivery could not be started (Redis refused the job): counted by `webhooks list`, claimed after the claim time. */
export const NOT_STARTED = 'not-started';

/** The one group every endpoint shared before groups were per endpoint: new groups start where it stood, then it goes. */
const SHARED_GROUP = 'webhooks';

/** The largest sequence number of a stream id. */
const MAX_SEQ = 18446744073709551615n;

/** The stream id just before `id`, so a group created there reads `id` first. */
export function idBefore(id: string): string {
  const [ms = 0n, seq = 0n] = id.split('-').map((part) => BigInt(part));
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-${MAX_SEQ}` : '0-0';
}

/** Field → value of one XINFO reply (a flat list). */
function infoFields(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

/** The stream's consumer groups (none while the stream does not exist): name → pending count and last read id. */
export async function streamGroups(redis: RedisClient, stream: string): Promise<Map<string, { pending: number; lastDeliveredId: string }>> {
  const reply = (await redis.xinfo('GROUPS', stream).catch((err: Error) => {
    if (/no such key/i.test(err.message)) return [];
    throw err;
  })) as unknown[][];
  return new Map(
    reply.map((flat) => {
      const g = infoFields(flat);
      return [String(g.name), { pending: Number(g.pending ?? 0), lastDeliveredId: String(g['last-delivered-id'] ?? '0-0') }];
    }),
  );
}

/**
 * Creates the endpoints' groups that do not exist yet: at the end of the stream (a new endpoint gets events from
 * now on), or, on the first start after the shared group, at its oldest unacknowledged event (else where it had
 * read to), so an upgrade loses nothing; then the shared group is removed.
 */
export async function ensureWebhookGroups(redis: RedisClient, stream: string, names: readonly string[]): Promise<void> {
  const groups = await streamGroups(redis, stream);
  const shared = groups.get(SHARED_GROUP);
  let start = '$';
  if (shared !== undefined) {
    const summary = shared.pending > 0 ? ((await redis.xpending(stream, SHARED_GROUP)) as [number, string | null]) : undefined;
    start = summary?.[1] ? idBefore(summary[1]) : shared.lastDeliveredId;
  }
  for (const name of names) {
    if (groups.has(webhookGroup(name))) continue;
    await redis.xgroup('CREATE', stream, webhookGroup(name), start, 'MKSTREAM').catch((err: Error) => {
      if (!/BUSYGROUP/.test(err.message)) throw err;
    });
  }
  if (shared !== undefined) await redis.xgroup('DESTROY', stream, SHARED_GROUP);
}

/** An endpoint's unsettled events: read and not yet delivered or queued, and of those, the ones that could not be started. */
export async function unsettledEvents(redis: RedisClient, stream: string, name: string, pending: number): Promise<{ pending: number; notStarted: number }> {
  if (pending === 0) return { pending, notStarted: 0 };
  const consumers = (await redis.xinfo('CONSUMERS', stream, webhookGroup(name))) as unknown[][];
  const held = consumers.map(infoFields).find((c) => c.name === NOT_STARTED);
  return { pending, notStarted: Number(held?.pending ?? 0) };
}
