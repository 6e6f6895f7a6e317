import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import { type AdaptiveRateOptions, defaultAdaptiveOptions, onPace, onRateLimited, onSuccess, type RateState } from '../policies/adaptive-rate.ts';

/**
 * Adapts an account's rate to what its provider accepts and stores it in Redis, where every worker process's call
 * gate reads it (src/redis-scripts/pace-call.lua), so the whole account sends at the adapted rate. Lives in each
 * process; the rate lives in Redis.
 */
export class AccountPacer {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #options: AdaptiveRateOptions;
  readonly #logger: Logger;
  #state: RateState;
  #successes: number[] = [];
  #applied = '';
  #probing = false;

  /** `key`: where the account's adapted rate is kept (invitebusKeys(prefix).pacedRate(account)). */
  constructor(redis: Redis, key: string, ceiling: number, logger: Logger) {
    this.#redis = redis;
    this.#key = key;
    this.#options = defaultAdaptiveOptions(ceiling);
    this.#logger = logger;
    this.#state = { rate: ceiling, changedAt: Date.now() };
  }

  /** The account's shared adapted rate, if one is stored. */
  async #shared(): Promise<number | undefined> {
    const stored = Number(await this.#redis.get(this.#key));
    return Number.isFinite(stored) && stored > 0 ? stored : undefined;
  }

  get rate(): number {
    return this.#state.rate;
  }

  /** Joins the account's current adapted rate (another process may have adapted it), else the ceiling. */
  async start(): Promise<void> {
    const shared = await this.#shared();
    if (shared !== undefined) this.#state = { rate: Math.min(this.#options.ceiling, shared), changedAt: Date.now() };
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
    void this.#shared()
      .then(async (stored) => {
        const shared = stored === undefined ? this.#state.rate : Math.min(this.#state.rate, stored);
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
    const rate = this.#state.rate.toFixed(3);
    if (rate === this.#applied) return;
    this.#applied = rate;
    await this.#redis.set(this.#key, rate);
  }
}
