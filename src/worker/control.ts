import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load.ts';
import type { Logger } from '../logger.ts';
import type { Producer } from '../producer.ts';
import type { OutageReporter } from '../redis.ts';
import { type ReplayFilter, replayFailed } from '../replay.ts';

/** The queue of invitebus's own scheduled work (replays). `_` cannot start an account name. */
export const CONTROL_QUEUE = '_control';
const REPLAY_SCHEDULER = 'replay';

export function controlQueue(config: Config, connection: Redis): Queue {
  return new Queue(CONTROL_QUEUE, { connection, prefix: config.redis.prefix });
}

/** Replays matching failed invites every `everyMs`, from whichever worker process takes the job. */
export async function scheduleReplay(queue: Queue, everyMs: number, filter: ReplayFilter): Promise<void> {
  await queue.upsertJobScheduler(REPLAY_SCHEDULER, { every: everyMs }, { name: 'replay', data: filter, opts: { removeOnComplete: 100, removeOnFail: 100 } });
}

/** Job name of a delayed completion check of a batch whose other writer may have died. */
export const BATCH_CHECK = 'batch-check';

/** Checks the batch again when a writer's heartbeat expires (run by any worker process). */
export async function checkBatchLater(queue: Queue, batchId: string, expiryMs: number): Promise<void> {
  const delay = Math.max(0, expiryMs - Date.now()) + 250;
  await queue.add(
    BATCH_CHECK,
    { batchId },
    { jobId: `${BATCH_CHECK}-${Buffer.from(batchId).toString('hex')}-${expiryMs}`, delay, removeOnComplete: true, removeOnFail: 100 },
  );
}

export async function unscheduleReplay(queue: Queue): Promise<boolean> {
  return queue.removeJobScheduler(REPLAY_SCHEDULER);
}

export async function replaySchedule(queue: Queue): Promise<{ every?: number; filter?: ReplayFilter; next?: number } | undefined> {
  const s = await queue.getJobScheduler(REPLAY_SCHEDULER);
  if (!s) return undefined;
  return {
    ...(s.every ? { every: Number(s.every) } : {}),
    ...(s.template?.data ? { filter: s.template.data as ReplayFilter } : {}),
    ...(s.next ? { next: s.next } : {}),
  };
}

/** Runs scheduled replays in a worker process. */
export function startControlWorker(config: Config, connection: Redis, producer: Producer, logger: Logger, outage?: OutageReporter): Worker {
  const worker = new Worker(
    CONTROL_QUEUE,
    async (job) => {
      if (job.name === BATCH_CHECK) return producer.sealBatch((job.data as { batchId: string }).batchId, '');
      const result = await replayFailed(producer, job.data as ReplayFilter);
      logger.info({ ...result, filter: job.data }, 'scheduled replay');
      return result;
    },
    { connection, prefix: config.redis.prefix, concurrency: 1 },
  );
  worker.on('error', (err) => outage?.error(err) || logger.error({ err }, 'control worker error'));
  return worker;
}
