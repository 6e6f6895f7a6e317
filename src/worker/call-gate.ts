import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { scripts } from '../commands/index.ts';
import { JITTER_MARGIN } from '../policies/adaptive-rate.ts';
import { invitebusKeys } from '../redis.ts';

/** BullMQ's limiter count from which the key means a queue-wide hold (queue.rateLimit stores MAX_SAFE_INTEGER). */
const HOLD_COUNT = 1_000_000_000;

/**
 * A call slot for an account whose provider calls carry several invites (Sutro): waits for the queue-wide hold
 * (a 429, a spent window) to end and, with a configured `rateLimit`, for the account's next call slot, shared by
 * every worker process through Redis (src/commands/call-slot.lua). The account's `rateLimit` then counts calls,
 * not invites: invites keep gathering into the call while it waits.
 */
export function createCallGate(
  redis: Redis,
  queue: Queue,
  prefix: string,
  rateLimit: { max: number; durationMs: number } | undefined,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): () => Promise<void> {
  // At least durationMs / max apart (plus the jitter margin): no window of durationMs sees more than max calls.
  const intervalMs = rateLimit === undefined ? 0 : Math.ceil((rateLimit.durationMs / rateLimit.max) * JITTER_MARGIN);
  const slotKey = invitebusKeys(prefix).callSlot(queue.name);
  const callSlot = scripts(redis).callSlot;
  return async () => {
    for (;;) {
      const wait = Number(await callSlot(slotKey, queue.keys.limiter as string, String(intervalMs), String(HOLD_COUNT)));
      if (wait <= 0) return;
      await sleep(wait);
    }
  };
}
