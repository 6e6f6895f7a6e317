import { Redis, type RedisOptions } from 'ioredis';

/**
 * A connection for BullMQ workers and event writers: retries commands forever while Redis is away
 * (BullMQ requires `maxRetriesPerRequest: null` for blocking connections) and reconnects with backoff.
 */
export function connectWorkerRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...options,
  });
}

/**
 * A connection for producers: a command waits through a short outage (reconnects and replays), but a
 * producer is told about a long one instead of hanging, so it never reports an invite as queued that is not.
 */
export function connectProducerRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 20,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
    ...options,
  });
}

/** Names of the keys invitebus writes beside BullMQ's own. `_` cannot start an account name, so no clash. */
export function invitebusKeys(prefix: string) {
  return {
    /** The completion and account event stream. */
    events: `${prefix}:_invitebus:events`,
    /** Marks that an invite's terminal event was written (value: the recorded outcome). */
    terminalMarker: (account: string, jobId: string, enqueuedAt: number) => `${prefix}:_invitebus:done:${account}:${jobId}:${enqueuedAt}`,
    /** Per-batch counters (hash): total, done, succeeded, failed, outcome:*, reason:*, sealed, completedAt. */
    batch: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}`,
    /** The invites of a batch, in enqueue order, as "account/jobId". */
    batchJobs: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:jobs`,
    /** Why an account is paused (hash: reason, message, at). */
    accountState: (account: string) => `${prefix}:_invitebus:account:${account}`,
  };
}
