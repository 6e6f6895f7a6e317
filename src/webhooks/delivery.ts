/**
 * Delivering to one endpoint: a BullMQ worker on the endpoint's own queue (a slow receiver never holds
 * another), each job one event POSTed as JSON and signed per Standard Webhooks with the `standardwebhooks`
 * package. 2xx is delivered; network errors, 5xx and 429 are retried on the endpoint's schedule (Svix's by
 * default; a Retry-After wins); any other answer is final. An endpoint failing for `disableAfterMs` without a
 * success is disabled: its queue is paused (deliveries wait, nothing is lost) and `webhook.disabled` goes on
 * the stream. Delivery is at least once; order within an endpoint is best effort.
 *
 * The first attempt is made directly by the fan-out (`send`), without a BullMQ job: a job costs more Redis work
 * than the POST itself. Only what that attempt could not deliver becomes a job (a retry on the schedule, or a
 * refusal recorded as a failed job), as does every event while the endpoint is disabled or its deliveries have
 * waited in this process for over a second (a slow receiver queues, and holds no other endpoint).
 */
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../config/load.ts';
import { RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { requestedWaitMs } from '../policies/rate-limit-headers.ts';
import { createHttpClient } from '../providers/http.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import { type WebhookJobData, webhookBody, webhookQueueName } from './payload.ts';

/** What a receiver answered, kept with the job: its status and the start of its body. */
export interface DeliveryResult {
  status: number;
  body: string;
}

/** Receivers' bodies are kept this long at most (they may be pages of HTML). */
export const RESPONSE_KEEP_CHARS = 1024;
/** The longest Retry-After honoured: a receiver cannot park deliveries for days. */
const MAX_RETRY_AFTER_MS = 10 * 3_600_000;

export interface WebhookDelivery {
  name: string;
  queue: Queue<WebhookJobData>;
  worker: Worker<WebhookJobData, DeliveryResult>;
  /** Delivers one event now (the fan-out's direct attempt); resolves once it is delivered or queued as a job. */
  send(job: DeliveryJob): Promise<void>;
  close(): Promise<void>;
}

/** One attempt's result. */
type Attempt = { kind: 'delivered'; result: DeliveryResult } | { kind: 'retry'; message: string; waitMs?: number } | { kind: 'final'; message: string };

/** Direct deliveries wait for a free slot at most this long (the oldest), and at most this many, before new ones queue. */
const DIRECT_WAIT_MS = 1_000;
const DIRECT_WAITING_MAX = 2_000;
/** The most recent success is written to the endpoint's state at most this often (unless it was failing). */
const SUCCESS_WRITE_MS = 1_000;
/** Whether the endpoint is disabled (its state, its paused queue) is read again at most this often. */
const DISABLED_CHECK_MS = 1_000;

/** Full jitter of ±10% so a fleet of retries does not arrive in step. */
const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

/** The wait before retry `attemptsMade` (1 = after the first attempt): the receiver's Retry-After, else the schedule. */
export function webhookRetryDelay(attemptsMade: number, scheduleMs: readonly number[], requestedMs: number | undefined): number {
  if (requestedMs !== undefined) return Math.min(requestedMs, MAX_RETRY_AFTER_MS);
  return jitter(scheduleMs[Math.min(attemptsMade, scheduleMs.length) - 1] ?? 0);
}

export function startWebhookDelivery(options: {
  config: Config;
  name: string;
  secret: string;
  connection: Redis;
  logger: Logger;
  outage?: OutageReporter;
  /** Called when an endpoint is disabled, to publish `webhook.disabled`. */
  onDisabled: (name: string, since: number, message: string) => Promise<void>;
}): WebhookDelivery {
  const { config, name, connection } = options;
  const hook = config.webhooks[name];
  if (hook === undefined) throw new Error(`unknown webhook '${name}'`);
  const endpoint = hook;
  const logger = options.logger.child({ webhook: name });
  const signer = new Webhook(options.secret);
  const http = createHttpClient({ timeoutMs: hook.timeoutMs });
  const stateKey = invitebusKeys(config.redis.prefix).webhookState(name);
  const queue = new Queue<WebhookJobData>(webhookQueueName(name), { connection, prefix: config.redis.prefix });

  /** A failure seen by this process since its last success was written: the next success is written at once. */
  let failing = false;
  /** Records a failed attempt. Redis refusing the write (OOM, ...) does not change what the receiver answered. */
  async function failed(status: string): Promise<void> {
    failing = true;
    await recordFailure(status).catch((err: Error) => options.outage?.error(err) || logger.warn({ err }, 'could not record a failed webhook delivery'));
  }
  async function recordFailure(status: string): Promise<void> {
    const now = Date.now();
    const replies = await connection
      .multi()
      .hsetnx(stateKey, 'failingSince', String(now))
      .hget(stateKey, 'failingSince')
      .hset(stateKey, 'lastStatus', status, 'lastAt', String(now))
      .exec();
    const failingSince = Number(replies?.[1]?.[1] ?? now);
    if (now - failingSince < endpoint.disableAfterMs) return;
    // One process disables it (HSETNX), the others see it is done.
    if ((await connection.hsetnx(stateKey, 'disabled', String(now))) !== 1) return;
    await queue.pause();
    const message = `no successful delivery since ${new Date(failingSince).toISOString()} (last: ${status}); deliveries wait until 'invitebus webhooks enable ${name}'`;
    logger.error({ failingSince }, `webhook ${name} disabled: ${message}`);
    await options.onDisabled(name, failingSince, message);
  }

  let successWrittenAt = 0;
  let unwritten = 0;
  let lastStatus = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  /** Writes the successes since the last write: the count, the last status, the failing clock cleared. */
  async function writeSuccesses(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (unwritten === 0) return;
    const n = unwritten;
    unwritten = 0;
    successWrittenAt = Date.now();
    await connection
      .multi()
      .hdel(stateKey, 'failingSince')
      .hset(stateKey, 'lastStatus', String(lastStatus), 'lastAt', String(successWrittenAt))
      .hincrby(stateKey, 'delivered', n)
      .exec()
      .catch((err: Error) => {
        unwritten += n;
        if (!options.outage?.error(err)) logger.warn({ err }, 'could not record webhook deliveries');
      });
  }
  /** A success: written at once after a failure seen here, else at most once per SUCCESS_WRITE_MS. */
  async function succeeded(status: number): Promise<void> {
    unwritten += 1;
    lastStatus = status;
    if (failing || Date.now() - successWrittenAt >= SUCCESS_WRITE_MS) {
      failing = false;
      await writeSuccesses();
      return;
    }
    flushTimer ??= setTimeout(() => void writeSuccesses(), SUCCESS_WRITE_MS);
  }

  async function attempt(data: WebhookJobData): Promise<Attempt> {
    const at = new Date();
    const body = data.body;
    const res = await http.send({
      method: 'POST',
      url: endpoint.url,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'invitebus-webhooks',
        'webhook-id': data.eventId,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(data.eventId, at, body),
      },
      body,
    });
    if (res.status === undefined) {
      await failed(res.code);
      return { kind: 'retry', message: `${res.code}: ${res.message}` };
    }
    const answer = { status: res.status, body: res.body.slice(0, RESPONSE_KEEP_CHARS) };
    if (res.status >= 200 && res.status < 300) {
      await succeeded(res.status);
      return { kind: 'delivered', result: answer };
    }
    await failed(String(res.status));
    const message = `HTTP ${res.status}: ${answer.body}`;
    if (res.status === 429 || res.status >= 500) {
      const waitMs = requestedWaitMs(res.headers);
      return { kind: 'retry', message, ...(waitMs === undefined ? {} : { waitMs }) };
    }
    return { kind: 'final', message };
  }

  async function deliver(job: Job<WebhookJobData, DeliveryResult>): Promise<DeliveryResult> {
    if (job.data.refused !== undefined && job.attemptsMade === 0) throw new UnrecoverableError(job.data.refused);
    const a = await attempt(job.data);
    if (a.kind === 'delivered') return a.result;
    if (a.kind === 'retry') throw new RetryableError(a.message, a.waitMs);
    throw new UnrecoverableError(a.message);
  }

  // The direct path: at most `concurrency` attempts at once; once deliveries wait here longer than
  // DIRECT_WAIT_MS (a slow or backed-up receiver), or DIRECT_WAITING_MAX of them, the rest become jobs.
  let active = 0;
  const waiting: Array<{ since: number; go: () => void }> = [];
  let disabledCheckedAt = 0;
  let disabled = false;
  async function isDisabled(): Promise<boolean> {
    if (Date.now() - disabledCheckedAt >= DISABLED_CHECK_MS) {
      disabledCheckedAt = Date.now();
      disabled = (await connection.hexists(stateKey, 'disabled')) === 1 || (await queue.isPaused());
    }
    return disabled;
  }

  async function send(job: DeliveryJob): Promise<void> {
    const backedUp = waiting.length >= DIRECT_WAITING_MAX || Date.now() - (waiting[0]?.since ?? Date.now()) > DIRECT_WAIT_MS;
    if (backedUp || (await isDisabled())) {
      await queue.add(job.name, job.data, job.opts);
      return;
    }
    if (active >= endpoint.concurrency) await new Promise<void>((go) => waiting.push({ since: Date.now(), go }));
    active += 1;
    let a: Attempt;
    try {
      a = await attempt(job.data).catch((err: unknown) => ({ kind: 'retry', message: String(err) }) as const);
    } finally {
      active -= 1;
      waiting.shift()?.go();
    }
    if (a.kind === 'delivered') return;
    if (a.kind === 'final') {
      await queue.add(job.name, { ...job.data, refused: a.message }, { ...job.opts, attempts: 1 });
      return;
    }
    const retries = Math.max(1, (job.opts.attempts ?? 1) - 1);
    await queue.add(
      job.name,
      { ...job.data, attemptsBefore: 1 },
      { ...job.opts, attempts: retries, delay: webhookRetryDelay(1, endpoint.retryScheduleMs, a.waitMs) },
    );
  }

  const worker = new Worker<WebhookJobData, DeliveryResult>(webhookQueueName(name), deliver, {
    connection,
    prefix: config.redis.prefix,
    concurrency: hook.concurrency,
    settings: {
      backoffStrategy: (attemptsMade, _type, err, job) =>
        webhookRetryDelay(
          attemptsMade + ((job?.data as WebhookJobData | undefined)?.attemptsBefore ?? 0),
          hook.retryScheduleMs,
          err instanceof RetryableError ? err.waitMs : undefined,
        ),
    },
  });
  worker.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'webhook worker error'));
  queue.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'webhook queue error'));
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) logger.warn({ eventId: job.data.eventId, err: err.message }, 'webhook delivery given up');
  });
  return {
    name,
    queue,
    worker,
    send,
    async close() {
      await worker.close().catch(() => undefined);
      await writeSuccesses();
      await queue.close().catch(() => undefined);
      http.close();
    },
  };
}

export type DeliveryJob = ReturnType<typeof deliveryJob>;

/** The delivery job of one stream event to one endpoint (`jobId`: the event id, or a replay's own). */
export function deliveryJob(config: Config, name: string, eventId: string, fields: Record<string, string>, jobId = eventId) {
  return {
    name: 'event',
    data: { eventId, type: fields.type ?? '', body: webhookBody(eventId, fields) } satisfies WebhookJobData,
    opts: deliveryJobOptions(config, name, jobId),
  };
}

/** Job options of a delivery: the event id as job id (an event is queued once per endpoint), the schedule's attempts. */
export function deliveryJobOptions(config: Config, name: string, jobId: string) {
  const hook = config.webhooks[name];
  return {
    jobId,
    attempts: (hook?.retryScheduleMs.length ?? 0) + 1,
    backoff: { type: 'custom' },
    removeOnComplete: { age: config.retention.completedAgeSec, count: 100_000 },
    removeOnFail: { age: config.retention.failedAgeSec },
  };
}
