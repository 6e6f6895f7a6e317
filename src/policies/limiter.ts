import { limiterForRate } from './adaptive-rate.ts';

/** Jobs per second that never binds: used when an account sets no rate limit. */
export const UNLIMITED = 1_000_000_000;

/** The configured `rateLimit` as calls per second. */
export function ratePerSecond(rateLimit: { max: number; durationMs: number }): number {
  return (rateLimit.max * 1000) / rateLimit.durationMs;
}

/**
 * BullMQ's limiter for an account's configured `rateLimit` (see `limiterForRate`): the configured limit is a
 * ceiling the provider never sees exceeded in any sliding window. Without a configured limit the limiter
 * never binds, but it exists: BullMQ honours a queue-wide hold (`queue.rateLimit`, used for 429s and spent
 * windows) only in workers that have one.
 */
export function limiterFor(rateLimit: { max: number; durationMs: number } | undefined): { max: number; duration: number } {
  if (rateLimit === undefined) return { max: UNLIMITED, duration: 1000 };
  return limiterForRate(ratePerSecond(rateLimit));
}
