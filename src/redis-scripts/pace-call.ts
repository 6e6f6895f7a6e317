/** The wrapper of pace-call.lua: owns its KEYS/ARGV order and its result codes. */
import type { Queue } from 'bullmq';
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** pace-call's first answer: what the caller does next. */
export const PACE_RESULT = { 0: 'go', 1: 'held', 2: 'too_soon' } as const;
export type PaceResult = (typeof PACE_RESULT)[keyof typeof PACE_RESULT];

export interface PaceCallInput {
  prefix: string;
  /** The account's queue (its name is the account). */
  queue: Queue;
  /** Configured calls per second ('0' or 0: not paced, holds only). */
  rate: number | string;
  /** The limiter count from which BullMQ's limiter key means a hold. */
  holdCount: number;
  /** Slots are `margin / rate` apart (e.g. 1.03). */
  margin: number;
  /** 'reserve' a slot, or 'check' after sleeping until it. */
  mode: 'reserve' | 'check';
  /** The configured `max` calls per `durationMs`. */
  max: number;
  durationMs: number;
}

/**
 * Reserves an account's next call: 'go' with ms 0 starts now, 'go' with ms > 0 sleeps ms then 'check's;
 * 'held' the account is held ms more; 'too_soon' `max` calls started within `durationMs`, check again in ms.
 */
export const paceCall = defineScript<PaceCallInput, { result: PaceResult; ms: number }>({
  file: 'pace-call',
  keys: 4,
  encode: ({ prefix, queue, rate, holdCount, margin, mode, max, durationMs }) => {
    const k = invitebusKeys(prefix);
    return {
      keys: [k.callSlot(queue.name), queue.keys.limiter as string, k.pacedRate(queue.name), k.callStarted(queue.name)],
      args: [String(rate), String(holdCount), String(margin), mode, String(max), String(durationMs)],
    };
  },
  decode: (reply) => {
    const [code, ms] = reply as [number, number];
    const result = PACE_RESULT[code as keyof typeof PACE_RESULT];
    if (result === undefined) throw new Error(`pace-call answered ${String(code)}`);
    return { result, ms: Number(ms) };
  },
});
