import { Redis, type RedisOptions } from 'ioredis';
import { InvitebusError } from './errors.ts';

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

/**
 * A connection for BullMQ workers and event writers: retries commands forever while Redis is away
 * (BullMQ requires `maxRetriesPerRequest: null` for blocking connections) and reconnects with backoff.
 */
export function connectWorkerRedis(url: string, options: RedisOptions = {}): Redis {
  return settleStrandedCommands(
    new Redis(url, {
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
      ...options,
    }),
  );
}

/**
 * A connection for producers: a command waits through a short outage (reconnects and replays), but a
 * producer is told about a long one instead of hanging, so it never reports an invite as queued that is not.
 */
export function connectProducerRedis(url: string, options: RedisOptions = {}): Redis {
  return settleStrandedCommands(
    new Redis(url, {
      maxRetriesPerRequest: 20,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
      ...options,
    }),
  );
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
  return /Connection is closed|Reached the max retries per request|Stream isn't writeable|connect ETIMEDOUT|Command timed out/.test(message);
}

/**
 * Whether a connection is known to be cut off (reconnecting after losing Redis, or closed). A connection still
 * making its first connection is not: a caller waits for it, within its own time bound.
 */
export function connectionLost(client: Redis): boolean {
  return client.status === 'reconnecting' || client.status === 'end' || client.status === 'close';
}

/** The one sentence a user sees when Redis cannot be reached: where, and what to do. */
export function redisUnavailable(url: string, cause?: unknown): InvitebusError {
  const why = (cause as { code?: string } | undefined)?.code ?? '';
  return new InvitebusError(
    'REDIS_UNAVAILABLE',
    `cannot reach Redis at ${safeRedisUrl(url)}${why ? ` (${why})` : ''}: start Redis there, or point invitebus at yours with --redis-url, REDIS_URL or redis.url in the config`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * A connection for a command (status, report, stats, enqueue, ...): it waits for Redis at most `deadlineMs`,
 * then fails with REDIS_UNAVAILABLE instead of retrying for half a minute; an outage met later ends it
 * after about as long.
 */
export async function openCommandRedis(url: string, deadlineMs = 3_000): Promise<Redis> {
  // Each outage (the first connection included) gets `deadlineMs` of reconnecting, then the client ends.
  let downSince: number | undefined = Date.now();
  const client = settleStrandedCommands(
    new Redis(url, {
      lazyConnect: true,
      connectTimeout: deadlineMs,
      maxRetriesPerRequest: 2,
      retryStrategy: () => {
        downSince ??= Date.now();
        return Date.now() - downSince > deadlineMs ? null : 250;
      },
    }),
  );
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  client.on('ready', () => {
    downSince = undefined;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('end', () => reject(lastError ?? new Error('Connection is closed.')));
      client.connect().catch(() => undefined);
    });
  } catch (error) {
    client.disconnect();
    throw redisUnavailable(url, error);
  }
  return client;
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

  constructor(url: string, log: OutageLog) {
    this.#url = safeRedisUrl(url);
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

  /** A connection is ready again. */
  ready(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log.info({ redis: this.#url, downMs: Date.now() - this.#since }, `Redis at ${this.#url} answers again`);
  }

  /** Follows an ioredis connection: its errors and its return. */
  watch(client: Redis): void {
    client.on('error', (error: unknown) => this.error(error));
    client.on('ready', () => this.ready());
  }
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
    /** The invites of a batch, in enrolment order, as "account/jobId" (each once). */
    batchJobs: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:jobs`,
    /** The invites that belong to a batch (set of "account/jobId"): `total` is its size. */
    batchMembers: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:members`,
    /** Each invite's recorded result in its batch (hash "account/jobId" → outcome JSON). */
    batchResults: (batchId: string) => `${prefix}:_invitebus:batch:${batchId}:results`,
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
    /** Why an account is paused (hash: reason, message, at). */
    accountState: (account: string) => `${prefix}:_invitebus:account:${account}`,
    /** An account's next free call slot (src/redis-scripts/pace-call.lua). */
    callSlot: (account: string) => `${prefix}:_invitebus:call-slot:${account}`,
    /** An account's last `max` paced call starts (src/redis-scripts/pace-call.lua). */
    callStarted: (account: string) => `${prefix}:_invitebus:call-started:${account}`,
    /** The rate an account is paced at after adapting to its provider (calls/s; the pacer writes it). */
    pacedRate: (account: string) => `${prefix}:_invitebus:paced-rate:${account}`,
  };
}
