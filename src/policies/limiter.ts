/** Jobs per second that never binds: used when an account sets no rate limit. */
export const UNLIMITED = 1_000_000_000;

/** Spacing below this is beyond what BullMQ's millisecond limiter keys can pace reliably. */
const MIN_SPACING_MS = 2;

/**
 * Calls leave a worker a few ms after their slot (Redis round trip, event loop), unevenly: pacing 5% under the
 * limit keeps that jitter from ever squeezing max + 1 calls into one window at the provider (measured: at
 * exact spacing, 3 runs in 4 of two processes at 10/s showed 11 calls in some second).
 */
const JITTER_MARGIN = 1.05;

/**
 * BullMQ's limiter for an account's `rateLimit`. BullMQ counts jobs in fixed windows, so `max` per `duration`
 * would let two windows' bursts meet inside one second (up to 2 × max in any sliding second). Spacing the jobs
 * instead (1 per duration / max) means no window of `durationMs`, wherever it starts, holds more than `max`
 * calls: the configured limit is a ceiling the provider never sees exceeded (paced 5% under it, for jitter).
 * Limits above 500/s keep the fixed
 * window. Without a configured limit the limiter never binds, but it exists: BullMQ honours a queue-wide hold
 * (`queue.rateLimit`, used for 429s and spent windows) only in workers that have one.
 */
export function limiterFor(rateLimit: { max: number; durationMs: number } | undefined): { max: number; duration: number } {
  if (rateLimit === undefined) return { max: UNLIMITED, duration: 1000 };
  const spacing = rateLimit.durationMs / rateLimit.max;
  if (spacing < MIN_SPACING_MS) return { max: rateLimit.max, duration: rateLimit.durationMs };
  return { max: 1, duration: Math.ceil(spacing * JITTER_MARGIN) };
}
