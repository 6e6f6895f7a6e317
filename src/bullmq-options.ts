/**
 * Options every BullMQ `Queue` invitebus creates carries, whatever the queue (account, webhook endpoint, control).
 *
 * BullMQ appends every job state change to the queue's own event stream (`<prefix>:<queue>:events`) and trims it
 * to `opts.maxLenEvents` of the queue's meta hash: every script that writes the stream reads the cap from there
 * (a `Worker` has no such option), and every `Queue` writes it there when it starts, BullMQ's 10,000 unless told
 * otherwise. So one `Queue` without these options (a stats read, a producer) would put the cap back to 10,000 for
 * every writer of that queue: all of them take it from here (test/architecture/bullmq-options.test.ts).
 *
 * Invitebus keeps its own record of every invite (sent records, failed jobs, its stream `_invitebus:events`); it
 * reads BullMQ's streams only live, through a `QueueEvents` waiting for a job it has just added (`webhooks test`),
 * and bull-board does not read them. At 10,000 entries a stream holds ~1.4 MB, in every account queue that ever
 * finished ~2,000 invites, for good: ~2.8 GB for 2,000 accounts (docs/redis-in-production.md).
 */

/** Default approximate length of each BullMQ queue's event stream (`events.queueMaxLen`). */
export const BULLMQ_EVENTS_MAX_LEN = 100;

/** What every BullMQ `Queue` of a deployment is given besides its connection: the key prefix and the stream cap. */
export function queueOptions(config: { readonly redis: { readonly prefix: string }; readonly events: { readonly queueMaxLen: number } }): {
  prefix: string;
  streams: { events: { maxLen: number } };
} {
  return { prefix: config.redis.prefix, streams: { events: { maxLen: config.events.queueMaxLen } } };
}
