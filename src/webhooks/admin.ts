/**
 * Operating webhooks, for the CLI and the API: each endpoint's health, a test delivery, replaying past events
 * to an endpoint, and enabling a disabled one. The URL is shown without its query string (it may carry a
 * token); secrets never leave the worker processes.
 */

import { randomUUID } from 'node:crypto';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { queueOptions } from '../bullmq-options.ts';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { entryFields } from '../events/stream.ts';
import type { Producer } from '../producer.ts';
import { invitebusKeys } from '../redis.ts';
import { duplicateClient } from '../redis-connection/factory.ts';
import { MAX_BLOCK_S } from '../redis-connection/liveness.ts';
import { type DeliveryResult, deliveryJob, deliveryJobOptions } from './delivery.ts';
import { streamGroups, unsettledEvents, webhookGroup } from './groups.ts';
import { shownUrl, subscribes, type WebhookJobData, webhookQueueName } from './payload.ts';

export interface WebhookStatus {
  name: string;
  /** Scheme, host and path: a query string may hold a token. */
  url: string;
  events: readonly string[];
  accounts?: readonly string[];
  disabled: boolean;
  disabledAt?: number;
  failingSince?: number;
  lastStatus?: string;
  lastAt?: number;
  waiting: number;
  delayed: number;
  active: number;
  failed: number;
  /** Deliveries the receiver accepted (2xx), directly or after retries, since the endpoint was configured. */
  completed: number;
  /** Events read for this endpoint whose delivery is neither delivered nor queued yet (under way, or waiting for the claim). */
  pending: number;
  /** Of those, the ones whose delivery could not be started (Redis refused the job): routed again after CLAIM_IDLE_MS. */
  notStarted: number;
}

function hookOf(config: Config, name: string) {
  const hook = Object.hasOwn(config.webhooks, name) ? config.webhooks[name] : undefined;
  if (hook === undefined) {
    throw new InvitebusError('UNKNOWN_WEBHOOK', `unknown webhook '${name}'; configured webhooks: ${Object.keys(config.webhooks).join(', ') || '(none)'}`);
  }
  return hook;
}

export { shownUrl } from './payload.ts';

function queueOf(producer: Producer, name: string): Queue<WebhookJobData> {
  return new Queue<WebhookJobData>(webhookQueueName(name), { connection: producer.redis, ...queueOptions(producer.config) });
}

export async function webhookStatus(producer: Producer): Promise<WebhookStatus[]> {
  const keys = invitebusKeys(producer.config.redis.prefix);
  const groups = await streamGroups(producer.redis, keys.events);
  return Promise.all(
    Object.entries(producer.config.webhooks).map(async ([name, hook]) => {
      const queue = queueOf(producer, name);
      try {
        const [state, counts, unsettled] = await Promise.all([
          producer.redis.hgetall(keys.webhookState(name)),
          queue.getJobCounts('waiting', 'delayed', 'active', 'failed'),
          unsettledEvents(producer.redis, keys.events, name, groups.get(webhookGroup(name))?.pending ?? 0),
        ]);
        return {
          name,
          url: shownUrl(hook.url),
          events: hook.events,
          ...(hook.accounts ? { accounts: hook.accounts } : {}),
          disabled: state.disabled !== undefined,
          ...(state.disabled ? { disabledAt: Number(state.disabled) } : {}),
          ...(state.failingSince ? { failingSince: Number(state.failingSince) } : {}),
          ...(state.lastStatus ? { lastStatus: state.lastStatus } : {}),
          ...(state.lastAt ? { lastAt: Number(state.lastAt) } : {}),
          waiting: counts.waiting ?? 0,
          delayed: counts.delayed ?? 0,
          active: counts.active ?? 0,
          failed: counts.failed ?? 0,
          completed: Number(state.delivered ?? 0),
          ...unsettled,
        };
      } finally {
        await queue.close();
      }
    }),
  );
}

/**
 * Sends a `webhook.test` event to one endpoint through its queue (signed like any other) and waits for the
 * answer, up to `timeoutMs`. Needs a worker process running; says so when none picks it up.
 */
export async function testWebhook(producer: Producer, name: string, timeoutMs = 30_000): Promise<{ delivered: boolean; status?: number; message: string }> {
  hookOf(producer.config, name);
  const queue = queueOf(producer, name);
  // QueueEvents blocks on its connection, which BullMQ wants without a per-command retry limit.
  const events = new QueueEvents(webhookQueueName(name), {
    connection: duplicateClient(producer.redis, { maxRetriesPerRequest: null }),
    prefix: producer.config.redis.prefix,
    // Its XREAD BLOCK answers within the socket timeout that finds a dead link (BullMQ's default blocks 10 s).
    blockingTimeout: MAX_BLOCK_S * 1000,
  });
  try {
    await events.waitUntilReady();
    const eventId = `test-${randomUUID()}`;
    const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { webhook: name } });
    // One attempt: a test says how the receiver answers now.
    const job = (await queue.add(
      'test',
      { eventId, type: 'webhook.test', body },
      { ...deliveryJobOptions(producer.config, name, eventId), attempts: 1 },
    )) as Job<WebhookJobData, DeliveryResult>;
    try {
      const result = (await job.waitUntilFinished(events, timeoutMs)) as DeliveryResult;
      return { delivered: true, status: result.status, message: `delivered: HTTP ${result.status}${result.body ? ` ${result.body.slice(0, 200)}` : ''}` };
    } catch (error) {
      const message = (error as Error).message;
      if (/timed out/i.test(message)) {
        const state = await job.getState();
        await job.remove().catch(() => undefined);
        return { delivered: false, message: `no answer within ${timeoutMs} ms (job ${state}: is a worker process running, and is the webhook enabled?)` };
      }
      return { delivered: false, message: `not delivered: ${message}` };
    }
  } finally {
    await events.close();
    await queue.close();
  }
}

/**
 * Queues again, for one endpoint, every event on the stream since `sinceMs` ago that the endpoint subscribes
 * to. Each keeps its event id as `webhook-id`, so a receiver that already has it drops it.
 */
export async function replayWebhook(producer: Producer, name: string, sinceMs: number): Promise<{ queued: number }> {
  const hook = hookOf(producer.config, name);
  const stream = invitebusKeys(producer.config.redis.prefix).events;
  const queue = queueOf(producer, name);
  const run = Date.now();
  let queued = 0;
  try {
    let from = `${Math.max(0, run - sinceMs)}-0`;
    for (;;) {
      const page = await producer.redis.xrange(stream, from, '+', 'COUNT', 1000);
      const jobs = page
        .map(([id, flat]) => ({ id, fields: entryFields(flat) }))
        .filter(({ fields }) => subscribes(hook, fields))
        .map(({ id, fields }) => deliveryJob(producer.config, name, id, fields, `${id}-replay-${run}`));
      if (jobs.length > 0) await queue.addBulk(jobs);
      queued += jobs.length;
      if (page.length < 1000) break;
      from = `(${page[page.length - 1]?.[0]}`;
    }
    return { queued };
  } finally {
    await queue.close();
  }
}

/**
 * Sends an endpoint's deliveries now: a disabled endpoint is enabled (its failure clock restarts) and its
 * queue resumed; deliveries waiting for their next retry are moved to now (after a receiver's outage, nothing
 * waits out the schedule). A failing endpoint that is not disabled keeps its failure clock.
 */
export async function enableWebhook(producer: Producer, name: string): Promise<{ wasDisabled: boolean; sentNow: number }> {
  hookOf(producer.config, name);
  const key = invitebusKeys(producer.config.redis.prefix).webhookState(name);
  const queue = queueOf(producer, name);
  try {
    const wasDisabled = (await producer.redis.hexists(key, 'disabled')) === 1;
    if (wasDisabled) await producer.redis.hdel(key, 'disabled', 'failingSince', 'retried');
    await queue.resume();
    const sentNow = await queue.getDelayedCount();
    await queue.promoteJobs();
    return { wasDisabled, sentNow };
  } finally {
    await queue.close();
  }
}
