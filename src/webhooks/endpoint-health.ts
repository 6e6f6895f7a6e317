/**
 * One endpoint's health as every process sees it, kept in its Redis hash (`webhookState`): when it last
 * answered, since when it has been failing, how many deliveries it took, and whether it is disabled. An
 * endpoint failing for `disableAfterMs` without a success is disabled once (HSETNX), its queue paused.
 * Successes are counted in memory and written at most once a second (or at once after a failure), so a busy
 * endpoint costs one write a second, not one per event; `close()` writes what is left.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.ts';
import type { OutageReporter } from '../redis.ts';

/** The most recent success is written to the endpoint's state at most this often (unless it was failing). */
const SUCCESS_WRITE_MS = 1_000;
/** Whether the endpoint is disabled (its state, its paused queue) is read again at most this often. */
const DISABLED_CHECK_MS = 1_000;

/** What the delivery paths tell an endpoint's health, and ask it. */
export interface EndpointHealth {
  /** A 2xx answer: counted, written at once after a failure seen here, else within a second. */
  succeeded(status: number): Promise<void>;
  /** A failed attempt (`status`: the HTTP status or the network error's code); may disable the endpoint. Never throws. */
  failed(status: string): Promise<void>;
  /** Whether the endpoint is disabled: read from Redis at most once a second. */
  isDisabled(): Promise<boolean>;
  /** Writes the successes not yet written and stops the write timer. */
  close(): Promise<void>;
}

export function createEndpointHealth(options: {
  name: string;
  connection: Redis;
  /** The endpoint's state hash. */
  stateKey: string;
  disableAfterMs: number;
  /** The endpoint's queue: paused when it is disabled, its pause read as disabled. */
  queue: { pause(): Promise<void>; isPaused(): Promise<boolean> };
  logger: Logger;
  outage?: OutageReporter;
  /** Called by the one process that disables the endpoint, to publish `webhook.disabled`. */
  onDisabled: (name: string, since: number, message: string) => Promise<void>;
}): EndpointHealth {
  const { name, connection, stateKey, queue, logger } = options;

  /** A failure seen by this process since its last success was written: the next success is written at once. */
  let failing = false;
  async function recordFailure(status: string): Promise<void> {
    const now = Date.now();
    const replies = await connection
      .multi()
      .hsetnx(stateKey, 'failingSince', String(now))
      .hget(stateKey, 'failingSince')
      .hset(stateKey, 'lastStatus', status, 'lastAt', String(now))
      .exec();
    const failingSince = Number(replies?.[1]?.[1] ?? now);
    if (now - failingSince < options.disableAfterMs) return;
    // One process disables it (HSETNX), the others see it is done.
    if ((await connection.hsetnx(stateKey, 'disabled', String(now))) !== 1) return;
    await queue.pause();
    const message = `no successful delivery since ${new Date(failingSince).toISOString()} (last: ${status}); deliveries wait until 'invitebus webhooks enable ${name}'`;
    logger.error({ failingSince }, `webhook ${name} disabled: ${message}`);
    await options.onDisabled(name, failingSince, message);
  }

  let successWrittenAt = 0;
  let unwritten = 0;
  let lastStatus = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  /** Writes the successes since the last write: the count, the last status, the failing clock cleared. */
  async function writeSuccesses(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (unwritten === 0) return;
    const n = unwritten;
    unwritten = 0;
    successWrittenAt = Date.now();
    await connection
      .multi()
      .hdel(stateKey, 'failingSince')
      .hset(stateKey, 'lastStatus', String(lastStatus), 'lastAt', String(successWrittenAt))
      .hincrby(stateKey, 'delivered', n)
      .exec()
      .catch((err: Error) => {
        unwritten += n;
        if (!options.outage?.error(err)) logger.warn({ err }, 'could not record webhook deliveries');
      });
  }

  let disabledCheckedAt = 0;
  let disabled = false;

  return {
    async succeeded(status) {
      unwritten += 1;
      lastStatus = status;
      if (failing || Date.now() - successWrittenAt >= SUCCESS_WRITE_MS) {
        failing = false;
        await writeSuccesses();
        return;
      }
      flushTimer ??= setTimeout(() => void writeSuccesses(), SUCCESS_WRITE_MS);
    },
    async failed(status) {
      failing = true;
      // Redis refusing the write (OOM, ...) does not change what the receiver answered.
      await recordFailure(status).catch((err: Error) => options.outage?.error(err) || logger.warn({ err }, 'could not record a failed webhook delivery'));
    },
    async isDisabled() {
      if (Date.now() - disabledCheckedAt >= DISABLED_CHECK_MS) {
        disabledCheckedAt = Date.now();
        disabled = (await connection.hexists(stateKey, 'disabled')) === 1 || (await queue.isPaused());
      }
      return disabled;
    },
    close: writeSuccesses,
  };
}
