/** The wrapper of adapt-rate.lua: owns its KEYS/ARGV order and its answer. */
import { pacedRateChangeKey } from '../redis.ts';
import { defineScript } from './define.ts';

/**
 * A 429 this soon after the last 429's lowering is the same signal (calls sent at the old rate, in flight in several
 * processes): it lowers the rate no further, so one burst of 429s is one step down.
 */
export const SETTLE_MS = 1000;

/** Why the paced rate was lowered: a 429, or the provider's RateLimit-Remaining / Reset. */
export type LoweredBecause = 'rate_limited' | 'remaining';

/** A move of the rate: lower it to `rate` (and why), or raise it by `increasePerSecond` for each second since it last moved. */
export type RateChange =
  | { op: 'lower'; rate: number; because: 'rate_limited' }
  | { op: 'lower'; rate: number; because: 'remaining'; remaining: number; resetMs: number }
  | { op: 'raise'; increasePerSecond: number };

export type AdaptRateInput = {
  /** The account's paced-rate key (invitebusKeys(prefix).pacedRate(account)); its record sits beside it. */
  rateKey: string;
  /** The configured limit, calls per second. */
  limit: number;
} & RateChange;

export interface AdaptRateResult {
  /** Whether this call moved the shared rate (and wrote the record). */
  moved: boolean;
  /** The account's paced rate now, calls per second. */
  rate: number;
  /** When it last moved (Redis time, epoch ms; 0 if never). */
  rateAt: number;
}

/** Lowers (only if lower than the shared rate) or raises (from the shared rate, by the time since it moved) an account's paced rate, recording why. */
export const adaptRate = defineScript<AdaptRateInput, AdaptRateResult>({
  file: 'adapt-rate',
  keys: 2,
  encode: (input) => {
    const keys = [input.rateKey, pacedRateChangeKey(input.rateKey)];
    if (input.op === 'raise') return { keys, args: ['raise', String(input.limit), String(input.increasePerSecond), '', '', '', ''] };
    const header = input.because === 'remaining' ? [String(input.remaining), String(Math.round(input.resetMs))] : ['', ''];
    return { keys, args: ['lower', String(input.limit), String(input.rate), input.because, ...header, String(SETTLE_MS)] };
  },
  decode: (reply) => {
    const [moved, rate, rateAt] = reply as [number, string, number];
    return { moved: moved === 1, rate: Number(rate), rateAt: Number(rateAt) };
  },
});
