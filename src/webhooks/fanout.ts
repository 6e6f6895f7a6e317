/**
 * From the event stream to the endpoints. Each endpoint reads the stream through a consumer group of its own
 * (`webhook:NAME`) shared by every worker process, so each event is routed to an endpoint once, by one of them,
 * and acknowledged for that endpoint alone once its delivery is delivered or queued (see endpoint-reader.ts):
 * an endpoint whose deliveries cannot be started keeps its events pending without holding the others, and gets
 * them after CLAIM_IDLE_MS; the endpoints that had them do not get them again. A process that died holding
 * events has them claimed by another after CLAIM_IDLE_MS (delivered again: at least once, the `webhook-id`
 * tells the receiver). The event id is each delivery's job id, so queueing an event twice queues it once.
 */
import { Queue } from 'bullmq';
import { queueOptions } from '../bullmq-options.ts';
import type { Config } from '../config/load.ts';
import type { Logger } from '../logger.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import type { WebhookDelivery } from './delivery.ts';
import { startEndpointReader } from './endpoint-reader.ts';
import { ensureWebhookGroups } from './groups.ts';
import { type WebhookJobData, webhookQueueName } from './payload.ts';

/** Events read but not acknowledged (a dead process's, or deliveries that could not be started) are routed again after this long. */
export const CLAIM_IDLE_MS = 30_000;
/** Events read but not yet settled, per endpoint, at most: reading waits beyond this. */
const MAX_IN_FLIGHT = 1_000;

/** Overrides of CLAIM_IDLE_MS and MAX_IN_FLIGHT (tests use short ones). */
export interface FanoutTuning {
  claimIdleMs?: number;
  maxInFlight?: number;
}

export function startFanout(options: {
  config: Config;
  connection: RedisClient;
  logger: Logger;
  outage?: OutageReporter;
  consumer: string;
  /** This process's delivery per endpoint (direct attempts); an endpoint without one gets jobs only. */
  deliveries?: readonly WebhookDelivery[];
  /** Tuning for tests: how long an unacknowledged event waits before it is claimed, and the in-flight limit. */
  tuning?: FanoutTuning;
}) {
  const { config, connection } = options;
  const stream = invitebusKeys(config.redis.prefix).events;
  const names = Object.keys(config.webhooks);
  // Created once for every endpoint (and again if the stream was deleted); until then each reader retries.
  let groups: Promise<void> | undefined;
  const groupsReady = () =>
    (groups ??= ensureWebhookGroups(connection, stream, names).catch((err: unknown) => {
      groups = undefined;
      throw err;
    }));
  const deliveries = new Map((options.deliveries ?? []).map((d) => [d.name, d]));
  const ownQueues: Array<Queue<WebhookJobData>> = [];
  const readers = names.map((name) => {
    const delivery = deliveries.get(name);
    let queue = delivery?.queue;
    if (queue === undefined) {
      queue = new Queue<WebhookJobData>(webhookQueueName(name), { connection, ...queueOptions(config) });
      queue.on('error', (err) => options.outage?.error(err));
      ownQueues.push(queue);
    }
    return startEndpointReader({
      config,
      name,
      stream,
      connection,
      logger: options.logger,
      ...(options.outage ? { outage: options.outage } : {}),
      consumer: options.consumer,
      queue,
      ...(delivery ? { delivery } : {}),
      groupsReady,
      groupsLost: () => {
        groups = undefined;
      },
      claimIdleMs: options.tuning?.claimIdleMs ?? CLAIM_IDLE_MS,
      maxInFlight: options.tuning?.maxInFlight ?? MAX_IN_FLIGHT,
    });
  });
  return {
    /** Events read and not yet settled, over every endpoint. */
    inFlight: () => readers.reduce((n, r) => n + r.inFlight(), 0),
    async close() {
      await Promise.all(readers.map((r) => r.close()));
      await Promise.all(ownQueues.map((q) => q.close().catch(() => undefined)));
    },
  };
}
