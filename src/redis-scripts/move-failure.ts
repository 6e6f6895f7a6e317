/**
 * The wrapper of move-failure.lua: it owns the script's KEYS and ARGV order and its result codes. A replay and a
 * correction call it with named fields.
 */
import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { invitebusKeys } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { defineScript, runScript } from './define.ts';
import { endAction as endActionScript } from './end-action.ts';
import { WRITER_HEARTBEAT_MS } from './writer-heartbeat.ts';

/** What move-failure did with one failure. */
export const MOVE_RESULT = { 0: 'not_failed', 1: 'moved', 2: 'failed_since_start', 3: 'not_recorded' } as const;
export type MoveResult = (typeof MOVE_RESULT)[keyof typeof MOVE_RESULT];

export interface MoveFailure {
  queue: Queue;
  /** The invite's account (its queue's name) and job id. */
  account: string;
  jobId: string;
  /** The enqueue time in the job's data: it names the failure's terminal marker. */
  enqueuedAt: number;
  /** The batch that counted the failure ('' for none). */
  batchId: string;
  /** The action moving it (`startAction`): failures recorded after it started, or moved by an overlapping action, are not its. */
  action: Action;
  /** The job's new data, if it changes (a replay with --set, a correction). */
  data?: object;
  /** The action as a writer of `writerBatchId` (held open until it is sealed), if any. */
  writer?: { id: string; batchId: string };
  /** How long batch keys live. */
  ttlMs: number;
  /** 'forget': the batch counts the new run instead of the failure; 'keep': the old batch keeps it. */
  mode: 'forget' | 'keep';
  lifo?: boolean;
}

/** An operator action that moves failures: its id and its start in Redis time (ms). */
export interface Action {
  id: string;
  since: number;
}

/** Starts an action: its start is read from Redis's clock, to compare with when failures were recorded. */
export async function startAction(redis: RedisClient): Promise<Action> {
  const [s, us] = await redis.time();
  return { id: `action-${randomUUID()}`, since: Number(s) * 1000 + Math.floor(Number(us) / 1000) };
}

/** An action without a start: it may move any recorded failure (a correction brings new fields). */
export function correctionAction(): Action {
  return { id: `correction-${randomUUID()}`, since: Number.MAX_SAFE_INTEGER };
}

/** Ends an action: it ran until now (Redis time). */
export async function endAction(redis: RedisClient, prefix: string, action: Action, ttlMs: number): Promise<void> {
  await runScript(redis, endActionScript, { prefix, actionId: action.id, ttlMs });
}

/** The script itself: a move named by its fields. */
export const moveFailureScript = defineScript<MoveFailure & { prefix: string }, MoveResult>({
  file: 'move-failure',
  keys: 15,
  encode: (m) => {
    const keys = invitebusKeys(m.prefix);
    const q = m.queue.keys;
    const writerBatch = m.writer?.batchId ?? m.batchId;
    return {
      keys: [
        m.queue.toKey(m.jobId),
        q.events as string,
        q.failed as string,
        q.wait as string,
        q.meta as string,
        q.active as string,
        q.marker as string,
        q.prioritized as string,
        q.pc as string,
        keys.terminalMarker(m.account, m.jobId, m.enqueuedAt),
        keys.batch(m.batchId),
        keys.batchMembers(m.batchId),
        keys.batchResults(m.batchId),
        keys.batchWriters(writerBatch),
        keys.actions,
      ],
      args: [
        m.jobId,
        m.lifo ? 'RPUSH' : 'LPUSH',
        String(m.action.since),
        `${m.account}/${m.jobId}`,
        m.data === undefined ? '' : JSON.stringify(m.data),
        m.writer?.id ?? '',
        String(WRITER_HEARTBEAT_MS),
        String(m.ttlMs),
        m.mode,
        m.action.id,
      ],
    };
  },
  decode: (reply) => {
    const result = MOVE_RESULT[reply as keyof typeof MOVE_RESULT];
    if (result === undefined) throw new Error(`move-failure answered ${String(reply)}`);
    return result;
  },
});

/** Moves one failed invite back to waiting, atomically (src/redis-scripts/move-failure.lua). */
export async function moveFailure(redis: RedisClient, prefix: string, m: MoveFailure): Promise<MoveResult> {
  return runScript(redis, moveFailureScript, { ...m, prefix });
}
