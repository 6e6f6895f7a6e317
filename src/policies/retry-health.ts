/**
 * How long a transient failure waits, by the account's health. When most of the account's recent calls
 * succeed, a transient failure (a 5xx, a reset, a timeout) is an isolated glitch: it is retried within
 * seconds (short, jittered, still bounded by the attempts). When most recent calls fail, the provider is
 * having an outage: the long schedule applies, never sooner than half its nominal wait ("equal jitter"), so an
 * outage gets fewer calls than full jitter's 0..nominal spread would send it (the circuit breaker may also
 * pause the account). Pure; the window of recent calls is kept by `CallHealth`.
 */
import type { BackoffOptions } from './backoff.ts';

/** The short schedule of a glitch: ~0.5 s, 1 s, 2 s ... up to 5 s (never longer than the long schedule's). */
export const GLITCH = { baseDelayMs: 500, maxDelayMs: 5_000 } as const;
/** Recent calls that must have succeeded, as a share, for a failure to count as a glitch. */
export const HEALTHY_SHARE = 0.5;
/** Fewer recent calls than this say nothing about health: the long schedule applies. */
export const MIN_SAMPLES = 10;

/**
 * The wait before retry `attempt` (1 = the first retry) of a transient failure.
 * @param recent the account's recent calls: how many, and how many succeeded.
 */
export function transientRetryDelay(
  attempt: number,
  recent: { calls: number; succeeded: number },
  long: BackoffOptions,
  random: () => number = Math.random,
): number {
  const healthy = recent.calls >= MIN_SAMPLES && recent.succeeded / recent.calls >= HEALTHY_SHARE;
  const longNominal = Math.min(long.maxDelayMs, long.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  const nominal = healthy ? Math.min(longNominal, GLITCH.maxDelayMs, GLITCH.baseDelayMs * 2 ** Math.max(0, attempt - 1)) : longNominal;
  // Half to full of the nominal wait: spread, yet never an immediate hammering of a struggling endpoint.
  return Math.floor(nominal / 2 + (random() * nominal) / 2);
}

/** The last `size` calls of one account in this process: succeeded (the provider answered) or failed transiently. */
export class CallHealth {
  readonly #results: boolean[] = [];
  readonly #size: number;
  #next = 0;

  constructor(size = 20) {
    this.#size = size;
  }

  record(succeeded: boolean): void {
    if (this.#results.length < this.#size) this.#results.push(succeeded);
    else this.#results[this.#next] = succeeded;
    this.#next = (this.#next + 1) % this.#size;
  }

  recent(): { calls: number; succeeded: number } {
    return { calls: this.#results.length, succeeded: this.#results.filter(Boolean).length };
  }
}
