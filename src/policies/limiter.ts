/** Jobs per second that never binds. */
export const UNLIMITED = 1_000_000_000;

/**
 * Every account's BullMQ limiter: it never binds (calls are paced by the account's call gate,
 * src/worker/call-gate.ts), but it exists, because BullMQ honours a queue-wide hold (`queue.rateLimit`, used for
 * 429s and spent windows) only in workers that have one.
 */
export const HOLDS_ONLY_LIMITER = { max: UNLIMITED, duration: 1000 } as const;

/** The configured `rateLimit` as calls per second. */
export function ratePerSecond(rateLimit: { max: number; durationMs: number }): number {
  return (rateLimit.max * 1000) / rateLimit.durationMs;
}
