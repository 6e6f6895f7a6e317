import { getHeapStatistics } from 'node:v8';
import type { AccountConfig, Config } from '../config/load.ts';
import type { EventStream } from '../events/stream.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { adapterOf } from '../providers/index.ts';
import { invitebusKeys, type OutageReporter } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { scripts } from '../redis-scripts/index.ts';
import { type AccountWorker, startAccountWorker } from './account-worker.ts';
import { HttpPool } from './http-pool.ts';
import { MarkerWatch } from './marker-watch.ts';

/** Queues looked at per queues-with-work call (5 keys each). */
const SWEEP_BATCH = 200;
/** Queues per second the slow sweep looks at (5 Redis reads each): a bound on idle load at any number of accounts. */
const SLOW_SWEEP_PER_S = 2;

/** An account that gave its slot back until its next call comes back this long (ms) before the call. */
const BACK_EARLY_MS = 20;
/** The jobs of an account that gave its slot back are due this long (ms) before it runs again. */
const JOB_DUE_EARLY_MS = 50;
/** Weight of a new call's duration in an account's running average. */
const CALL_MS_WEIGHT = 0.2;
/** How often (ms) the engine looks for a slot to free while accounts wait for one. */
const ROTATE_TICK_MS = 200;

/**
 * Accounts' workers alive at once by default: 1 per MB of V8's heap limit (152 at the shipped 128 MB cap). A live
 * worker costs ~24 KB idle, and each of its calls in flight (4 by default) holds an HTTP request and its job: 608
 * workers (4 per MB) still ran out of heap with 10,000 accounts at work.
 */
export function defaultMaxWorkers(heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  return Math.max(16, Math.floor(heapLimitBytes / 2 ** 20));
}

/** Tuning of the engine; defaults follow the config's worker section. */
export interface EngineOptions {
  /** Accounts' workers alive at once (default worker.maxAccountWorkers, else defaultMaxWorkers()). */
  maxWorkers?: number;
  /** While accounts wait for a worker slot, one whose next call (or hold) is further than this (ms) gives its slot back (default 1,000). */
  farMs?: number;
  /** While accounts wait longer than this (ms) for a slot, the worker alive longest gives its slot back (default 2,000). */
  quantumMs?: number;
  /** An account's BullMQ worker idle this long (ms) is released (default lockDurationMs + 2 × stalledIntervalMs: long enough for its
   * stalled check to give back a crashed process's jobs). */
  idleMs?: number;
  /** How often (ms) accounts that had work recently, in any process, are looked at (default stalledIntervalMs). */
  recentSweepMs?: number;
}

/**
 * Serves any number of accounts from one process with a fixed set of Redis connections (docs/operations.md,
 * "Many accounts in one worker"). Each account keeps its BullMQ queue and, while it has work, a BullMQ worker of
 * its own (its limiter holds, pauses, retries, locks, stalled check and the call gate unchanged), built lazily and
 * released once idle. The workers share the process's command connection and one blocking wait (MarkerWatch), so
 * connections and idle Redis load do not grow with the accounts.
 *
 * Work is found three ways: a marker popped by the shared wait (jobs added, retries due, a queue resumed); at
 * start and for accounts added at runtime, a look at their queues (queues-with-work); and for stalled jobs of a
 * crashed process, the index of accounts that had work recently (zset `recentWork`, written by whichever process
 * ran them), looked at every `recentSweepMs`, plus a slow sweep of every account (SLOW_SWEEP_PER_S).
 */
export class AccountEngine {
  #config: Config;
  readonly #redis: RedisClient;
  readonly #events: EventStream;
  readonly #logger: Logger;
  readonly #metrics: Metrics | undefined;
  readonly #outage: OutageReporter | undefined;
  readonly #checkBatchLater: ((batchId: string, liveForMs: number) => Promise<void>) | undefined;
  readonly #accounts = new Map<string, { account: AccountConfig; credentials: Record<string, string> }>();
  readonly #running = new Map<string, AccountWorker>();
  readonly #closing = new Set<Promise<boolean>>();
  /** Accounts with work waiting for a worker slot, in arrival order (value: since when). */
  readonly #ready = new Map<string, number>();
  /** When each running worker took its slot. */
  readonly #since = new Map<string, number>();
  /** Accounts that gave their slot back until a far call slot or a hold's end (ms since the epoch). */
  readonly #backAt = new Map<string, number>();
  /** Accounts started to recover a crashed process's active jobs: never rotated out before their stalled check ran twice. */
  readonly #pinned = new Map<string, number>();
  /** Accounts to pin (for how long, ms) once their worker starts (they may wait in line first). */
  readonly #pinOnStart = new Map<string, number>();
  readonly #http = new HttpPool();
  /** Each account's calls' average duration (ms), kept across its worker's starts (it sizes a paced account's jobs at once). */
  readonly #callMs = new Map<string, number>();
  /** Accounts whose worker started at least once in this process (their queue's meta is written). */
  readonly #startedOnce = new Set<string>();
  readonly #maxWorkers: number;
  readonly #farMs: number;
  readonly #quantumMs: number;
  #rotateTimer: NodeJS.Timeout | undefined;
  /** When a worker last gave its slot back (the line of waiting accounts moved). */
  #lastFreed = 0;
  readonly #delayed = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  readonly #watch: MarkerWatch;
  readonly #idleMs: number;
  readonly #recentSweepMs: number;
  readonly #recentKey: string;
  readonly #lastRecorded = new Map<string, number>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #slowCursor = 0;
  #slowDue = 0;
  #closed = false;

  constructor(options: {
    config: Config;
    redis: RedisClient;
    events: EventStream;
    logger: Logger;
    metrics?: Metrics;
    outage?: OutageReporter;
    checkBatchLater?: (batchId: string, liveForMs: number) => Promise<void>;
    engine?: EngineOptions;
  }) {
    this.#config = options.config;
    this.#redis = options.redis;
    this.#events = options.events;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#outage = options.outage;
    this.#checkBatchLater = options.checkBatchLater;
    const w = options.config.worker;
    this.#idleMs = options.engine?.idleMs ?? w.lockDurationMs + 2 * w.stalledIntervalMs;
    this.#recentSweepMs = options.engine?.recentSweepMs ?? w.stalledIntervalMs;
    this.#recentKey = invitebusKeys(options.config.redis.prefix).recentWork;
    this.#maxWorkers = options.engine?.maxWorkers ?? w.maxAccountWorkers ?? defaultMaxWorkers();
    this.#farMs = options.engine?.farMs ?? 1_000;
    this.#quantumMs = options.engine?.quantumMs ?? 2_000;
    this.#watch = new MarkerWatch({
      redis: options.redis,
      prefix: options.config.redis.prefix,
      logger: options.logger,
      onIdleWake: (account, score) => this.#wake(account, score),
      onBlock: (account, timeoutS) => this.#blocked(account, timeoutS),
    });
    this.#outage?.watch(this.#watch.client);
  }

  /** Starts serving `accounts`: looks at their queues once, then waits for work. */
  async start(accounts: ReadonlyArray<{ account: AccountConfig; credentials: Record<string, string> }>): Promise<void> {
    for (const a of accounts) this.#accounts.set(a.account.name, a);
    this.#watch.setAccounts([...this.#accounts.keys()]);
    this.#watch.start();
    // Like a BullMQ worker's waitUntilReady: Redis not answering yet (down, or refusing a password being fixed) is
    // waited out, said once by the outage reporter; never a rejected start that carries the refused command.
    for (;;) {
      try {
        await this.#look([...this.#accounts.keys()]);
        break;
      } catch (err) {
        if (this.#closed) return;
        this.#logger.debug({ err }, 'looking at the queues at start failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
    // Profiles' fields that only the live provider can check (Stellas role names) are checked now, as the docs
    // promise, idle account or not: those accounts' workers start (and are released once idle like any other).
    for (const name of this.#accounts.keys()) if (this.#verifiesAtStart(name)) this.#start(name);
    this.#sweepTimer = setTimeout(() => this.#sweep(), this.#recentSweepMs);
  }

  /** The accounts served (configured), by name. */
  get accounts(): string[] {
    return [...this.#accounts.keys()];
  }

  /** The accounts' BullMQ workers running now (accounts with work, or had it within idleMs). */
  get running(): AccountWorker[] {
    return [...this.#running.values()];
  }

  /** The bound on accounts' workers alive at once (running and closing), and how many accounts wait for a slot. */
  get slots(): { max: number; alive: number; waiting: number } {
    return { max: this.#maxWorkers, alive: this.#alive(), waiting: this.#ready.size };
  }

  /** Serves one more account (runtime change): no machinery until it has work. */
  async addAccount(account: AccountConfig, credentials: Record<string, string>): Promise<void> {
    this.#accounts.set(account.name, { account, credentials });
    this.#watch.setAccounts([...this.#accounts.keys()]);
    await this.#look([account.name]);
  }

  /**
   * A reloaded config (src/worker/run.ts `reload`): workers started from now on take it (profiles, defaults). Only
   * what applies without a restart differs (src/config/diff.ts); accounts change through add/remove/updateAccount.
   */
  useConfig(config: Config): void {
    this.#config = config;
    // Queue settings kept in each queue's meta (the events cap) are written again at each account's next start.
    this.#startedOnce.clear();
  }

  /** Stops serving an account: its in-flight calls finish (up to the deadline); its jobs stay queued. */
  async removeAccount(name: string, deadlineMs = this.#config.worker.shutdownTimeoutMs): Promise<boolean> {
    this.#accounts.delete(name);
    this.#callMs.delete(name);
    this.#startedOnce.delete(name);
    this.#watch.setAccounts([...this.#accounts.keys()]);
    clearTimeout(this.#delayed.get(name)?.timer);
    this.#delayed.delete(name);
    this.#ready.delete(name);
    this.#backAt.delete(name);
    this.#pinOnStart.delete(name);
    return this.#release(name, deadlineMs);
  }

  /** Changes an account's settings (limits, concurrency): its worker, if running, is replaced after its calls finish. */
  async updateAccount(account: AccountConfig, credentials: Record<string, string>): Promise<void> {
    this.#accounts.set(account.name, { account, credentials });
    // The queue's meta is written again at the account's next start.
    this.#startedOnce.delete(account.name);
    if (this.#running.has(account.name)) {
      await this.#release(account.name, this.#config.worker.shutdownTimeoutMs);
      await this.#look([account.name]);
    }
  }

  /** The account's BullMQ worker, started now if it is not running (tests, tools). */
  async run(name: string): Promise<AccountWorker> {
    const worker = this.#start(name, { force: true });
    if (worker === undefined) throw new Error(`account '${name}' is not served by this process`);
    await worker.ready;
    return worker;
  }

  /** Whether a profile names the account and its provider checks profile fields against the live provider. */
  #verifiesAtStart(name: string): boolean {
    const entry = this.#accounts.get(name);
    if (entry === undefined || adapterOf(entry.account.provider).verifiesFields !== true) return false;
    return Object.values(this.#config.profiles).some((byAccount) => Object.hasOwn(byAccount, name));
  }

  #alive(): number {
    return this.#running.size + this.#closing.size;
  }

  /**
   * Starts the account's worker if a slot is free; else the account waits in the FIFO for one (#pump). An account
   * that gave its slot back until a time (a far call slot, a hold) comes back then, not before. `force`: no bound
   * (engine.run for tests and tools); `pinMs`: not rotated out for that long (recovery of a crashed process's jobs).
   */
  #start(name: string, options: { force?: boolean; turn?: boolean; pinMs?: number } = {}): AccountWorker | undefined {
    const existing = this.#running.get(name);
    if (existing !== undefined || this.#closed) return existing;
    const entry = this.#accounts.get(name);
    if (entry === undefined) return undefined;
    const backAt = this.#backAt.get(name);
    if (backAt !== undefined && !options.force) {
      if (backAt > Date.now()) {
        this.#later(name, backAt);
        return undefined;
      }
      this.#backAt.delete(name);
    }
    if (options.pinMs !== undefined) this.#pinOnStart.set(name, options.pinMs);
    // Arrival order: an account never takes a free slot ahead of those already waiting (#pump gives them their turn).
    if (!options.force && (this.#alive() >= this.#maxWorkers || (!options.turn && this.#ready.size > 0))) {
      if (!this.#ready.has(name)) this.#ready.set(name, Date.now());
      this.#makeRoom();
      return undefined;
    }
    this.#ready.delete(name);
    const pinMs = this.#pinOnStart.get(name);
    this.#pinOnStart.delete(name);
    if (pinMs !== undefined) this.#pinned.set(name, Date.now() + pinMs);
    clearTimeout(this.#delayed.get(name)?.timer);
    this.#delayed.delete(name);
    const worker = startAccountWorker({
      config: this.#config,
      account: entry.account,
      credentials: entry.credentials,
      connection: this.#redis,
      events: this.#events,
      logger: this.#logger,
      ...(this.#outage ? { outage: this.#outage } : {}),
      ...(this.#checkBatchLater ? { checkBatchLater: this.#checkBatchLater } : {}),
      ...(this.#metrics ? { metrics: this.#metrics } : {}),
      shared: {
        backendFactory: this.#watch.backendFactory({ idleS: this.#idleMs / 1000, onIdle: (account) => this.#idle(account) }),
        drainDelayS: this.#idleMs / 1000,
        http: this.#http,
        firstStart: !this.#startedOnce.has(name),
        callMs: {
          average: () => this.#callMs.get(name),
          observe: (ms) => {
            const before = this.#callMs.get(name);
            const average = before === undefined ? ms : before + CALL_MS_WEIGHT * (ms - before);
            this.#callMs.set(name, average);
            return average;
          },
        },
        yieldSlot: {
          farMs: this.#farMs,
          // Always, not only while others wait: a worker asleep for a far slot when a line forms would hold its
          // slot that long (10,000 accounts at 1 call / 40 s: 40 s each, ~40 invites/s for the process).
          mayYield: () => !this.#isPinned(name),
          onYield: (ms) => this.#yield(name, ms),
          // A completed call whose next slot is far: the same release as a far slot's (its worker, closing, completes
          // without fetching; the account comes back just before the slot, and finds nothing after its last invite).
          onDone: (ms) => void this.#yield(name, ms),
        },
      },
    });
    this.#running.set(name, worker);
    this.#startedOnce.add(name);
    this.#since.set(name, Date.now());
    this.#watch.setRunning(name, true);
    this.#recordWork(name);
    worker.worker.on('active', () => this.#recordWork(name));
    worker.ready.catch((err: unknown) => this.#logger.error({ err, account: name }, 'account worker did not start'));
    return worker;
  }

  /**
   * Notes in Redis that the account has work in this process (at most once per stalled interval): if the process
   * dies, another one's recent sweep starts the account and BullMQ's stalled check gives its jobs back.
   */
  #recordWork(name: string): void {
    const now = Date.now();
    if (now - (this.#lastRecorded.get(name) ?? 0) < this.#config.worker.stalledIntervalMs / 2) return;
    this.#lastRecorded.set(name, now);
    this.#redis
      .zadd(this.#recentKey, now, name)
      .catch((err: unknown) => this.#outage?.error(err as Error) || this.#logger.warn({ err }, 'could not note recent work'));
  }

  #wake(account: string, score: number): void {
    if (this.#closed || this.#running.has(account)) return;
    const inMs = score - Date.now();
    if (inMs <= 0) {
      this.#start(account);
      return;
    }
    // A delayed job (a retry, a scheduled invite): the account starts when it is due, not before.
    this.#later(account, score);
  }

  /** Starts the account at `at` (ms since the epoch), unless it starts earlier already. */
  #later(account: string, at: number): void {
    const set = this.#delayed.get(account);
    if ((set !== undefined && set.at <= at) || this.#closed) return;
    clearTimeout(set?.timer);
    const timer = setTimeout(
      () => {
        this.#delayed.delete(account);
        this.#start(account);
      },
      Math.max(0, at - Date.now()),
    );
    this.#delayed.set(account, { timer, at });
  }

  #isPinned(name: string): boolean {
    const until = this.#pinned.get(name);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#pinned.delete(name);
    return false;
  }

  /** The account's next call (or its hold's end) is `ms` away while others wait: its slot serves them meanwhile. */
  #yield(name: string, ms: number): number {
    // Back a little before its slot: the worker's start overlaps the call's wait (not more: a worker waiting for
    // its call holds a slot others could use).
    const at = Date.now() + Math.max(0, ms - BACK_EARLY_MS);
    if (!this.#running.has(name)) return at;
    this.#backAt.set(name, at);
    void this.#release(name, this.#config.worker.shutdownTimeoutMs);
    this.#later(name, at);
    // Its jobs are due a little before it runs again: its worker's first fetch finds them (due by Redis's clock).
    return at - JOB_DUE_EARLY_MS;
  }

  /** A running account's worker found nothing to fetch: while others wait for a slot, it gives its slot back now. */
  #blocked(account: string, timeoutS: number): void {
    if (this.#ready.size === 0) return;
    const worker = this.#running.get(account);
    if (worker === undefined || worker.inFlight() > 0 || this.#isPinned(account)) return;
    void this.#release(account, this.#config.worker.shutdownTimeoutMs, { look: true });
    // A delayed job due before the idle time: the account comes back then.
    if (timeoutS < this.#idleMs / 1000) this.#later(account, Date.now() + timeoutS * 1000);
  }

  /**
   * Frees slots for the accounts waiting (none is freed while nobody waits): workers with nothing to do first; then,
   * once the first in line has waited a quantum and no slot was given back for as long (the line is stuck behind
   * busy accounts), the worker that has held its slot longest (its in-flight calls finish, its account goes to the
   * back of the line). A tick repeats this while accounts wait.
   */
  #makeRoom(): void {
    this.#pump();
    if (this.#ready.size === 0 || this.#closed) return;
    let needed = this.#ready.size - this.#closing.size;
    const now = Date.now();
    for (const [name, worker] of this.#running) {
      if (needed <= 0) break;
      const until = this.#watch.waitingUntil(name);
      if (worker.inFlight() > 0 || until === undefined || this.#isPinned(name)) continue;
      void this.#release(name, this.#config.worker.shutdownTimeoutMs, { look: true });
      // It waited for a delayed job (a retry, a far slot): the account comes back when it is due.
      if (until - now < this.#idleMs) this.#later(name, until);
      needed -= 1;
    }
    const [, firstSince] = this.#ready.entries().next().value ?? ['', now];
    if (needed > 0 && now - firstSince >= this.#quantumMs && now - this.#lastFreed >= this.#quantumMs) {
      const longest = [...this.#since].filter(([n, since]) => now - since >= this.#quantumMs && !this.#isPinned(n)).sort((a, b) => a[1] - b[1]);
      for (const [name] of longest.slice(0, needed)) {
        void this.#release(name, this.#config.worker.shutdownTimeoutMs).then(() => this.#start(name));
      }
    }
    this.#rotateTimer ??= setTimeout(() => {
      this.#rotateTimer = undefined;
      this.#makeRoom();
    }, ROTATE_TICK_MS);
  }

  /** Gives free slots to the accounts waiting, first come first served. */
  #pump(): void {
    while (!this.#closed && this.#ready.size > 0 && this.#alive() < this.#maxWorkers) {
      const name = this.#ready.keys().next().value as string;
      this.#ready.delete(name);
      this.#start(name, { turn: true });
    }
  }

  #idle(account: string): void {
    const worker = this.#running.get(account);
    if (worker === undefined || worker.inFlight() > 0) return;
    this.#logger.debug({ account }, 'account idle; its worker is released');
    void this.#release(account, this.#config.worker.shutdownTimeoutMs);
  }

  /** Closes the account's worker (its calls in flight finish). `look`: then check its queue for work (a release for another account's sake). */
  async #release(name: string, deadlineMs: number, options: { look?: boolean } = {}): Promise<boolean> {
    const worker = this.#running.get(name);
    if (worker === undefined) return true;
    this.#running.delete(name);
    this.#since.delete(name);
    this.#pinned.delete(name);
    this.#watch.setRunning(name, false);
    this.#lastRecorded.delete(name);
    this.#lastFreed = Date.now();
    const closing = worker.close(deadlineMs);
    this.#closing.add(closing);
    const clean = await closing;
    this.#closing.delete(closing);
    // A wake that came while its worker was busy or closing (a job moved back to waiting, a retry) would otherwise
    // wait for the slow sweep: the account comes back for it.
    const pending = this.#watch.pendingWake(name);
    if (pending !== undefined && this.#accounts.has(name)) this.#wake(name, pending);
    this.#pump();
    // And whatever else: an account released with jobs still waiting (a wake lost between its worker's last fetch
    // and its close) is looked at once, so it never waits for the slow sweep.
    if (options.look && !this.#closed && this.#accounts.has(name) && !this.#running.has(name) && !this.#ready.has(name)) {
      await this.#look([name]).catch((err: unknown) => this.#outage?.error(err as Error) || this.#logger.warn({ err }, 'could not look for work'));
    }
    return clean;
  }

  /** Starts the accounts among `names` whose queues have work a marker may not announce. */
  async #look(names: readonly string[], options: { recovering?: boolean } = {}): Promise<void> {
    const w = this.#config.worker;
    for (let i = 0; i < names.length; i += SWEEP_BATCH) {
      const batch = names.slice(i, i + SWEEP_BATCH).filter((n) => !this.#running.has(n) && !this.#ready.has(n));
      if (batch.length === 0) continue;
      const found = await scripts(this.#redis).queuesWithWork({ prefix: this.#config.redis.prefix, accounts: batch });
      for (const { position, active } of found) {
        // Active jobs of an account that does not run here: another process's, maybe a crashed one's. Its worker
        // keeps its slot until BullMQ's stalled check has run twice and given them back.
        const recovering = options.recovering === true && active;
        this.#start(batch[position] as string, recovering ? { pinMs: w.lockDurationMs + 2 * w.stalledIntervalMs } : {});
      }
    }
  }

  /**
   * Every recentSweepMs: the accounts that had work recently in any process and do not run here are looked at
   * (a crashed process's active jobs: the account starts, its BullMQ stalled check recovers them), entries idle
   * for longer than a crash takes to recover are dropped; and the next few accounts of the slow sweep.
   */
  async #sweep(): Promise<void> {
    try {
      const now = Date.now();
      const recent = await this.#redis.zrange(this.#recentKey, '0', '-1', 'WITHSCORES');
      const candidates: string[] = [];
      const stale: string[] = [];
      const keepMs = this.#idleMs + this.#config.worker.lockDurationMs + 2 * this.#recentSweepMs;
      for (let i = 0; i + 1 < recent.length; i += 2) {
        const name = recent[i] as string;
        if (!this.#accounts.has(name) || this.#running.has(name)) continue;
        candidates.push(name);
        if (now - Number(recent[i + 1]) > keepMs) stale.push(name);
      }
      await this.#look(candidates, { recovering: true });
      const stillIdle = stale.filter((n) => !this.#running.has(n));
      if (stillIdle.length > 0) await this.#redis.zrem(this.#recentKey, ...stillIdle);
      // The slow sweep: lost markers (a process that died between popping one and fetching) at most N / rate s late.
      const names = [...this.#accounts.keys()];
      this.#slowDue += (SLOW_SWEEP_PER_S * this.#recentSweepMs) / 1000;
      const count = Math.min(names.length, Math.floor(this.#slowDue));
      if (count > 0) {
        this.#slowDue -= count;
        const slice: string[] = [];
        for (let i = 0; i < count; i++) slice.push(names[(this.#slowCursor + i) % names.length] as string);
        this.#slowCursor = (this.#slowCursor + count) % Math.max(1, names.length);
        await this.#look(slice);
      }
    } catch (err) {
      if (!this.#outage?.error(err as Error)) this.#logger.warn({ err }, 'could not look for accounts with work');
    } finally {
      if (!this.#closed) this.#sweepTimer = setTimeout(() => this.#sweep(), this.#recentSweepMs);
    }
  }

  /** Graceful stop: every running account's in-flight calls finish (up to the deadline). True when all did. */
  async close(deadlineMs: number): Promise<boolean> {
    this.#closed = true;
    clearTimeout(this.#sweepTimer);
    clearTimeout(this.#rotateTimer);
    this.#ready.clear();
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    const results = await Promise.all([...[...this.#running.keys()].map((n) => this.#release(n, deadlineMs)), ...this.#closing]);
    await this.#watch.close();
    this.#http.close();
    return results.every(Boolean);
  }
}
