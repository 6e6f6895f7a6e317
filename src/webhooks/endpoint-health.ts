/**
 * One endpoint's health as every process sees it, kept in its Redis hash (`webhookState`): when it last
 * answered, since when it has been failing, how many deliveries it took, and whether it is disabled. An
 * endpoint failing for `disableAfterMs` without a success is disabled once (HSETNX), its queue paused.
 * Successes are counted in memory and written at most once a second (or at once after a failure), so a busy
 * endpoint costs one write a second, not one per event; `close()` writes what is left.
 *
 * An outage is said twice, whatever the number of processes and deliveries: a warning by the process whose
 * failure starts the failing clock (HSETNX), and a line by the one whose success clears it (HDEL), with how long
 * it lasted and how many deliveries it sent to the retry schedule (counted in the same hash). A failure of an
 * attempt that started before this process's last success is stale (a slow answer from before the receiver
 * came back): it neither starts the clock nor says anything.
 */

import type { Logger } from '../logger.ts';
import type { OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';

/** The most recent success is written to the endpoint's state at most this often (unless it was failing). */
const SUCCESS_WRITE_MS = 1_000;
/** Whether the endpoint is disabled (its state, its paused queue) is read again at most this often. */
const DISABLED_CHECK_MS = 1_000;

/** What a failed attempt tells beyond its status. */
export interface FailureDetail {
  /** Why, as the outage's warning says it: `HTTP 503`, `ECONNREFUSED: connect ECONNREFUSED 10.0.0.7:443`. */
  why?: string;
  /** The delivery's first attempt, and it will be retried: counted once in the line said on recovery. */
  firstRetried?: boolean;
  /** Not retried (a 4xx refusal): the warning says so instead of "retrying". */
  final?: boolean;
  /** When the attempt started (ms): an attempt older than a success says nothing new. Default: now. */
  startedAt?: number;
}

/** What the delivery paths tell an endpoint's health, and ask it. */
export interface EndpointHealth {
  /** A 2xx answer to an attempt started at `startedAt`: counted, written at once after a failure seen here, else within a second. */
  succeeded(status: number, startedAt?: number): Promise<void>;
  /** A failed attempt (`status`: the HTTP status or the network error's code); may disable the endpoint. Never throws. */
  failed(status: string, detail?: FailureDetail): Promise<void>;
  /** Whether the endpoint is disabled: read from Redis at most once a second. */
  isDisabled(): Promise<boolean>;
  /** Writes the successes not yet written and stops the write timer. */
  close(): Promise<void>;
}

export function createEndpointHealth(options: {
  name: string;
  /** How the endpoint is named in the outage lines: its name and URL, without query string or credentials. */
  label?: string;
  connection: RedisClient;
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
  const label = options.label ?? name;

  /** A failure seen by this process since its last success was written: the next success is written at once. */
  let failing = false;
  async function recordFailure(status: string, detail: FailureDetail): Promise<void> {
    const now = Date.now();
    const tx = connection
      .multi()
      .hsetnx(stateKey, 'failingSince', String(now))
      .hget(stateKey, 'failingSince')
      .hset(stateKey, 'lastStatus', status, 'lastAt', String(now));
    if (detail.firstRetried) tx.hincrby(stateKey, 'retried', 1);
    const replies = await tx.exec();
    if (replies?.[0]?.[1] === 1) {
      const then = detail.final ? 'the delivery is refused, not retried' : 'retrying';
      logger.warn({ status }, `webhook endpoint ${label} is failing: ${detail.why ?? status}; ${then}`);
    }
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
    const replies = await connection
      .multi()
      .hmget(stateKey, 'failingSince', 'retried')
      .hdel(stateKey, 'failingSince', 'retried')
      .hset(stateKey, 'lastStatus', String(lastStatus), 'lastAt', String(successWrittenAt))
      .hincrby(stateKey, 'delivered', n)
      .exec()
      .catch((err: Error) => {
        unwritten += n;
        if (!options.outage?.error(err)) logger.warn({ err }, 'could not record webhook deliveries');
        return undefined;
      });
    const [since, retried] = (replies?.[0]?.[1] ?? []) as Array<string | null>;
    if (since) {
      const outageMs = Math.max(0, successWrittenAt - Number(since));
      const count = Number(retried ?? 0);
      logger.info(
        { outageMs, retried: count },
        `webhook endpoint ${label} is delivering again after ${spoken(outageMs)}, ${count} ${count === 1 ? 'delivery was' : 'deliveries were'} retried`,
      );
    }
  }

  let disabledCheckedAt = 0;
  let disabled = false;

  /** When the latest attempt that succeeded here started: failures of older attempts are stale. */
  let succeededFrom = 0;

  return {
    async succeeded(status, startedAt = Date.now()) {
      succeededFrom = Math.max(succeededFrom, startedAt);
      unwritten += 1;
      lastStatus = status;
      if (failing || Date.now() - successWrittenAt >= SUCCESS_WRITE_MS) {
        failing = false;
        await writeSuccesses();
        return;
      }
      flushTimer ??= setTimeout(() => void writeSuccesses(), SUCCESS_WRITE_MS);
    },
    async failed(status, detail = {}) {
      if ((detail.startedAt ?? Date.now()) < succeededFrom) return;
      failing = true;
      // Redis refusing the write (OOM, ...) does not change what the receiver answered.
      await recordFailure(status, detail).catch(
        (err: Error) => options.outage?.error(err) || logger.warn({ err }, 'could not record a failed webhook delivery'),
      );
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

/** A duration as the outage lines say it: `12.3 s`, `4 min`, `2.5 h`. */
function spoken(ms: number): string {
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
