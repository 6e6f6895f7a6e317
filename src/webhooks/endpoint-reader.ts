/**
 * One endpoint's share of the fan-out: reads the event stream through the endpoint's consumer group, starts a
 * delivery for each event it subscribes to, and acknowledges an event only once that delivery is recorded:
 * delivered by the direct attempt, or queued as a job (a retry, or a refusal kept as a failed job). A delivery
 * Redis refused to record (the job could not be written) stays pending, parked under NOT_STARTED where
 * `webhooks list` counts it, and is claimed and routed again after the claim time. Events pending longer than
 * that under any consumer (a process died holding them) are claimed the same way.
 */
import type { Queue } from 'bullmq';
import type { Config } from '../config/load.ts';
import { entryFields } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { OutageReporter } from '../redis.ts';
import { duplicateClient, type RedisClient } from '../redis-connection/factory.ts';
import { type DeliveryJob, deliveryJob, type WebhookDelivery } from './delivery.ts';
import { NOT_STARTED, webhookGroup } from './groups.ts';
import { subscribes, type WebhookJobData } from './payload.ts';

/** Settled events are acknowledged together: after this long, or once this many are waiting. */
const ACK_EVERY_MS = 50;
const ACK_BATCH = 500;
/** Events read and claimed at a time. */
const READ_COUNT = 500;

type StreamEntries = Array<[string, string[]]>;

/** A running endpoint reader. */
export interface EndpointReader {
  /** Events read whose delivery is not yet recorded (for tests: none may be left behind). */
  inFlight(): number;
  /** Stops reading, waits for the deliveries under way (up to 30 s) and acknowledges those recorded. */
  close(): Promise<void>;
}

export function startEndpointReader(options: {
  config: Config;
  name: string;
  stream: string;
  connection: RedisClient;
  logger: Logger;
  outage?: OutageReporter;
  consumer: string;
  /** The endpoint's queue: where claimed events go, and every event when there is no direct delivery. */
  queue: Queue<WebhookJobData>;
  delivery?: WebhookDelivery;
  /** Resolves once the endpoints' groups exist; `groupsLost` makes it create them again. */
  groupsReady: () => Promise<void>;
  groupsLost: () => void;
  claimIdleMs: number;
  maxInFlight: number;
}): EndpointReader {
  const { config, name, stream, connection, queue, delivery, consumer } = options;
  const configured = config.webhooks[name];
  if (configured === undefined) throw new Error(`unknown webhook '${name}'`);
  const hook = configured;
  const logger = options.logger.child({ webhook: name });
  const group = webhookGroup(name);
  // A blocking read holds its connection: this one is the reader's own.
  const reader = duplicateClient(connection);
  reader.on('error', (err: Error) => options.outage?.error(err) || logger.error({ err }, 'webhook fan-out connection error'));
  // A connection cut while the reply to a read was on its way (a failover, a moved endpoint) leaves events handed to
  // this consumer that it never got: once reading again, it reads its own pending ones (rereadOwn) instead of
  // leaving them to the claim time.
  let connectedBefore = false;
  let rereadOwnPending = false;
  reader.on('ready', () => {
    if (connectedBefore) rereadOwnPending = true;
    connectedBefore = true;
  });

  let stopping = false;
  let lastClaim = 0;
  const inFlight = new Set<string>();
  let wake: (() => void) | undefined;
  let toAck: string[] = [];
  let toPark: string[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<unknown> = Promise.resolve();
  /** Events being acknowledged or parked right now: settled here, still pending in Redis for a moment. */
  const settling = new Set<string>();
  /** Whether starts are failing now: said once when they start failing and once when they work again. */
  let startsFailing = false;

  /** Acknowledges the recorded events and parks the unrecorded ones, in one command each. */
  function flush(): void {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    const ack = toAck;
    const park = toPark;
    toAck = [];
    toPark = [];
    const work: Array<Promise<unknown>> = [];
    if (ack.length > 0) work.push(connection.xack(stream, group, ...ack));
    // Parked with the idle time reset: routed again one claim time from now. Not parked (Redis away): the same, from where they are.
    if (park.length > 0) work.push(connection.call('XCLAIM', stream, group, NOT_STARTED, 0, ...park, 'JUSTID'));
    const ids = [...ack, ...park];
    for (const id of ids) settling.add(id);
    flushing = Promise.all(work)
      .catch((err: Error) => options.outage?.error(err) || logger.warn({ err }, 'could not acknowledge webhook events'))
      .finally(() => {
        for (const id of ids) settling.delete(id);
      });
  }

  function later(list: string[], id: string): void {
    list.push(id);
    if (toAck.length + toPark.length >= ACK_BATCH) flush();
    else flushTimer ??= setTimeout(flush, ACK_EVERY_MS);
  }

  /** An event's delivery is settled here (recorded or not): it leaves the in-flight set, the reader may read on. */
  function done(id: string): void {
    inFlight.delete(id);
    if (inFlight.size < options.maxInFlight / 2) wake?.();
  }

  function started(id: string): void {
    done(id);
    later(toAck, id);
    if (startsFailing) {
      startsFailing = false;
      logger.info('webhook deliveries are being started again');
    }
  }

  function notStarted(id: string, err: Error): void {
    done(id);
    later(toPark, id);
    if (options.outage?.error(err)) return;
    if (!startsFailing) {
      startsFailing = true;
      const waitS = Math.round(options.claimIdleMs / 1000);
      logger.error({ err, eventId: id }, `webhook deliveries to ${name} cannot be started; their events stay pending and are routed again every ${waitS} s`);
    } else logger.debug({ err, eventId: id }, 'webhook delivery could not be started');
  }

  function start(job: DeliveryJob, claimed: boolean): Promise<unknown> {
    // A claimed event may have its job already (queued, then the acknowledgement was lost): with the event id as
    // job id, queueing it again is a no-op, where a direct attempt would send it a second time.
    if (claimed || delivery === undefined) return queue.add(job.name, job.data, job.opts);
    return delivery.send(job);
  }

  async function route(entries: StreamEntries, claimed: boolean): Promise<void> {
    for (const [id, flat] of entries) {
      if (inFlight.has(id)) continue; // claimed back while still being delivered here
      const fields = entryFields(flat);
      if (!subscribes(hook, fields)) {
        later(toAck, id);
        continue;
      }
      inFlight.add(id);
      start(deliveryJob(config, name, id, fields), claimed).then(
        () => started(id),
        (err: Error) => notStarted(id, err),
      );
    }
    while (inFlight.size >= options.maxInFlight && !stopping) await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }

  /** Takes over events pending longer than the claim time (parked here, or held by a process that died), all of them. */
  async function claim(): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries] = (await reader.xautoclaim(stream, group, consumer, options.claimIdleMs, cursor, 'COUNT', READ_COUNT)) as [string, StreamEntries];
      // Entries trimmed off the stream meanwhile come back empty: RedisClient drops them from the group.
      await route(
        (entries ?? []).filter((e) => e !== null && Array.isArray(e[1])),
        true,
      );
      cursor = next;
    } while (cursor !== '0-0' && !stopping);
  }

  /**
   * Routes again this consumer's pending events it does not hold (an XREADGROUP from id 0 reads them): after a
   * reconnect, those are events whose read reply was lost. As claimed events, so one whose delivery was queued
   * and whose acknowledgement was lost is not sent twice.
   */
  async function rereadOwn(): Promise<void> {
    let after = '0-0';
    while (!stopping) {
      const res = (await reader.xreadgroup('GROUP', group, consumer, 'COUNT', READ_COUNT, 'STREAMS', stream, after)) as Array<[string, StreamEntries]> | null;
      const entries = res?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      after = entries[entries.length - 1]?.[0] ?? after;
      const unknown = entries.filter(([id]) => !inFlight.has(id) && !settling.has(id) && !toAck.includes(id) && !toPark.includes(id));
      // An entry trimmed off the stream meanwhile comes back without fields: nothing to deliver, only to acknowledge.
      for (const [id] of unknown.filter((e) => !Array.isArray(e[1]))) later(toAck, id);
      await route(
        unknown.filter((e) => Array.isArray(e[1])),
        true,
      );
    }
  }

  async function loop(): Promise<void> {
    while (!stopping) {
      try {
        await options.groupsReady();
        if (rereadOwnPending) {
          rereadOwnPending = false;
          await rereadOwn();
        }
        if (Date.now() - lastClaim > options.claimIdleMs / 2) {
          lastClaim = Date.now();
          await claim();
        }
        const res = (await reader.xreadgroup('GROUP', group, consumer, 'COUNT', READ_COUNT, 'BLOCK', 1000, 'STREAMS', stream, '>')) as Array<
          [string, StreamEntries]
        > | null;
        await route(res?.[0]?.[1] ?? [], false);
      } catch (err) {
        if (stopping) break;
        // The stream or the group was deleted: create it again rather than fail every second.
        if (/NOGROUP/.test((err as Error).message)) options.groupsLost();
        // The read may have been answered and the answer lost.
        rereadOwnPending = true;
        if (!options.outage?.error(err as Error)) logger.error({ err }, 'webhook fan-out failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  const running = loop().catch((err: unknown) => logger.error({ err }, 'webhook fan-out stopped'));
  return {
    inFlight: () => inFlight.size,
    async close() {
      stopping = true;
      wake?.();
      reader.disconnect();
      await running;
      // Deliveries under way finish (each bounded by its timeout) and are acknowledged.
      const deadline = Date.now() + 30_000;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      flush();
      await flushing;
      // A consumer left holding nothing is removed (each process start has a new one); one holding events keeps them for the claim.
      const held = (await connection.xpending(stream, group, '-', '+', 1, consumer).catch(() => [null])) as unknown[];
      if (held.length === 0) await connection.xgroup('DELCONSUMER', stream, group, consumer).catch(() => undefined);
    },
  };
}
