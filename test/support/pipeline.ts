import { type Logger, pino } from 'pino';
import { type Config, parseConfig } from '../../src/config/load.ts';
import type { InviteEvent } from '../../src/events/stream.ts';
import { Producer } from '../../src/producer.ts';
import { type RunningWorkers, runWorkers } from '../../src/worker/run.ts';
import type { useRedis } from './redis.ts';

type TestRedis = ReturnType<typeof useRedis>;

/** Polls a condition until it holds or the deadline passes (no fixed sleeps in tests). */
export async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * A job once BullMQ has moved it to completed or failed. Its event is written just before that move, so a test
 * that waited for the event reads the job through this.
 */
export async function finishedJob(
  queue: { getJob(id: string): Promise<{ finishedOn?: number; attemptsMade: number; getState(): Promise<string> } | undefined> },
  id: string,
) {
  return waitFor(
    async () => {
      const job = await queue.getJob(id);
      return job?.finishedOn !== undefined ? job : undefined;
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
