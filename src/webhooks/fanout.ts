/**
 * From the event stream to the endpoints. Every worker process reads the stream as a member of one consumer
 * group (`webhooks`), so each event is routed once by one of them. Each endpoint's delivery is attempted at once
 * (`WebhookDelivery.send`); what that attempt cannot deliver becomes a job on the endpoint's queue. An event is
 * acknowledged only after every endpoint's delivery is delivered or queued; a process that died holding events
 * has them claimed by another after CLAIM_IDLE_MS (delivered again: at least once, the `webhook-id` tells the
 * receiver). The event id is each delivery's job id, so queueing an event twice queues it once.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load.ts';
import { entryFields } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import { deliveryJob, type WebhookDelivery } from './delivery.ts';
import { endpointsFor, type WebhookJobData, webhookQueueName } from './payload.ts';

export const WEBHOOK_GROUP = 'webhooks';
/** Events a dead process read but did not acknowledge are taken over after this long. */
export const CLAIM_IDLE_MS = 30_000;
/** Settled events are acknowledged together: after this long, or once this many are waiting. */
const ACK_EVERY_MS = 50;
const ACK_BATCH = 500;
/** Events read but not yet settled, at most: reading waits beyond this. */
const MAX_IN_FLIGHT = 1_000;

type StreamEntries = Array<[string, string[]]>;

/** Overrides of CLAIM_IDLE_MS and MAX_IN_FLIGHT (tests use short ones). */
export interface FanoutTuning {
  claimIdleMs?: number;
  maxInFlight?: number;
}

export function startFanout(options: {
  config: Config;
  connection: Redis;
  logger: Logger;
  outage?: OutageReporter;
  consumer: string;
  /** This process's delivery per endpoint (direct attempts); an endpoint without one gets jobs only. */
  deliveries?: readonly WebhookDelivery[];
  /** Tuning for tests: how long an unacknowledged event waits before it is claimed, and the in-flight limit. */
  tuning?: FanoutTuning;
}) {
  const { config, logger } = options;
  const claimIdleMs = options.tuning?.claimIdleMs ?? CLAIM_IDLE_MS;
  const maxInFlight = options.tuning?.maxInFlight ?? MAX_IN_FLIGHT;
  const stream = invitebusKeys(config.redis.prefix).events;
  // A blocking read holds its connection: this one is the fan-out's own.
  const reader = options.connection.duplicate();
  reader.on('error', (err) => options.outage?.error(err) || logger.error({ err }, 'webhook fan-out connection error'));
  const queues = new Map(
    Object.keys(config.webhooks).map((name) => [
      name,
      new Queue<WebhookJobData>(webhookQueueName(name), { connection: options.connection, prefix: config.redis.prefix }),
    ]),
  );
  for (const q of queues.values()) q.on('error', (err) => options.outage?.error(err));
  let stopping = false;
  let lastClaim = 0;

  const deliveries = new Map((options.deliveries ?? []).map((d) => [d.name, d]));
  /** Event id → endpoints still to settle. */
  const inFlight = new Map<string, number>();
  let toAck: string[] = [];
  let ackTimer: NodeJS.Timeout | undefined;
  let acking: Promise<unknown> = Promise.resolve();
  let drained: (() => void) | undefined;

  /** Acknowledges what settled, in one XACK: at most ACK_EVERY_MS after the first, or once ACK_BATCH are waiting. */
  function flushAcks(): void {
    clearTimeout(ackTimer);
    ackTimer = undefined;
    if (toAck.length === 0) return;
    const ids = toAck;
    toAck = [];
    // Not acknowledged (Redis away): claimed again after CLAIM_IDLE_MS and delivered again, never lost.
    acking = options.connection
      .xack(stream, WEBHOOK_GROUP, ...ids)
      .catch((err: Error) => options.outage?.error(err) || logger.warn({ err }, 'could not acknowledge events'));
  }

  function ack(id: string): void {
    toAck.push(id);
    if (toAck.length >= ACK_BATCH) flushAcks();
    else ackTimer ??= setTimeout(flushAcks, ACK_EVERY_MS);
  }

  function settled(id: string): void {
    const left = (inFlight.get(id) ?? 1) - 1;
    if (left > 0) {
      inFlight.set(id, left);
      return;
    }
    inFlight.delete(id);
    ack(id);
    if (inFlight.size < maxInFlight / 2) drained?.();
  }

  async function route(entries: StreamEntries): Promise<void> {
    for (const [id, flat] of entries) {
      if (inFlight.has(id)) continue; // claimed back while still being delivered here
      const fields = entryFields(flat);
      const names = endpointsFor(config, fields);
      if (names.length === 0) {
        ack(id);
        continue;
      }
      inFlight.set(id, names.length);
      for (const name of names) {
        const job = deliveryJob(config, name, id, fields);
        const delivery = deliveries.get(name);
        (delivery ? delivery.send(job) : (queues.get(name)?.add(job.name, job.data, job.opts) ?? Promise.resolve())).then(
          () => settled(id),
          (err: Error) => {
            // Left unacknowledged: claimed again later.
            inFlight.delete(id);
            if (!options.outage?.error(err)) logger.error({ err, eventId: id, webhook: name }, 'webhook delivery could not be started');
          },
        );
      }
    }
    while (inFlight.size >= maxInFlight && !stopping) await new Promise<void>((resolve) => (drained = resolve));
    drained = undefined;
  }

  async function loop(): Promise<void> {
    await reader.xgroup('CREATE', stream, WEBHOOK_GROUP, '$', 'MKSTREAM').catch((e: Error) => {
      if (!/BUSYGROUP/.test(e.message)) throw e;
    });
    while (!stopping) {
      try {
        if (Date.now() - lastClaim > claimIdleMs / 2) {
          lastClaim = Date.now();
          const claimed = (await reader.xautoclaim(stream, WEBHOOK_GROUP, options.consumer, claimIdleMs, '0', 'COUNT', 500)) as [string, StreamEntries];
          await route((claimed[1] ?? []).filter((e) => e !== null && Array.isArray(e[1])));
        }
        const res = (await reader.xreadgroup('GROUP', WEBHOOK_GROUP, options.consumer, 'COUNT', 500, 'BLOCK', 1000, 'STREAMS', stream, '>')) as Array<
          [string, StreamEntries]
        > | null;
        await route(res?.[0]?.[1] ?? []);
      } catch (err) {
        if (stopping) break;
        if (!options.outage?.error(err as Error)) logger.error({ err }, 'webhook fan-out failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  const running = loop().catch((err: unknown) => logger.error({ err }, 'webhook fan-out stopped'));
  return {
    async close() {
      stopping = true;
      drained?.();
      reader.disconnect();
      await running;
      // Deliveries under way finish (each bounded by its timeout) and are acknowledged.
      const deadline = Date.now() + 30_000;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      flushAcks();
      await acking;
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
    },
  };
}
