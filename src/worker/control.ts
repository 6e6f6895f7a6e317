/** Runs the control queue (scheduled replays, delayed batch checks) in a worker process. */
import { DelayedError, Worker } from 'bullmq';
import type { Config } from '../config/load.ts';
import type { Logger } from '../logger.ts';
import type { Producer } from '../producer.ts';
import type { OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { boundBlocking, workerLivenessOptions } from '../redis-connection/liveness.ts';
import { type ReplayFilter, replayFailed } from '../replay.ts';
import { BATCH_CHECK, CHECK_MARGIN_MS, CONTROL_QUEUE } from './control-queue.ts';

/** Runs scheduled replays in a worker process. */
export function startControlWorker(config: Config, connection: RedisClient, producer: Producer, logger: Logger, outage?: OutageReporter): Worker {
  const worker = boundBlocking(
    new Worker(
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
      { connection, prefix: config.redis.prefix, concurrency: 1, ...workerLivenessOptions() },
    ),
  );
  worker.on('error', (err) => outage?.error(err) || logger.error({ err }, 'control worker error'));
  return worker;
}
