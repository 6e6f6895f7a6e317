/**
 * The `_control` queue: invitebus's own scheduled work (replays on a timer, delayed batch checks), as producers
 * and operators write it. The worker that runs it is src/worker/control.ts.
 */
import { Queue } from 'bullmq';
import { queueOptions } from '../bullmq-options.ts';
import type { Config } from '../config/load.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import type { ReplayFilter } from '../types.ts';

/** The queue of invitebus's own scheduled work (replays). `_` cannot start an account name. */
export const CONTROL_QUEUE = '_control';
const REPLAY_SCHEDULER = 'replay';

export function controlQueue(config: Config, connection: RedisClient): Queue {
  return new Queue(CONTROL_QUEUE, { connection, ...queueOptions(config) });
}

/** Replays matching failed invites every `everyMs`, from whichever worker process takes the job. */
export async function scheduleReplay(queue: Queue, everyMs: number, filter: ReplayFilter): Promise<void> {
  await queue.upsertJobScheduler(REPLAY_SCHEDULER, { every: everyMs }, { name: 'replay', data: filter, opts: { removeOnComplete: 100, removeOnFail: 100 } });
}

/** Job name of a delayed completion check of a batch whose other writer may have died. */
export const BATCH_CHECK = 'batch-check';

/** A little after a heartbeat's expiry, so the check finds it expired. */
export const CHECK_MARGIN_MS = 250;

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
