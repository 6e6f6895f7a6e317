import type { Queue } from 'bullmq';
import type { Logger } from '../logger.ts';
import {
  type AdaptiveRateOptions,
  defaultAdaptiveOptions,
  JITTER_MARGIN,
  limiterForRate,
  onPace,
  onRateLimited,
  onSuccess,
  type RateState,
} from '../policies/adaptive-rate.ts';

/** Calls per second a BullMQ global limiter allows (inverse of limiterForRate, margin included). */
function rateOf(limiter: { max: number; duration: number }): number {
  return ((limiter.max * 1000) / limiter.duration) * JITTER_MARGIN;
}

/**
 * Adapts an account's rate to what its provider accepts and stores it as the queue's global rate limit, so
 * every worker process of the account sends at the adapted rate. Lives in each process; the rate lives in Redis.
 */
export class AccountPacer {
  readonly #queue: Queue;
  readonly #options: AdaptiveRateOptions;
  readonly #logger: Logger;
  #state: RateState;
  #successes: number[] = [];
  #applied = '';
  #probing = false;

  constructor(queue: Queue, ceiling: number, logger: Logger) {
    this.#queue = queue;
    this.#options = defaultAdaptiveOptions(ceiling);
    this.#logger = logger;
    this.#state = { rate: ceiling, changedAt: Date.now() };
  }

  get rate(): number {
    return this.#state.rate;
  }

  /** Joins the account's current adapted rate (another process may have adapted it), else the ceiling. */
  async start(): Promise<void> {
    const current = await this.#queue.getGlobalRateLimit();
    if (current && current.max > 0 && current.duration > 0) this.#state = { rate: Math.min(this.#options.ceiling, rateOf(current)), changedAt: Date.now() };
    await this.#apply();
  }

  /** Successes per second over the last two seconds, in this process. */
  #observed(now: number): number {
    while (this.#successes.length > 0 && (this.#successes[0] as number) < now - 2000) this.#successes.shift();
    return this.#successes.length / 2;
  }

  success(now = Date.now()): void {
    this.#successes.push(now);
    if (this.#successes.length > 10_000) this.#successes.splice(0, 5_000);
    if (this.#probing || now - this.#state.changedAt < 1000 || this.#state.rate >= this.#options.ceiling) return;
    this.#probing = true;
    // Probe from the account's shared rate, not this process's view of it: another process may have lowered it.
    void this.#queue
      .getGlobalRateLimit()
      .then(async (current) => {
        const shared = current ? Math.min(this.#state.rate, rateOf(current)) : this.#state.rate;
        this.#state = onSuccess({ rate: shared, changedAt: this.#state.changedAt }, Date.now(), this.#options);
        await this.#apply();
      })
      .catch((err: unknown) => this.#logger.warn({ err }, 'could not adapt the rate'))
      .finally(() => {
        this.#probing = false;
      });
  }

  async rateLimited(now = Date.now()): Promise<void> {
    const before = this.#state.rate;
    this.#state = onRateLimited(this.#state, this.#observed(now), now, this.#options);
    if (this.#state.rate < before) this.#logger.info({ from: Number(before.toFixed(2)), to: Number(this.#state.rate.toFixed(2)) }, 'rate lowered after a 429');
    await this.#apply();
  }

  async pace(remaining: number, resetMs: number, now = Date.now()): Promise<void> {
    this.#state = onPace(this.#state, remaining, resetMs, now, this.#options);
    await this.#apply();
  }

  async #apply(): Promise<void> {
    const limiter = limiterForRate(this.#state.rate);
    const key = `${limiter.max}/${limiter.duration}`;
    if (key === this.#applied) return;
    this.#applied = key;
    await this.#queue.setGlobalRateLimit(limiter.max, limiter.duration);
  }
}
