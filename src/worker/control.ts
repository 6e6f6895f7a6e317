import { DelayedError, Queue, Worker } from 'bullmq';
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

/** A little after a heartbeat's expiry, so the check finds it expired. */
const CHECK_MARGIN_MS = 250;

/**
 * Checks the batch again once a writer's heartbeat has expired (run by any worker process). `liveForMs` is how long
 * the writer is still live, measured in Redis time; one check per batch is pending at a time, and a check that
 * runs early (clocks differ between processes) delays itself again rather than being lost.
 */
export async function checkBatchLater(queue: Queue, batchId: string, liveForMs: number): Promise<void> {
  await queue.add(
    BATCH_CHECK,
    { batchId },
    {
      jobId: `${BATCH_CHECK}-${Buffer.from(batchId).toString('hex')}`,
      delay: Math.max(0, liveForMs) + CHECK_MARGIN_MS,
      attempts: 10,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
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
    async (job, token) => {
      if (job.name === BATCH_CHECK) {
        const liveForMs = await producer.events().sealBatch((job.data as { batchId: string }).batchId, '', 'release');
        if (liveForMs > 0 && token !== undefined) {
          // A writer is still live (a new one, or this check ran early on a clock ahead of Redis's): check again later.
          await job.moveToDelayed(Date.now() + liveForMs + CHECK_MARGIN_MS, token);
          throw new DelayedError();
        }
        return liveForMs;
      }
      const result = await replayFailed(producer, job.data as ReplayFilter);
      logger.info({ ...result, filter: job.data }, 'scheduled replay');
      return result;
    },
    { connection, prefix: config.redis.prefix, concurrency: 1 },
  );
  worker.on('error', (err) => outage?.error(err) || logger.error({ err }, 'control worker error'));
  return worker;
}
