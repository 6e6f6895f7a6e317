import { type BackendFactory, createRedisBackend, QueueKeys, type RedisQueueBackend } from 'bullmq';
import type { Logger } from '../logger.ts';
import { duplicateClient, type RedisClient } from '../redis-connection/factory.ts';
import { MAX_BLOCK_S } from '../redis-connection/liveness.ts';
import { scripts } from '../redis-scripts/index.ts';

/** What BullMQ's blocking wait answers: the marker's member and score (0: work now; else when a delayed job is due). */
export type Wake = { member: string; score: number } | null;

/**
 * A wake (a marker popped) is collected this long after the first, so a burst of markers is read in one round. A round
 * sends every account's marker key twice (BZPOPMIN, then pop-markers), ~40 bytes and ~1 µs of Redis each: at 10,000
 * accounts ~800 KB and ~15 ms of Redis per round, so the wait grows with the accounts (1 ms per 50) to keep busy
 * rounds to a few percent of Redis and of the process; markers set meanwhile wait at most that long.
 */
export function coalesceMs(accounts: number): number {
  return Math.min(250, Math.max(20, Math.ceil(accounts / 50)));
}

interface Waiter {
  resolve(wake: Wake): void;
  timer: NodeJS.Timeout;
  /** When the wait runs out (ms since the epoch): the account's next delayed job, or its idle time. */
  until: number;
}

/**
 * One blocking connection for every account queue of the process. A BullMQ worker waits for work with BZPOPMIN on
 * its queue's `marker` key, on a connection of its own (500 accounts: 500 blocking connections, each re-polling
 * every few seconds). Here one connection blocks on the markers of all the accounts at once (BZPOPMIN takes many
 * keys), and hands each popped marker to that account's BullMQ worker, which runs unchanged: its `waitForJob`
 * goes through the backend made by `backendFactory()`, whose wait is an in-memory promise answered from here.
 * An account without a running worker is announced to `onIdleWake` (the engine starts one).
 *
 * A marker popped while the account's worker was busy fetching is kept (pending) and answers its next wait, so no
 * wake is lost between a fetch that found nothing and the wait after it.
 */
export class MarkerWatch {
  readonly #client: RedisClient;
  readonly #logger: Logger;
  readonly #onIdleWake: (account: string, score: number) => void;
  readonly #onBlock: ((account: string, timeoutS: number) => void) | undefined;
  readonly #keysOf: QueueKeys;
  readonly #prefix: string;
  /** Marker keys, in the order BZPOPMIN gets them, their accounts in the same order, and the account of each key. */
  #keys: string[] = [];
  #accounts: readonly string[] = [];
  #accountOf = new Map<string, string>();
  readonly #waiters = new Map<string, Waiter>();
  readonly #pending = new Map<string, number>();
  /** Accounts whose BullMQ worker is running in this process (a wake goes to it, not to onIdleWake). */
  readonly #running = new Set<string>();
  #closed = false;
  #loop: Promise<void> | undefined;
  #keysChanged: (() => void) | undefined;

  constructor(options: {
    redis: RedisClient;
    prefix: string;
    logger: Logger;
    onIdleWake: (account: string, score: number) => void;
    /** A running account's worker found no work and waits (up to timeoutS): the engine may release it. */
    onBlock?: (account: string, timeoutS: number) => void;
  }) {
    // Named so CLIENT LIST shows what it is; a blocking connection never queues other commands behind BZPOPMIN.
    this.#client = duplicateClient(options.redis, { connectionName: `${options.prefix}:invitebus:wake`, maxRetriesPerRequest: null });
    this.#logger = options.logger;
    this.#onIdleWake = options.onIdleWake;
    this.#onBlock = options.onBlock;
    this.#keysOf = new QueueKeys(options.prefix);
    this.#prefix = options.prefix;
  }

  /** The connection it blocks on (the engine watches it for outages). */
  get client(): RedisClient {
    return this.#client;
  }

  /** The accounts watched: all the configured ones (cheap to change: the key list is rebuilt, the wait re-armed). */
  setAccounts(accounts: readonly string[]): void {
    this.#accounts = [...accounts];
    this.#keys = accounts.map((a) => this.#keysOf.toKey(a, 'marker'));
    this.#accountOf = new Map(accounts.map((a, i) => [this.#keys[i] as string, a]));
    // The BZPOPMIN in flight has the old keys: it returns within MAX_BLOCK_S and the next one has the new.
    this.#keysChanged?.();
  }

  /** Starts the blocking loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#keys.length === 0) {
        await new Promise<void>((resolve) => {
          this.#keysChanged = resolve;
        });
        this.#keysChanged = undefined;
        continue;
      }
      const keys = this.#keys;
      const accounts = this.#accounts;
      try {
        const popped = await this.#client.bzpopmin(...keys, MAX_BLOCK_S);
        if (popped === null || this.#closed) continue;
        this.#deliver(popped[0], Number(popped[2]));
        // More markers are likely set in the same burst (an enqueue across accounts): collect them in one round,
        // not one BZPOPMIN (with every key) each.
        await new Promise((resolve) => setTimeout(resolve, coalesceMs(keys.length)));
        if (this.#closed) break;
        // One script round (about 1 ms per 1,000 accounts in Redis), only after a wake: never while idle.
        for (const { position, score } of await scripts(this.#client).popMarkers({ prefix: this.#prefix, accounts })) {
          this.#deliver(keys[position] as string, score);
        }
      } catch (err) {
        if (this.#closed) break;
        this.#logger.debug({ err }, 'marker wait failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  #deliver(key: string, score: number): void {
    const account = this.#accountOf.get(key);
    if (account === undefined) return;
    const waiter = this.#waiters.get(account);
    if (waiter !== undefined) {
      this.#waiters.delete(account);
      clearTimeout(waiter.timer);
      waiter.resolve({ member: '0', score });
      return;
    }
    const before = this.#pending.get(account);
    this.#pending.set(account, before === undefined ? score : Math.min(before, score));
    if (!this.#running.has(account)) this.#onIdleWake(account, score);
  }

  /** The account's BullMQ worker runs here from now on (wakes go to its waits) or no longer. */
  setRunning(account: string, running: boolean): void {
    if (running) this.#running.add(account);
    else {
      this.#running.delete(account);
      this.interrupt(account);
    }
  }

  /**
   * The account's worker waits for work (BullMQ's `waitForJob`, `timeoutS` from its drain delay or its next
   * delayed job). `onTimeout` learns whether the wait ran out (an idle account).
   */
  wait(account: string, timeoutS: number, onTimeout: () => void): Promise<Wake> {
    const pending = this.#pending.get(account);
    if (pending !== undefined) {
      this.#pending.delete(account);
      return Promise.resolve({ member: '0', score: pending });
    }
    this.interrupt(account);
    return new Promise<Wake>((resolve) => {
      const timer = setTimeout(
        () => {
          this.#waiters.delete(account);
          resolve(null);
          onTimeout();
        },
        Math.max(1, timeoutS * 1000),
      );
      this.#waiters.set(account, { resolve, timer, until: Date.now() + timeoutS * 1000 });
      // Said once the wait is in place, so a release from here ends it (interrupt) instead of missing it.
      this.#onBlock?.(account, timeoutS);
    });
  }

  /** The wake kept for the account (a marker popped while its worker was busy), if any: its score. */
  pendingWake(account: string): number | undefined {
    return this.#pending.get(account);
  }

  /** When the wait of the account's worker runs out (ms since the epoch), if it waits for work now (nothing to fetch). */
  waitingUntil(account: string): number | undefined {
    return this.#waiters.get(account)?.until;
  }

  /** Ends the account's wait now (closing, pausing): BullMQ's worker then sees it is closing. */
  interrupt(account: string): void {
    const waiter = this.#waiters.get(account);
    if (waiter === undefined) return;
    this.#waiters.delete(account);
    clearTimeout(waiter.timer);
    waiter.resolve(null);
  }

  /**
   * A BullMQ backend factory for the account workers: BullMQ's own Redis backend on the shared connection (no
   * connection of its own, no dedicated blocking connection), whose blocking wait is this watch's.
   */
  backendFactory(options: { onIdle: (account: string) => void; idleS: number }): BackendFactory<RedisQueueBackend> {
    return (name, opts, flags) => {
      const backend = createRedisBackend(name, opts, { ...flags, withBlockingConnection: false, blocking: false });
      const watch = this;
      Object.defineProperties(backend, {
        // An idle wait lasts the worker's drain delay (the idle time after which the account's machinery is released).
        maximumBlockTimeout: { value: options.idleS },
        waitForJob: {
          value: (blockTimeout: number) =>
            watch.wait(name, blockTimeout, () => {
              if (blockTimeout >= options.idleS) options.onIdle(name);
            }),
        },
        disconnectBlocking: { value: async () => watch.interrupt(name) },
        reconnectBlocking: { value: async () => undefined },
      });
      return backend;
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#keysChanged?.();
    for (const account of [...this.#waiters.keys()]) this.interrupt(account);
    this.#client.disconnect();
    await this.#loop?.catch(() => undefined);
  }
}
