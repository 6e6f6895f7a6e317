import type { Queue } from 'bullmq';
import { marginOf } from '../policies/adaptive-rate.ts';
import { ratePerSecond, UNLIMITED } from '../policies/limiter.ts';
import { AccountHeld, type HttpClient } from '../providers/http.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { scripts } from '../redis-scripts/index.ts';

/**
 * BullMQ's limiter count from which the key means a queue-wide hold: queue.rateLimit stores MAX_SAFE_INTEGER,
 * while the limiter every worker runs with (HOLDS_ONLY_LIMITER) never counts up to UNLIMITED in its window.
 */
const HOLD_COUNT = UNLIMITED;

/**
 * Waits until the account may make its next provider call; resolves with what to call once the call's request
 * is written to its socket (`sent`): the start is then recorded at that time, so a call that stalled between its
 * slot and the wire pushes the later calls back.
 */
export type CallGate = () => Promise<{ sent: () => void }>;

/**
 * How an account gives its worker slot back while other accounts wait for one (src/worker/account-engine.ts):
 * a call whose slot (or hold) is further than `farMs` gives it back (if `mayYield()`); `onYield(ms)` releases the
 * account's worker and brings the account back a little before then. The call then throws AccountHeld with
 * that time: its job waits (delayed) until then without spending an attempt.
 */
export interface SlotYield {
  /** A wait from which the slot is given back while others wait; one such wait at a time per account worker. */
  farMs: number;
  /** The account may give its slot back now (not while it recovers a crashed process's jobs). */
  mayYield(): boolean;
  /** Releases the account's worker; returns when (ms since the epoch) the account runs again. */
  onYield(ms: number): number;
  /**
   * A call completed and the account's next slot is `ms` away (further than `farMs`): its worker is released before
   * it fetches a job only to move it back to delayed; the account comes back then if its queue still has work.
   */
  onDone?(ms: number): void;
}

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
  redis: RedisClient;
  queue: Queue;
  prefix: string;
  rateLimit: { max: number; durationMs: number } | undefined;
  onHold: 'wait' | 'throw';
  sleep?: (ms: number) => Promise<void>;
  /** How late (ms) each call that waited for its slot started: a start is recorded again when its request is written. */
  onLate?: (ms: number) => void;
  /** `onHold: 'throw'` only: a hold, or a slot further than `farMs`, gives the account's worker slot back. */
  yieldSlot?: SlotYield;
}): CallGate {
  const { queue, rateLimit, onHold } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const paceCall = scripts(options.redis).paceCall;
  const rate = rateLimit === undefined ? '0' : String(ratePerSecond(rateLimit));
  const base = {
    prefix: options.prefix,
    queue,
    rate,
    holdCount: HOLD_COUNT,
    margin: marginOf(rateLimit),
    max: rateLimit?.max ?? 0,
    durationMs: rateLimit?.durationMs ?? 0,
  };
  const yieldSlot = onHold === 'throw' ? options.yieldSlot : undefined;
  // One far slot reserved at a time: calls behind it ask after it started, so a line of accounts that forms while it
  // waits (contention) finds this worker's later calls unreserved and gets its slot back after one wait, not many.
  let farWait: Promise<void> | undefined;
  const ask = async (mode: 'reserve' | 'check') => {
    if (mode === 'reserve') while (farWait !== undefined) await farWait;
    const farMs = mode === 'reserve' && yieldSlot?.mayYield() ? yieldSlot.farMs : undefined;
    const { result, ms, start } = await paceCall({ ...base, mode, ...(farMs === undefined ? {} : { farMs }) });
    if (result === 'far') {
      // Nothing reserved: the account comes back when its slot is near, and its worker slot serves another now.
      throw new AccountHeld(ms, yieldSlot?.onYield(ms));
    }
    return { held: result === 'held', tooSoon: result === 'too_soon', ms, start };
  };
  /** Records the start at the time the request was written (Redis time: never earlier than now). */
  const sentOf = (start: string | undefined) => () => {
    if (start === undefined) return;
    paceCall({ ...base, mode: 'sent', start }).catch(() => undefined); // lost with Redis: the slot's time stays
  };
  const noStart = { sent: () => undefined };
  const hold = async (ms: number) => {
    if (onHold === 'throw') {
      // Held for long while others wait for a worker slot: the account comes back when the hold ends.
      const backAt = yieldSlot?.mayYield() && ms > yieldSlot.farMs ? yieldSlot.onYield(ms) : undefined;
      throw new AccountHeld(ms, backAt);
    }
    await sleep(ms);
  };
  return async () => {
    for (;;) {
      const slot = await ask('reserve');
      if (slot.held) {
        await hold(slot.ms);
        continue;
      }
      if (slot.ms <= 0) return slot.start === undefined ? noStart : { sent: sentOf(slot.start) };
      const due = Date.now() + slot.ms;
      if (yieldSlot !== undefined && slot.ms > yieldSlot.farMs) {
        const waited = sleep(slot.ms);
        farWait = waited;
        await waited;
        farWait = undefined;
      } else await sleep(slot.ms);
      // Late callers (a GC pause, a Redis outage) never start together: no more than `max` starts per `durationMs`.
      let after = await ask('check');
      while (after.tooSoon) {
        await sleep(after.ms);
        after = await ask('check');
      }
      if (!after.held) {
        options.onLate?.(Math.max(0, Date.now() - due));
        return { sent: sentOf(after.start) };
      }
      await hold(after.ms);
    }
  };
}

/** Every request of the account through its call gate: each call the provider sees counts against the limit. */
export function gated(http: HttpClient, gate: CallGate): HttpClient {
  return {
    async send(request) {
      const start = await gate();
      return http.send(request, { onWritten: start.sent });
    },
    close: () => http.close(),
  };
}

/** A slot not followed by a request within this long is not paired with a later one. */
const SLOT_PAIRING_MS = 1_000;

/**
 * For sessions that take the call slot themselves and send after it (Sutro: invites keep joining a call while it
 * waits for its slot): `callSlot` waits for the slot, and the next request sent through `http` records its start
 * when written. Slots and requests pair in order; a slot taken for a call that was then not sent (every invite of
 * it settled meanwhile) pairs with nothing once it is a second old, and its start stays at its slot's time.
 */
export function slotThenSend(http: HttpClient, gate: CallGate): { callSlot: () => Promise<void>; http: HttpClient } {
  const taken: { at: number; sent: () => void }[] = [];
  return {
    async callSlot() {
      const start = await gate();
      taken.push({ at: Date.now(), sent: start.sent });
    },
    http: {
      send(request) {
        while (taken.length > 0 && Date.now() - (taken[0]?.at ?? 0) > SLOT_PAIRING_MS) taken.shift();
        const start = taken.shift();
        return http.send(request, start === undefined ? {} : { onWritten: start.sent });
      },
      close: () => http.close(),
    },
  };
}
