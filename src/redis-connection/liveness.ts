/**
 * Dead connections found and replaced: a link whose socket stays open while nothing passes (a partition, a
 * stateful middlebox that lost the flow, a managed endpoint that swapped its backend) is noticed within 15 s,
 * said once, and reconnected.
 *
 * What works, measured against such a link (test/support/silent-proxy.ts, test/faults/dead-link.test.ts):
 * - `socketTimeout`: ioredis destroys the socket when a command has been written and nothing at all has come back
 *   for this long; the client reconnects and resends what was in flight. It only watches a connection with a
 *   command in flight, and it must exceed the longest legitimate wait for an answer: every blocking command is
 *   therefore bounded (MAX_BLOCK_S, `boundBlocking` for BullMQ workers' BZPOPMIN).
 * - a health PING on a connection that has been idle PING_IDLE_MS: it puts a command in flight, so an idle
 *   connection is watched too (and `redisUp()` sees a PING left unanswered).
 *
 * What does not (kept out): `commandTimeout` rejects the command and leaves the dead socket in place (the next
 * ones time out too, and once traffic flows the answers are paired with the wrong commands); `blockingTimeout`
 * resolves a blocking command with null on the same dead socket; TCP `keepAlive` probes are answered by whatever
 * holds the other end of the socket (a proxy, a load balancer) and are not sent while data is unacknowledged;
 * BullMQ's own watchdog resets only a worker's blocking connection, never the one that holds its jobs.
 */
import type { Worker } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';

/** A connection with a command in flight and nothing received for this long is dead: its socket is destroyed. */
export const SOCKET_TIMEOUT_MS = 8_000;
/** The longest any blocking command may block (s): answers must come well within SOCKET_TIMEOUT_MS. */
export const MAX_BLOCK_S = 3;
/** A connection that received nothing for this long and has nothing in flight is sent a PING. */
export const PING_IDLE_MS = 3_000;
/** How often connections are looked at for the PING. */
const TICK_MS = 1_000;
/** A PING unanswered this long marks its connection lost (and destroys its socket if ioredis has not). */
export const PING_OVERDUE_MS = SOCKET_TIMEOUT_MS;

/**
 * Options for every invitebus connection (and, through ioredis' `duplicate()`, for the connections BullMQ and the
 * readers make from it): a dead link is detected within SOCKET_TIMEOUT_MS of a command sent on it, a `READONLY`
 * answer (a client still on a demoted primary) reconnects and resends instead of failing.
 */
export function livenessOptions(): Pick<RedisOptions, 'socketTimeout' | 'keepAlive' | 'reconnectOnError'> {
  return {
    socketTimeout: SOCKET_TIMEOUT_MS,
    // Not the detector (see above); keeps NAT and firewall state of an idle link alive.
    keepAlive: 10_000,
    reconnectOnError: reconnectOnReadonly,
  };
}

/** `READONLY`: this endpoint is a replica now (failover); reconnect (to wherever the endpoint points) and resend. */
export function reconnectOnReadonly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * BullMQ worker options that keep its blocking wait within MAX_BLOCK_S when the queue is empty; `boundBlocking`
 * bounds the wait for a delayed job (BullMQ's own ceiling is 10 s).
 */
export function workerLivenessOptions(): { drainDelay: number } {
  return { drainDelay: MAX_BLOCK_S };
}

/** Caps a BullMQ worker's BZPOPMIN at MAX_BLOCK_S (its blocking connection has the same socket timeout). */
export function boundBlocking<W extends Worker>(worker: W): W {
  Object.defineProperty(worker, 'maximumBlockTimeout', { value: MAX_BLOCK_S });
  return worker;
}

/** Where the health registry writes (a pino logger fits). */
export interface HealthLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

interface Entry {
  name: string;
  /** When it was found lost; undefined while it is up. */
  lostSince: number | undefined;
  /** The last error it reported, said with the loss (ioredis' messages carry no password). */
  cause: string | undefined;
  /** A health PING in flight since then. */
  pingSentAt: number | undefined;
  lastData: number;
  timer: NodeJS.Timeout | undefined;
}

type Internals = { commandQueue?: { length: number }; stream?: { destroy(error?: Error): void; on(e: 'data', f: () => void): void } };

/**
 * Every tracked connection's health, process-wide: lost while it reconnects (or its PING is overdue), up once it
 * is ready again. One warning per connection lost and one line when it is back, whatever its retries say.
 */
export class ConnectionHealth {
  readonly #entries = new Map<Redis, Entry>();
  #log: HealthLog | undefined;
  #copies = 0;

  /** Where the lost and back lines go (none until set). */
  useLog(log: HealthLog | undefined): void {
    this.#log = log;
  }

  /**
   * Follows `client` under `name` (renames it if followed already); the connections duplicated from it are
   * followed too, named after it.
   */
  track(client: Redis, name: string): Redis {
    const tagged = client as unknown as { [HEALTH]?: Entry } & Internals;
    if (tagged[HEALTH] !== undefined) {
      tagged[HEALTH].name = name;
      return client;
    }
    const entry: Entry = { name, lostSince: undefined, cause: undefined, pingSentAt: undefined, lastData: Date.now(), timer: undefined };
    tagged[HEALTH] = entry;
    const watchData = () => {
      entry.lastData = Date.now();
      tagged.stream?.on('data', () => {
        entry.lastData = Date.now();
      });
    };
    const ready = () => {
      entry.pingSentAt = undefined;
      this.#back(entry);
      clearInterval(entry.timer);
      entry.timer = setInterval(() => this.#tick(client, entry), TICK_MS).unref();
    };
    client.on('connect', () => {
      this.#entries.set(client, entry);
      watchData();
    });
    client.on('error', (error: Error) => {
      entry.cause = error.message;
    });
    client.on('reconnecting', () => this.#lost(entry, entry.cause ?? 'connection closed'));
    client.on('ready', ready);
    client.on('end', () => {
      clearInterval(entry.timer);
      entry.timer = undefined;
      this.#entries.delete(client);
    });
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (override?: Partial<RedisOptions>) => {
      this.#copies += 1;
      return this.track(duplicate(override), `${name}/${this.#copies}${copyRole(override)}`);
    };
    if (client.status !== 'end') this.#entries.set(client, entry);
    if (client.status === 'ready') {
      watchData();
      ready();
    }
    return client;
  }

  /** True unless a followed connection is lost: reconnecting, or its PING overdue. */
  up(now = Date.now()): boolean {
    return this.lost(now).length === 0;
  }

  /** The names of the followed connections that are lost now. */
  lost(now = Date.now()): string[] {
    // A PING found overdue here is said and its socket ended now, as the next tick would: what this answers and
    // what the log says never differ.
    for (const [client, entry] of this.#entries)
      if (entry.pingSentAt !== undefined && now - entry.pingSentAt > PING_OVERDUE_MS) this.#overdue(client, entry, now);
    return [...this.#entries.values()]
      .filter((e) => e.lostSince !== undefined || (e.pingSentAt !== undefined && now - e.pingSentAt > PING_OVERDUE_MS))
      .map((e) => e.name);
  }

  /** How many connections are followed (open ones). */
  get size(): number {
    return this.#entries.size;
  }

  #tick(client: Redis, entry: Entry): void {
    if (client.status !== 'ready') return;
    const now = Date.now();
    const internals = client as unknown as Internals;
    if (entry.pingSentAt !== undefined) {
      if (now - entry.pingSentAt > PING_OVERDUE_MS) this.#overdue(client, entry, now);
      return;
    }
    // Watched already: a command in flight arms the socket timeout.
    if ((internals.commandQueue?.length ?? 0) > 0 || now - entry.lastData < PING_IDLE_MS) return;
    const sentAt = now;
    entry.pingSentAt = sentAt;
    client.ping().then(
      () => {
        if (entry.pingSentAt === sentAt) entry.pingSentAt = undefined;
      },
      () => {
        if (entry.pingSentAt === sentAt) entry.pingSentAt = undefined;
      },
    );
  }

  /** A PING unanswered too long: the socket timeout has not ended it (a connection made without it): end it here. */
  #overdue(client: Redis, entry: Entry, now: number): void {
    if (entry.pingSentAt === undefined) return;
    this.#lost(entry, `no answer to PING in ${Math.round((now - entry.pingSentAt) / 1000)} s`);
    entry.pingSentAt = undefined;
    (client as unknown as Internals).stream?.destroy(new Error(`Socket timeout. No answer to PING in ${PING_OVERDUE_MS} ms.`));
  }

  #lost(entry: Entry, cause: string): void {
    if (entry.lostSince !== undefined) return;
    entry.lostSince = Date.now();
    this.#log?.warn({ connection: entry.name, cause }, `Redis connection '${entry.name}' lost (${cause}); reconnecting`);
  }

  #back(entry: Entry): void {
    if (entry.lostSince === undefined) return;
    const downMs = Date.now() - entry.lostSince;
    entry.lostSince = undefined;
    entry.cause = undefined;
    this.#log?.info({ connection: entry.name, downMs }, `Redis connection '${entry.name}' is back after ${(downMs / 1000).toFixed(1)} s`);
  }
}

const HEALTH = Symbol('invitebus.connectionHealth');

/** BullMQ names its blocking connection `prefix:base64(queue)`: said as "blocking, queue X". */
function copyRole(override: Partial<RedisOptions> | undefined): string {
  const name = override?.connectionName;
  if (typeof name !== 'string') return '';
  const m = /:([A-Za-z0-9+/]+=*)(?::w:.*)?$/.exec(name);
  const queue = m?.[1] === undefined ? undefined : Buffer.from(m[1], 'base64').toString('utf8');
  return queue !== undefined && /^[\w.-]+$/.test(queue) ? ` (blocking, queue ${queue})` : ` (${name})`;
}

/** The process's registry. */
export const connectionHealth = new ConnectionHealth();

/** Follows a connection (and its duplicates) in the process's registry. */
export function trackConnection(client: Redis, name: string): Redis {
  return connectionHealth.track(client, name);
}

/** False while any followed connection is lost (reconnecting, or its PING overdue). */
export function redisUp(): boolean {
  return connectionHealth.up();
}
