/**
 * A paced account's calls in flight are useful up to its rate × this long (a call, its Redis round trips and the
 * event loop's lag under load), or 1.5 × its calls' measured duration when that is longer.
 */
const CYCLE_FLOOR_MS = 2_000;
/** Weight of the newest call in the calls' average duration. */
const CALL_WEIGHT = 0.2;

/**
 * What one account's workers in this process keep from one start to the next: among many accounts, an account's
 * BullMQ worker is started and released around each far call slot, so what a start would redo (the queue's meta,
 * the calls' duration) is kept here by the engine, one per account, dropped when the account's
 * config changes.
 */
export class AccountMemory {
  /** An earlier start in this process wrote the queue's meta and removed any BullMQ global rate limit left over. */
  prepared = false;
  #callMs: number | undefined;

  /** One provider call took `ms`. */
  observeCall(ms: number): void {
    this.#callMs = this.#callMs === undefined ? ms : (1 - CALL_WEIGHT) * this.#callMs + CALL_WEIGHT * ms;
  }

  /** The account's calls' average duration (ms), once one was made. */
  get callMs(): number | undefined {
    return this.#callMs;
  }
}

/**
 * How many jobs a paced account's worker takes at once: what its rate can start while one job's call is in flight,
 * at most the configured concurrency. More would only fetch jobs whose call slots are seconds away, which then go
 * back to delayed one by one (at 1 call / 4 s with 4 in flight, three wasted fetches per call, each with its slot
 * request and its move back). Unpaced accounts take the configured concurrency.
 */
export function usefulConcurrency(configured: number, ratePerSecond: number | undefined, callMs: number | undefined): number {
  if (ratePerSecond === undefined) return configured;
  const cycleMs = Math.max(CYCLE_FLOOR_MS, 1.5 * (callMs ?? 0));
  return Math.max(1, Math.min(configured, Math.ceil((ratePerSecond * cycleMs) / 1000)));
}
