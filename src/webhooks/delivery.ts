/**
 * Delivering to one endpoint: a BullMQ worker on the endpoint's own queue (a slow receiver never holds
 * another), each job one event POSTed as JSON and signed per Standard Webhooks with the `standardwebhooks`
 * package. 2xx is delivered; network errors, 5xx and 429 are retried on the endpoint's schedule (by default a
 * short phase, then Svix's; a Retry-After wins); any other answer is final. An endpoint failing for `disableAfterMs` without a
 * success is disabled: its queue is paused (deliveries wait, nothing is lost) and `webhook.disabled` goes on
 * the stream. Delivery is at least once; order within an endpoint is best effort.
 *
 * The first attempt is made directly by the fan-out (`send`), without a BullMQ job: a job costs more Redis work
 * than the POST itself. Only what that attempt could not deliver becomes a job (a retry on the schedule, or a
 * refusal recorded as a failed job), as does every event while the endpoint is disabled or its deliveries have
 * waited in this process for over a second (a slow receiver queues, and holds no other endpoint).
 *
 * This file signs and wires; the endpoint's health (its Redis state, disabling) is `endpoint-health.ts`, the
 * direct attempt's admission `direct-sender.ts`.
 */
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { queueOptions } from '../bullmq-options.ts';
import type { Config } from '../config/load.ts';
import { RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { requestedWaitMs } from '../policies/rate-limit-headers.ts';
import { createHttpClient } from '../providers/http.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { boundBlocking, workerLivenessOptions } from '../redis-connection/liveness.ts';
import type { DeliveryJob, DeliveryResult } from './delivery-job.ts';
import { type Attempt, createDirectSender, webhookRetryDelay } from './direct-sender.ts';
import { createEndpointHealth } from './endpoint-health.ts';
import { shownUrl, type WebhookJobData, webhookQueueName } from './payload.ts';

export type { DeliveryResult };

/** Receivers' bodies are kept this long at most (they may be pages of HTML). */
export const RESPONSE_KEEP_CHARS = 1024;

export { webhookRetryDelay } from './direct-sender.ts';

export interface WebhookDelivery {
  name: string;
  queue: Queue<WebhookJobData>;
  worker: Worker<WebhookJobData, DeliveryResult>;
  /** Delivers one event now (the fan-out's direct attempt); resolves once it is delivered or queued as a job. */
  send(job: DeliveryJob): Promise<void>;
  close(): Promise<void>;
}

export function startWebhookDelivery(options: {
  config: Config;
  name: string;
  secret: string;
  connection: RedisClient;
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
  const queue = new Queue<WebhookJobData>(webhookQueueName(name), { connection, ...queueOptions(config) });
  const health = createEndpointHealth({
    name,
    label: `${name} (${shownUrl(endpoint.url)})`,
    connection,
    stateKey: invitebusKeys(config.redis.prefix).webhookState(name),
    disableAfterMs: endpoint.disableAfterMs,
    queue,
    logger,
    ...(options.outage ? { outage: options.outage } : {}),
    onDisabled: options.onDisabled,
  });

  /** One signed POST (`first`: the delivery's first attempt); its answer told to the endpoint's health. */
  async function attempt(data: WebhookJobData, first: boolean): Promise<Attempt> {
    const at = new Date();
    const startedAt = at.getTime();
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
      const message = `${res.code}: ${res.message}`;
      await health.failed(res.code, { why: message, firstRetried: first, startedAt });
      return { kind: 'retry', message };
    }
    const answer = { status: res.status, body: res.body.slice(0, RESPONSE_KEEP_CHARS) };
    if (res.status >= 200 && res.status < 300) {
      await health.succeeded(res.status, startedAt);
      return { kind: 'delivered', result: answer };
    }
    const retried = res.status === 429 || res.status >= 500;
    await health.failed(String(res.status), { why: `HTTP ${res.status}`, firstRetried: first && retried, final: !retried, startedAt });
    const message = `HTTP ${res.status}: ${answer.body}`;
    if (retried) {
      const waitMs = requestedWaitMs(res.headers);
      return { kind: 'retry', message, ...(waitMs === undefined ? {} : { waitMs }) };
    }
    return { kind: 'final', message };
  }

  async function deliver(job: Job<WebhookJobData, DeliveryResult>): Promise<DeliveryResult> {
    if (job.data.refused !== undefined && job.attemptsMade === 0) throw new UnrecoverableError(job.data.refused);
    // A delivery's first attempt (a test delivery's only one is not retried).
    const first = job.attemptsMade === 0 && (job.data.attemptsBefore ?? 0) === 0 && (job.opts.attempts ?? 1) > 1;
    const a = await attempt(job.data, first);
    if (a.kind === 'delivered') return a.result;
    if (a.kind === 'retry') throw new RetryableError(a.message, a.waitMs);
    throw new UnrecoverableError(a.message);
  }

  const direct = createDirectSender({
    concurrency: endpoint.concurrency,
    retryScheduleMs: endpoint.retryScheduleMs,
    attempt: (data) => attempt(data, true),
    isDisabled: () => health.isDisabled(),
    enqueue: (jobName, data, opts) => queue.add(jobName, data, opts),
  });

  const worker = boundBlocking(
    new Worker<WebhookJobData, DeliveryResult>(webhookQueueName(name), deliver, {
      connection,
      prefix: config.redis.prefix,
      ...workerLivenessOptions(),
      concurrency: hook.concurrency,
      settings: {
        backoffStrategy: (attemptsMade, _type, err, job) =>
          webhookRetryDelay(
            attemptsMade + ((job?.data as WebhookJobData | undefined)?.attemptsBefore ?? 0),
            hook.retryScheduleMs,
            err instanceof RetryableError ? err.waitMs : undefined,
          ),
      },
    }),
  );
  worker.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'webhook worker error'));
  queue.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'webhook queue error'));
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) logger.warn({ eventId: job.data.eventId, err: err.message }, 'webhook delivery given up');
  });
  return {
    name,
    queue,
    worker,
    send: (job) => direct.send(job),
    async close() {
      await worker.close().catch(() => undefined);
      await health.close();
      await queue.close().catch(() => undefined);
      http.close();
    },
  };
}

export { type DeliveryJob, deliveryJob, deliveryJobOptions } from './delivery-job.ts';
