import type { Redis } from 'ioredis';
import { InvitebusError } from './errors.ts';
import { redisUp } from './redis-connection/liveness.ts';

/**
 * ioredis 6.0.0 keeps the commands in flight when a ready connection drops (`prevCommandQueue`) to resend them
 * once it reconnects; when the client ends instead (its retryStrategy gives up, or disconnect() while it is
 * reconnecting), nothing ever settles them (upstream: redis/ioredis#2197, #2169), and whoever awaits one hangs,
 * or the process exits 13 on an unsettled await. Rejects them as a dropped connection is ('Connection is closed.').
 */
export function settleStrandedCommands(client: Redis): Redis {
  type Stash = { shift(): { command: { reject(error: Error): void } } | undefined } | null | undefined;
  client.on('end', () => {
    const stash = (client as unknown as { prevCommandQueue: Stash }).prevCommandQueue;
    const error = new Error('Connection is closed.');
    for (let item = stash?.shift(); item !== undefined; item = stash?.shift()) item.command.reject(error);
  });
  return client;
}

/** The URL with any password replaced, for messages and logs. */
export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'the configured Redis URL';
  }
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** Whether an error means "Redis cannot be reached" (as opposed to a command Redis refused). */
export function isRedisUnreachable(error: unknown): boolean {
  if (error instanceof InvitebusError) return error.code === 'REDIS_UNAVAILABLE';
  const e = error as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  if (e.name === 'MaxRetriesPerRequestError') return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return (
    /Connection is closed|Reached the max retries per request|Stream isn't writeable|connect ETIMEDOUT|Command timed out|Socket timeout/.test(message) ||
    FAILING_OVER.test(message)
  );
}

/**
 * What a Sentinel group or a Cluster says while it fails over (the sentinels still name the dead primary, a slot
 * has no live owner yet, a node is loading its data or was demoted): Redis is away for a few seconds, not refusing
 * a command (test/faults/failover.test.ts).
 */
const FAILING_OVER =
  /^All sentinels are unreachable|^Too many Cluster redirections|^CLUSTERDOWN |^Failed to refresh slots cache|^LOADING |^READONLY |^WRONGPASS |^NOAUTH |^ERR No such master with that name/;

/**
 * Whether a connection is known to be cut off (reconnecting after losing Redis, or closed). A connection still
 * making its first connection is not: a caller waits for it, within its own time bound.
 */
export function connectionLost(client: { readonly status: string }): boolean {
  return client.status === 'reconnecting' || client.status === 'end' || client.status === 'close';
}

/** The one sentence a user sees when Redis cannot be reached: where (`where`: printable, no password), and what to do. */
export function redisUnavailable(where: string, cause?: unknown): InvitebusError {
  const why = (cause as { code?: string } | undefined)?.code ?? '';
  const message = (cause as Error | undefined)?.message ?? '';
  if (/WRONGPASS|NOAUTH|NOPERM/.test(message)) {
    const answer = /^(WRONGPASS|NOAUTH|NOPERM)/.exec(message)?.[1] ?? 'refused';
    return new InvitebusError(
      'REDIS_UNAVAILABLE',
      `Redis at ${where} refused invitebus's credentials (${answer}): check redis.username and redis.password (or the URL's user and password), and the ACL user's permissions`,
      { cause },
    );
  }
  const hint = /No such master with that name/.test(message)
    ? 'the sentinels know no primary by that name: check redis.name (their "sentinel monitor NAME")'
    : why === 'ERR_TLS_CERT_ALTNAME_INVALID'
      ? "the server's certificate names another host: set redis.tls.servername to a name it carries"
      : where.startsWith('Sentinel group')
        ? 'check redis.sentinels, redis.name and redis.sentinelPassword'
        : where.startsWith('Redis Cluster')
          ? 'check redis.cluster.nodes, and redis.username / redis.password'
          : 'start Redis there, or point invitebus at yours with --redis-url, REDIS_URL or redis.url in the config';
  return new InvitebusError('REDIS_UNAVAILABLE', `cannot reach Redis at ${where}${why ? ` (${why})` : ''}: ${hint}`, cause === undefined ? {} : { cause });
}

/**
 * Logs a Redis outage once (a warning naming the URL) and its end once, however many connections and
 * retries report it: a long-running process (worker, serve) keeps retrying without flooding its log.
 */
/** Where an OutageReporter writes (a pino logger fits). */
export interface OutageLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export class OutageReporter {
  readonly #url: string;
  readonly #log: OutageLog;
  #down = false;
  #since = 0;
  #recheck: NodeJS.Timeout | undefined;

  /** @param where the Redis, in printable words (describeRedis: no password). */
  constructor(where: string, log: OutageLog) {
    this.#url = where;
    this.#log = log;
  }

  /** True while an outage is being reported. */
  get down(): boolean {
    return this.#down;
  }

  /** Reports an error if it is an outage; returns whether it was one (so callers skip their own log). */
  error(error: unknown): boolean {
    if (!isRedisUnreachable(error)) return false;
    if (!this.#down) {
      this.#down = true;
      this.#since = Date.now();
      const code = (error as { code?: string }).code ?? (error as Error).message;
      this.#log.warn({ redis: this.#url, cause: code }, `Redis at ${this.#url} is unreachable; retrying until it answers`);
    }
    return true;
  }

  /** A connection is ready again: the outage is over once every followed connection is (see liveness.ts). */
  ready(): void {
    if (!this.#down) return;
    if (!redisUp()) {
      // Others are still reconnecting (a dead link is found per connection): look again shortly.
      this.#recheck ??= setTimeout(() => {
        this.#recheck = undefined;
        this.ready();
      }, 500).unref();
      return;
    }
    this.#down = false;
    this.#log.info({ redis: this.#url, downMs: Date.now() - this.#since }, `Redis at ${this.#url} answers again`);
  }

  /** Follows an ioredis connection: its errors and its return. */
  watch(client: { on(event: string, listener: (arg?: unknown) => void): unknown }): void {
    client.on('error', (error: unknown) => this.error(error));
    client.on('ready', () => this.ready());
    // A Cluster client stays 'ready' through a failover: its node connections say when Redis answers again.
    client.on('+node', (node: unknown) => (node as { on(event: 'ready', listener: () => void): unknown }).on('ready', () => this.ready()));
  }
}

/** Names of the keys invitebus writes beside BullMQ's own. `_` cannot start an account name, so no clash. */
export function invitebusKeys(prefix: string) {
  return {
    /** The completion and account event stream. */
    events: `${prefix}:_invitebus:events`,
    /**
     * Accounts that had work recently, in any worker process (zset account → ms, src/worker/account-engine.ts): a
     * crashed process's accounts are started by another one, whose BullMQ stalled check gives their jobs back.
     */
    recentWork: `${prefix}:_invitebus:recent-work`,
    /** Marks that an invite's terminal event was written (value: the recorded outcome). */
    terminalMarker: (account: string, jobId: string, enqueuedAt: number) => `${prefix}:_invitebus:done:${account}:${jobId}:${enqueuedAt}`,
    /**
     * What is kept of an invite that succeeded once its job is removed (string: src/invites/sent-record.ts), for
     * the success retention: idempotency, reports, `find` and cancel read it when the job is gone.
     */
    sent: (account: string, jobId: string) => `${prefix}:_invitebus:sent:${account}:${jobId}`,
    /** An account's successes kept as sent records, by day (hash: epoch day → count): stats' `completed`. */
    sentCount: (account: string) => `${prefix}:_invitebus:sent-count:${account}`,
    /** Per-batch counters (hash): total, done, succeeded, failed, outcome:*, reason:*, sealed, completedAt. */
    batch: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}`,
    /** The invites of a batch, in enrolment order, as "account/jobId" (each once). */
    batchJobs: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:jobs`,
    /** The invites that belong to a batch (set of "account/jobId"): `total` is its size. */
    batchMembers: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:members`,
    /** Each invite's recorded result in its batch (hash "account/jobId" → outcome JSON). */
    batchResults: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:results`,
    /** A batch's scheduled invites (zset "account/jobId" → scheduledFor ms): those still ahead are counted apart. */
    batchScheduled: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:scheduled`,
    /** Enqueues of a batch still running (zset writer id → heartbeat expiry, ms): the batch waits for them. */
    batchWriters: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:writers`,
    /** One enqueue run's in-file duplicate check (hash job id → first input position; src/redis-scripts/mark-seen.lua). */
    runSeen: (writer: string) => `${prefix}:_invitebus:run:${writer}:seen`,
    /** Rows of a batch refused at intake and duplicates, as JSON entries (src/onboarding/intake.ts). */
    batchIntake: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:intake`,
    /** Terminal invites of an account per minute (hash: epoch minute → count), the last two hours. */
    throughput: (account: string) => `${prefix}:_invitebus:throughput:${account}`,
    /** A console session (string: its access), by the SHA-256 of the id its cookie carries; expires with it. */
    session: (idHash: string) => `${prefix}:_invitebus:session:${idHash}`,
    /** Every batch by creation time (zset batchId → createdAt ms), newest last: the console's list. */
    batches: `${prefix}:_invitebus:batches`,
    /** A webhook endpoint's health (hash: failingSince, disabled, lastStatus, lastAt). */
    webhookState: (name: string) => `${prefix}:_invitebus:webhook:${name}`,
    /**
     * Operator actions that move failures (replays, corrections): zset action id → until when it runs (Redis ms:
     * its heartbeat while running, its end once done). A failure moved by an action that overlapped another is
     * not that other's to move again.
     */
    actions: `${prefix}:_invitebus:actions`,
    /**
     * An invite cancelled as its hire was withdrawn (string: the cancellation JSON, kept for the retention): what
     * `find` and a second cancel tell once its job is gone (src/redis-scripts/cancel-invite.lua).
     */
    cancelled: (account: string, jobId: string) => `${prefix}:_invitebus:cancelled:${account}:${jobId}`,
    /** Why an account is paused (hash: reason, message, at). */
    accountState: (account: string) => `${prefix}:_invitebus:account:${account}`,
    /** An account's next free call slot (src/redis-scripts/pace-call.lua). */
    callSlot: (account: string) => `${prefix}:_invitebus:call-slot:${account}`,
    /**
     * An account's last `max` paced call starts (sorted set, µs: when granted, then when the request was written;
     * src/redis-scripts/pace-call.lua). Replaces the list `call-started` (before issue 24), no longer read.
     */
    callStarts: (account: string) => `${prefix}:_invitebus:call-starts:${account}`,
    /** A marker written with each `WAIT` so it confirms every earlier write (src/redis-connection/wait-replicas.ts). */
    replicationMarker: `${prefix}:_invitebus:replicated`,
    /**
     * The rate an account is paced at after adapting to its provider (calls/s; the pacer writes it with
     * src/redis-scripts/adapt-rate.lua); absent: paced at its configured limit.
     */
    pacedRate: (account: string) => `${prefix}:_invitebus:paced-rate:${account}`,
    /** Why and when an account's paced rate last moved (hash: from, to, reason, at, remaining, resetMs, recoveredAt, rateAt). */
    pacedRateChange: (account: string) => pacedRateChangeKey(`${prefix}:_invitebus:paced-rate:${account}`),
    /** Every account invites were ever queued for (set): how `accounts` finds a removed account whose invites still wait. */
    accounts: `${prefix}:_invitebus:accounts`,
  };
}

/** The record of why a paced rate moved, beside the rate's key (account names hold no ':', BullMQ refuses it). */
export function pacedRateChangeKey(rateKey: string): string {
  return `${rateKey}:change`;
}
