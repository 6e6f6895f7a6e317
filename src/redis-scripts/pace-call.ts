/** The wrapper of pace-call.lua: owns its KEYS/ARGV order and its result codes. */
import type { Queue } from 'bullmq';
import { invitebusKeys } from '../redis.ts';
import { defineScript } from './define.ts';

/** pace-call's first answer: what the caller does next. */
export const PACE_RESULT = { 0: 'go', 1: 'held', 2: 'too_soon', 3: 'far' } as const;
export type PaceResult = (typeof PACE_RESULT)[keyof typeof PACE_RESULT];

export interface PaceCallInput {
  prefix: string;
  /** The account's queue (its name is the account). */
  queue: Queue;
  /** Configured calls per second ('0' or 0: not paced, holds only). */
  rate: number | string;
  /** The limiter count from which BullMQ's limiter key means a hold. */
  holdCount: number;
  /** Slots are `margin / rate` apart (e.g. 1.05). */
  margin: number;
  /** 'reserve' a slot, 'check' after sleeping until it, or say the started call was 'sent' (its request written). */
  mode: 'reserve' | 'check' | 'sent';
  /** The configured `max` calls per `durationMs`. */
  max: number;
  durationMs: number;
  /** 'sent': the start as the script answered it. */
  start?: string;
  /** 'reserve': a slot further away than this (ms) is not reserved ('far'); absent or 0: always reserve. */
  farMs?: number;
}

/**
 * Reserves an account's next call: 'go' with ms 0 starts now (`start`: the start recorded, to say 'sent' with once
 * the request is written), 'go' with ms > 0 sleeps ms then 'check's; 'held' the account is held ms more;
 * 'too_soon' `max` calls started within `durationMs`, check again in ms; 'far' the next slot is ms away, beyond
 * `farMs`: nothing reserved.
 */
export const paceCall = defineScript<PaceCallInput, { result: PaceResult; ms: number; start?: string }>({
  file: 'pace-call',
  keys: 4,
  encode: ({ prefix, queue, rate, holdCount, margin, mode, max, durationMs, start, farMs }) => {
    const k = invitebusKeys(prefix);
    return {
      keys: [k.callSlot(queue.name), queue.keys.limiter as string, k.pacedRate(queue.name), k.callStarts(queue.name)],
      args: [String(rate), String(holdCount), String(margin), mode, String(max), String(durationMs), start ?? '', String(farMs ?? 0)],
    };
  },
  decode: (reply) => {
    const [code, ms, start] = reply as [number, number, string | undefined];
    const result = PACE_RESULT[code as keyof typeof PACE_RESULT];
    if (result === undefined) throw new Error(`pace-call answered ${String(code)}`);
    return { result, ms: Number(ms), ...(start === undefined ? {} : { start: String(start) }) };
  },
});
