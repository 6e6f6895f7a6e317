/**
 * The fan-out's direct attempt at one endpoint, without a BullMQ job (a job costs more Redis work than the POST
 * itself): at most `concurrency` attempts at once; once deliveries have waited here longer than `maxWaitMs` (a
 * slow or backed-up receiver), or `maxWaiting` of them wait, or the endpoint is disabled, the rest become jobs.
 * What an attempt could not deliver becomes a job too: a retry on the endpoint's schedule, or a refusal recorded
 * as a failed job.
 */
import type { DeliveryJob, DeliveryResult } from './delivery-job.ts';
import type { WebhookJobData } from './payload.ts';

/** One attempt's result. */
export type Attempt = { kind: 'delivered'; result: DeliveryResult } | { kind: 'retry'; message: string; waitMs?: number } | { kind: 'final'; message: string };

/** The longest Retry-After honoured: a receiver cannot park deliveries for days. */
const MAX_RETRY_AFTER_MS = 10 * 3_600_000;

/** Full jitter of ±10% so a fleet of retries does not arrive in step. */
const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

/** The wait before retry `attemptsMade` (1 = after the first attempt): the receiver's Retry-After, else the schedule. */
export function webhookRetryDelay(attemptsMade: number, scheduleMs: readonly number[], requestedMs: number | undefined): number {
  if (requestedMs !== undefined) return Math.min(requestedMs, MAX_RETRY_AFTER_MS);
  return jitter(scheduleMs[Math.min(attemptsMade, scheduleMs.length) - 1] ?? 0);
}

/** Direct deliveries wait for a free slot at most this long (the oldest), and at most this many, before new ones queue. */
export const DIRECT_WAIT_MS = 1_000;
export const DIRECT_WAITING_MAX = 2_000;

/** Sends one endpoint's events directly. */
export interface DirectSender {
  /** Delivers one event now; resolves once it is delivered or queued as a job. */
  send(job: DeliveryJob): Promise<void>;
}

export function createDirectSender(options: {
  /** Attempts at once. */
  concurrency: number;
  retryScheduleMs: readonly number[];
  /** One signed POST to the endpoint. */
  attempt: (data: WebhookJobData) => Promise<Attempt>;
  isDisabled: () => Promise<boolean>;
  /** Queues a job on the endpoint's queue. */
  enqueue: (name: string, data: WebhookJobData, opts: DeliveryJob['opts'] & { attempts: number; delay?: number }) => Promise<unknown>;
  maxWaitMs?: number;
  maxWaiting?: number;
}): DirectSender {
  const maxWaitMs = options.maxWaitMs ?? DIRECT_WAIT_MS;
  const maxWaiting = options.maxWaiting ?? DIRECT_WAITING_MAX;
  let active = 0;
  const waiting: Array<{ since: number; go: () => void }> = [];

  return {
    async send(job) {
      const backedUp = waiting.length >= maxWaiting || Date.now() - (waiting[0]?.since ?? Date.now()) > maxWaitMs;
      if (backedUp || (await options.isDisabled())) {
        await options.enqueue(job.name, job.data, job.opts);
        return;
      }
      if (active >= options.concurrency) await new Promise<void>((go) => waiting.push({ since: Date.now(), go }));
      active += 1;
      let a: Attempt;
      try {
        a = await options.attempt(job.data).catch((err: unknown) => ({ kind: 'retry', message: String(err) }) as const);
      } finally {
        active -= 1;
        waiting.shift()?.go();
      }
      if (a.kind === 'delivered') return;
      if (a.kind === 'final') {
        await options.enqueue(job.name, { ...job.data, refused: a.message }, { ...job.opts, attempts: 1 });
        return;
      }
      const retries = Math.max(1, (job.opts.attempts ?? 1) - 1);
      await options.enqueue(
        job.name,
        { ...job.data, attemptsBefore: 1 },
        { ...job.opts, attempts: retries, delay: webhookRetryDelay(1, options.retryScheduleMs, a.waitMs) },
      );
    },
  };
}
