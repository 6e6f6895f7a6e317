import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JITTER_MARGIN } from '../policies/adaptive-rate.ts';
import { ratePerSecond, UNLIMITED } from '../policies/limiter.ts';
import { AccountHeld, type HttpClient } from '../providers/http.ts';
import { scripts } from '../redis-scripts/index.ts';

/**
 * BullMQ's limiter count from which the key means a queue-wide hold: queue.rateLimit stores MAX_SAFE_INTEGER,
 * while the limiter every worker runs with (HOLDS_ONLY_LIMITER) never counts up to UNLIMITED in its window.
 */
const HOLD_COUNT = UNLIMITED;

/** Waits until the account may make its next provider call. */
export type CallGate = () => Promise<void>;

/**
 * An account's call gate, shared by every worker process through Redis (src/redis-scripts/pace-call.lua): with a
 * configured `rateLimit`, each call reserves its own slot, `margin / rate` after the previous one (the rate is
 * the pacer's adapted rate when lower), and waits for it; whatever the limit, no call starts while the account
 * is held. `onHold: 'wait'` sleeps a hold out (a call that carries several invites, Sutro); `'throw'` throws
 * AccountHeld so the job goes back to waiting (one invite per call: BullMQ then fetches nothing until the hold
 * ends). A caller that slept until its slot checks for a hold once more before it calls, so a 429 seen by
 * another process stops the calls already scheduled here, and starts only while the account's last `max` starts
 * span `durationMs`, so callers that woke late together (a GC pause, a Redis outage) do not start together.
 */
export function createCallGate(options: {
  redis: Redis;
  queue: Queue;
  prefix: string;
  rateLimit: { max: number; durationMs: number } | undefined;
  onHold: 'wait' | 'throw';
  sleep?: (ms: number) => Promise<void>;
  /** How late (ms) each call that waited for its slot started: the pacing margin covers 30 ms. */
  onLate?: (ms: number) => void;
}): CallGate {
  const { queue, rateLimit, onHold } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const paceCall = scripts(options.redis).paceCall;
  const rate = rateLimit === undefined ? '0' : String(ratePerSecond(rateLimit));
  const ask = async (mode: 'reserve' | 'check') => {
    const { result, ms } = await paceCall({
      prefix: options.prefix,
      queue,
      rate,
      holdCount: HOLD_COUNT,
      margin: JITTER_MARGIN,
      mode,
      max: rateLimit?.max ?? 0,
      durationMs: rateLimit?.durationMs ?? 0,
    });
    return { held: result === 'held', tooSoon: result === 'too_soon', ms };
  };
  const hold = async (ms: number) => {
    if (onHold === 'throw') throw new AccountHeld(ms);
    await sleep(ms);
  };
  return async () => {
    for (;;) {
      const slot = await ask('reserve');
      if (slot.held) {
        await hold(slot.ms);
        continue;
      }
      if (slot.ms <= 0) return;
      const due = Date.now() + slot.ms;
      await sleep(slot.ms);
      // Late callers (a GC pause, a Redis outage) never start together: no more than `max` starts per `durationMs`.
      let after = await ask('check');
      while (after.tooSoon) {
        await sleep(after.ms);
        after = await ask('check');
      }
      if (!after.held) {
        options.onLate?.(Math.max(0, Date.now() - due));
        return;
      }
      await hold(after.ms);
    }
  };
}

/** Every request of the account through its call gate: each call the provider sees counts against the limit. */
export function gated(http: HttpClient, gate: CallGate): HttpClient {
  return {
    async send(request) {
      await gate();
      return http.send(request);
    },
    close: () => http.close(),
  };
}
