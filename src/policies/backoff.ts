/** Retry delays. Pure, with the random source injectable for tests. */

export interface BackoffOptions {
  /** First retry's ceiling, ms. */
  baseDelayMs: number;
  /** No single wait exceeds this, ms. */
  maxDelayMs: number;
}

/**
 * "Full jitter" exponential backoff (AWS Architecture Blog, 2015): a uniform wait in
 * [0, min(max, base * 2^(n-1))]. Spreads retries of many jobs that failed together,
 * so a recovering provider is not hit by a synchronised wave.
 * @param attempt 1 for the first retry.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exp = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * exp);
}

/**
 * Waits for rate-limited answers that named no wait: exponential in the number of consecutive
 * rate-limited answers, jittered to ±50% but never below half the nominal, so the account really slows down,
 * and never above `maxDelayMs` (the jitter's upper half is cut there, not added on top).
 */
export function rateLimitBackoff(consecutive: number, options: BackoffOptions, random: () => number = Math.random): number {
  const nominal = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, consecutive - 1));
  return Math.min(options.maxDelayMs, Math.floor(nominal / 2 + random() * nominal));
}
