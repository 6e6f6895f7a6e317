/**
 * From the event stream to the endpoints' queues. Every worker process reads the stream as a member of one
 * consumer group (`webhooks`), so each event is routed once by one of them; it is acknowledged only after its
 * delivery jobs exist, and a process that died holding events has them claimed by another after
 * CLAIM_IDLE_MS. The event id is each delivery's job id, so routing an event twice queues it once.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load.ts';
import { entryFields } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import { deliveryJob } from './delivery.ts';
import { endpointsFor, type WebhookJobData, webhookQueueName } from './payload.ts';

export const WEBHOOK_GROUP = 'webhooks';
/** Events a dead process read but did not acknowledge are taken over after this long. */
export const CLAIM_IDLE_MS = 30_000;

type StreamEntries = Array<[string, string[]]>;

export function startFanout(options: { config: Config; connection: Redis; logger: Logger; outage?: OutageReporter; consumer: string }) {
  const { config, logger } = options;
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

  async function route(entries: StreamEntries): Promise<void> {
    const byEndpoint = new Map<string, Array<ReturnType<typeof deliveryJob>>>();
    for (const [id, flat] of entries) {
      const fields = entryFields(flat);
      for (const name of endpointsFor(config, fields)) {
        const jobs = byEndpoint.get(name) ?? [];
        jobs.push(deliveryJob(config, name, id, fields));
        byEndpoint.set(name, jobs);
      }
    }
    for (const [name, jobs] of byEndpoint) await queues.get(name)?.addBulk(jobs);
    if (entries.length > 0) await reader.xack(stream, WEBHOOK_GROUP, ...entries.map(([id]) => id));
  }

  async function loop(): Promise<void> {
    await reader.xgroup('CREATE', stream, WEBHOOK_GROUP, '$', 'MKSTREAM').catch((e: Error) => {
      if (!/BUSYGROUP/.test(e.message)) throw e;
    });
    while (!stopping) {
      try {
        if (Date.now() - lastClaim > CLAIM_IDLE_MS / 2) {
          lastClaim = Date.now();
          const claimed = (await reader.xautoclaim(stream, WEBHOOK_GROUP, options.consumer, CLAIM_IDLE_MS, '0', 'COUNT', 500)) as [string, StreamEntries];
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
      reader.disconnect();
      await running;
      await Promise.all([...queues.values()].map((q) => q.close().catch(() => undefined)));
    },
  };
}
