import type { Logger } from '../logger.ts';
import { type AdaptiveRateOptions, defaultAdaptiveOptions, onPace, onRateLimited } from '../policies/adaptive-rate.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import type { RateChange } from '../redis-scripts/adapt-rate.ts';
import { type Scripts, scripts } from '../redis-scripts/index.ts';

/** How often a process asks to raise a lowered rate while its calls succeed (the raise itself counts Redis time). */
const RAISE_EVERY_MS = 1000;
/** How often a process that last saw the account at its limit checks whether another process lowered it. */
const CHECK_AT_LIMIT_EVERY_MS = 5000;

/**
 * Adapts an account's rate to what its provider accepts and stores it in Redis, where every worker process's call
 * gate reads it (src/redis-scripts/pace-call.lua), so the whole account sends at the adapted rate. Lives in each
 * process; the rate, why it last moved and when live in Redis, moved only by src/redis-scripts/adapt-rate.lua, so
 * the processes of an account tell one story: a lowering applies only if it is lower than the shared rate, and the
 * recovery is counted from when the shared rate last moved, whichever process's call succeeded.
 */
export class AccountPacer {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #options: AdaptiveRateOptions;
  readonly #logger: Logger;
  readonly #scripts: Scripts;
  /** The shared rate as this process last saw it. */
  #rate: number;
  #successes: number[] = [];
  #lastRaise = 0;
  #raising = false;

  /** `key`: where the account's adapted rate is kept (invitebusKeys(prefix).pacedRate(account)); its record sits beside it. */
  constructor(redis: RedisClient, key: string, ceiling: number, logger: Logger) {
    this.#redis = redis;
    this.#key = key;
    this.#options = defaultAdaptiveOptions(ceiling);
    this.#logger = logger;
    this.#scripts = scripts(redis);
    this.#rate = ceiling;
  }

  /** The account's shared adapted rate (the ceiling when none is stored or it is above a lowered ceiling). */
  async #shared(): Promise<number> {
    const stored = Number(await this.#redis.get(this.#key));
    return Number.isFinite(stored) && stored > 0 ? Math.min(this.#options.ceiling, stored) : this.#options.ceiling;
  }

  /** The account's paced rate as this process last saw it, calls per second. */
  get rate(): number {
    return this.#rate;
  }

  /**
   * Joins the account's current adapted rate (another process may have adapted it), else the ceiling. At the ceiling
   * the next look at the shared rate is CHECK_AT_LIMIT_EVERY_MS away (it was just read); below it, the first success
   * probes upward at once.
   */
  async start(now = Date.now()): Promise<void> {
    this.#rate = await this.#shared();
    if (this.#rate >= this.#options.ceiling) this.#lastRaise = now;
  }

  /** Successes per second over the last two seconds, in this process. */
  #observed(now: number): number {
    while (this.#successes.length > 0 && (this.#successes[0] as number) < now - 2000) this.#successes.shift();
    return this.#successes.length / 2;
  }

  /** A call succeeded: at most once a second, the shared rate probes back up toward the ceiling. */
  success(now = Date.now()): void {
    this.#successes.push(now);
    if (this.#successes.length > 10_000) this.#successes.splice(0, 5_000);
    const every = this.#rate >= this.#options.ceiling ? CHECK_AT_LIMIT_EVERY_MS : RAISE_EVERY_MS;
    if (this.#raising || now - this.#lastRaise < every) return;
    this.#raising = true;
    this.#lastRaise = now;
    void this.#adapt({ op: 'raise', increasePerSecond: this.#options.increasePerSecond })
      .then((r) => {
        if (r.moved && r.rate >= this.#options.ceiling) this.#logger.info({ rate: r.rate }, 'rate back at the configured limit');
      })
      .catch((err: unknown) => this.#logger.warn({ err }, 'could not adapt the rate'))
      .finally(() => {
        this.#raising = false;
      });
  }

  /**
   * A 429: the shared rate drops to just above what this process saw succeed (at least 5% lower). Returns the
   * account's paced rate after it (calls per second), for the `account.rate_limited` event.
   */
  async rateLimited(now = Date.now()): Promise<number> {
    const shared = await this.#shared();
    const target = onRateLimited({ rate: shared, changedAt: now }, this.#observed(now), now, this.#options).rate;
    const r = await this.#adapt({ op: 'lower', rate: target, because: 'rate_limited' });
    if (r.moved) this.#logger.info({ from: Number(shared.toFixed(2)), to: r.rate }, 'rate lowered after a 429');
    return r.rate;
  }

  /** The provider said how many calls are left before its window resets: the shared rate drops to what that allows. */
  async pace(remaining: number, resetMs: number, now = Date.now()): Promise<void> {
    const target = onPace({ rate: this.#rate, changedAt: now }, remaining, resetMs, now, this.#options).rate;
    if (target >= this.#rate) return;
    const r = await this.#adapt({ op: 'lower', rate: target, because: 'remaining', remaining, resetMs });
    if (r.moved) this.#logger.info({ to: r.rate, remaining, resetMs }, 'rate lowered to what the provider says is left');
  }

  async #adapt(change: RateChange) {
    const r = await this.#scripts.adaptRate({ rateKey: this.#key, limit: this.#options.ceiling, ...change });
    this.#rate = r.rate;
    // Below the limit now: the next success probes upward at once (recovery counts Redis time, not calls).
    if (change.op === 'lower') this.#lastRaise = 0;
    return r;
  }
}
