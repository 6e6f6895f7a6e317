import type { JobType, Queue } from 'bullmq';
import { type Logger, pino } from 'pino';
import { type Config, parseConfig } from '../../src/config/load.ts';
import type { InviteEvent } from '../../src/events/stream.ts';
import { decodeSentRecord } from '../../src/invites/sent-record.ts';
import { type EnqueueItem, Producer } from '../../src/producer.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { type RunningWorkers, runWorkers } from '../../src/worker/run.ts';
import type { useRedis } from './redis.ts';

type TestRedis = ReturnType<typeof useRedis>;

/**
 * A queue's job counts, its `completed` including the successes kept as sent records: a succeeded invite's BullMQ
 * job is removed as it completes (src/invites/sent-record.ts), the account's sent count keeps the number.
 */
export async function jobCounts(queue: Queue, ...types: JobType[]): Promise<Record<string, number>> {
  const counts = await queue.getJobCounts(...types);
  if (types.includes('completed')) {
    // The producer's queues are built on its ioredis connection: the count is read on it.
    const redis = queue.opts.connection as unknown as { hgetall(key: string): Promise<Record<string, string>> };
    const byDay = await redis.hgetall(invitebusKeys(queue.opts.prefix ?? 'bull').sentCount(queue.name));
    counts.completed = (counts.completed ?? 0) + Object.values(byDay).reduce((sum, n) => sum + Number(n), 0);
  }
  return counts;
}

/**
 * The invite events of a stream as they come: each call reads on from where the last stopped (the stream is read
 * once, not again on every poll) and returns every invite event so far.
 */
export function inviteEventReader(events: ReturnType<Producer['events']>): () => Promise<Array<Record<string, string>>> {
  const all: Array<Record<string, string>> = [];
  let from = '-';
  return async () => {
    for (;;) {
      const page = await events.read(from, 1_000);
      all.push(...page.map((e) => e.fields).filter((f) => f.type?.startsWith('invite.')));
      if (page.length > 0) from = page[page.length - 1]?.id ?? from;
      if (page.length < 1_000) return all;
    }
  };
}

/** Polls a condition until it holds or the deadline passes (no fixed sleeps in tests). */
/**
 * `each` invites to every account of `names`, in account order (`p0@ACCOUNT.example.com`, …), for producer.enqueue;
 * appended to `into` (its positions go on from there), which is returned.
 */
export function invitesPerAccount(names: readonly string[], each: number, into: EnqueueItem[] = []): EnqueueItem[] {
  for (const account of names) for (let k = 0; k < each; k++) into.push({ account, invite: { email: `p${k}@${account}.example.com` }, index: into.length });
  return into;
}

export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A finished invite as a test reads it: its state, attempts, when it finished and (a success) its outcome. */
export interface FinishedInvite {
  finishedOn?: number;
  attemptsMade: number;
  returnvalue?: { outcome: { kind: string; [k: string]: unknown } };
  getState(): Promise<string>;
}

/**
 * A job once BullMQ has moved it to completed or failed. Its event is written just before that move, so a test
 * that waited for the event reads the job through this. A success's job is removed as it completes: it is read
 * from its sent record (src/invites/sent-record.ts) then, as reports and `find` read it.
 */
export async function finishedJob(
  queue: {
    name: string;
    /** The producer's queues are built on its ioredis connection: the sent record is read on it. */
    opts: { prefix?: string; connection?: unknown };
    getJob(id: string): Promise<{ finishedOn?: number; attemptsMade: number; getState(): Promise<string> } | undefined>;
  },
  id: string,
): Promise<FinishedInvite> {
  return waitFor(
    async () => {
      const job = await queue.getJob(id);
      if (job !== undefined) return job.finishedOn !== undefined ? (job as FinishedInvite) : undefined;
      const redis = queue.opts.connection as { get(key: string): Promise<string | null> };
      const sent = decodeSentRecord(await redis.get(invitebusKeys(queue.opts.prefix ?? 'bull').sent(queue.name, id)));
      if (sent === undefined) return undefined;
      const { kind, status, requestId, providerId, message } = sent;
      return {
        finishedOn: sent.finishedAt,
        attemptsMade: sent.attempts,
        returnvalue: { outcome: { kind, status, requestId, providerId, message } },
        getState: async () => 'completed',
      };
    },
    5_000,
    `job ${id} to finish`,
  );
}

let counter = 0;

/**
 * A whole pipeline in this process: config (with a fresh prefix), producer, workers for the given accounts.
 * Retries are fast (tens of ms) so tests do not wait minutes.
 */
export async function startPipeline(
  redis: TestRedis,
  accounts: Record<string, Record<string, unknown>>,
  options: {
    env?: Record<string, string>;
    config?: Record<string, unknown>;
    workers?: boolean;
    logger?: Logger;
    metrics?: Parameters<typeof runWorkers>[1]['metrics'];
  } = {},
) {
  counter += 1;
  const config: Config = parseConfig({
    redis: { url: redis.url, prefix: `${redis.prefix}-${counter}` },
    defaults: { retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 }, rateLimited: { baseDelayMs: 50, maxDelayMs: 200 } },
    worker: { shutdownTimeoutMs: 5_000 },
    ...options.config,
    accounts,
  });
  const logger = options.logger ?? pino({ level: process.env.TEST_LOG ?? 'silent' });
  const producerRedis = redis.connect();
  const workerRedis = redis.connect();
  const producer = new Producer(config, { redis: producerRedis });
  const events = producer.events();
  let workers: RunningWorkers | undefined;
  if (options.workers !== false) {
    workers = await runWorkers(config, { env: { ...options.env }, logger, redis: workerRedis, ...(options.metrics ? { metrics: options.metrics } : {}) });
  }

  /** Invite events as on the stream: every value a string. */
  const inviteEvents = async (): Promise<Array<Record<keyof InviteEvent, string>>> =>
    (await events.read()).filter((e) => e.fields.type?.startsWith('invite.')).map((e) => e.fields as Record<keyof InviteEvent, string>);

  return {
    config,
    producer,
    events,
    workers,
    /** Invite events so far (values as strings, as on the stream). */
    inviteEvents,
    /** Waits until `n` invite events are on the stream. */
    async waitForInviteEvents(n: number, timeoutMs = 15_000) {
      return waitFor(
        async () => {
          const found = await inviteEvents();
          return found.length >= n ? found : undefined;
        },
        timeoutMs,
        `${n} invite events`,
      );
    },
    async accountEvents(type?: string) {
      return (await events.read()).filter((e) => e.fields.type?.startsWith('account.') && (type === undefined || e.fields.type === type)).map((e) => e.fields);
    },
    async close() {
      await workers?.close();
      await producer.close();
      await Promise.all([producerRedis, workerRedis].map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}
