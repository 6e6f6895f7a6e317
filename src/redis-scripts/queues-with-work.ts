/** The wrapper of queues-with-work.lua: owns its KEYS order and its result's shape. */
import { QueueKeys } from 'bullmq';
import { defineScript } from './define.ts';

export interface QueuesWithWorkInput {
  prefix: string;
  /** The account queues to look at (a queue is named after its account). */
  accounts: readonly string[];
}

/**
 * The queues (by 0-based position in `accounts`) with jobs active, waiting (not paused) or delayed and due;
 * `active`: it has active jobs.
 */
export const queuesWithWork = defineScript<QueuesWithWorkInput, Array<{ position: number; active: boolean }>>({
  file: 'queues-with-work',
  keys: 'variable',
  encode: ({ prefix, accounts }) => {
    const keys = new QueueKeys(prefix);
    return { keys: accounts.flatMap((a) => ['active', 'wait', 'prioritized', 'delayed', 'meta'].map((type) => keys.toKey(a, type))), args: [] };
  },
  decode: (reply) => (reply as number[]).map((p) => ({ position: Math.abs(Number(p)) - 1, active: Number(p) < 0 })),
});
