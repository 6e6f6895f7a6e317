/**
 * One reader of the event stream per process, fanned out to every listener (the Server-Sent Events of
 * /v1/events). A blocking XREAD holds its Redis connection, so a reader per listener let anyone with a token
 * open Redis connections without bound; here listeners cost memory only, and the one connection exists while
 * someone listens.
 *
 * Each listener gets every entry after the id it starts from, in order, once: it first catches up with XRANGE
 * on the shared command connection (up to at least where the loop started reading) while the live entries it
 * is sent meanwhile wait in a bounded buffer, then takes live entries. A listener that cannot keep up is ended (an EventSource reconnects with Last-Event-ID).
 */
import { duplicateClient, type RedisClient } from '../redis-connection/factory.ts';
import { MAX_BLOCK_S } from '../redis-connection/liveness.ts';
import { entryFields } from './stream.ts';

/** One event as the feed hands it on: its stream id and its fields. */
export interface FeedEntry {
  id: string;
  fields: Record<string, string>;
}

/** Where a listener's entries go. */
export interface FeedSink {
  /** Takes entries in id order; false when the listener cannot keep up (it is then ended). */
  push(entries: FeedEntry[]): boolean;
  /** Resolves when the listener can take more (catch-up waits on it between pages). */
  drained(): Promise<void>;
  /** The feed ended this listener (too slow, or the feed closed). */
  end(): void;
}

interface Listener {
  sink: FeedSink;
  /** The id of the last entry it was given. */
  cursor: string;
  /** Live entries that arrived during its catch-up; undefined once it is live. */
  pending: FeedEntry[] | undefined;
  /** The pending buffer overflowed: catch up again from the cursor instead. */
  overflowed: boolean;
  closed: boolean;
}

const PAGE = 500;
/** A blocking read answers within the socket timeout that finds a dead link. */
const BLOCK_MS = MAX_BLOCK_S * 1000;
const RETRY_MS = 1_000;
const MAX_PENDING = 10_000;

type XreadReply = Array<[string, Array<[string, string[]]>]> | null;

/** Whether stream id `a` comes after `b` (ids are "ms-seq", each part beyond a double's precision). */
export function idAfter(a: string, b: string): boolean {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  return ms > 0n || (ms === 0n && BigInt(as) > BigInt(bs));
}

const toEntries = (raw: Array<[string, string[]]>): FeedEntry[] => raw.map(([id, flat]) => ({ id, fields: entryFields(flat) }));

/** The shared reader of one event stream. */
export class EventFeed {
  readonly #source: RedisClient;
  readonly #key: string;
  readonly #listeners = new Set<Listener>();
  /** The blocking connection of the running loop; undefined while nobody listens. */
  #reader: RedisClient | undefined;
  /** Resolves once the running loop knows where it reads from (or has stopped). */
  #positioned: Promise<void> = Promise.resolve();

  /** @param source the process's command connection: duplicated for the blocking reader, used for catch-up. */
  constructor(source: RedisClient, key: string) {
    this.#source = source;
    this.#key = key;
  }

  /** How many listeners are attached. */
  get size(): number {
    return this.#listeners.size;
  }

  /**
   * Attaches a listener from `since` (an id, "0" for the whole stream, "$" for only what comes next); resolves
   * once it has caught up, with the function that detaches it.
   */
  async subscribe(since: string, sink: FeedSink): Promise<() => void> {
    const listener: Listener = { sink, cursor: '0-0', pending: [], overflowed: false, closed: false };
    this.#listeners.add(listener);
    this.#start();
    const detach = () => this.#detach(listener);
    let positioned = false;
    try {
      listener.cursor = since === '$' ? await this.#tail(this.#source) : since === '0' ? '0-0' : since;
      for (;;) {
        const page = toEntries(await this.#source.xrange(this.#key, `(${listener.cursor}`, '+', 'COUNT', PAGE));
        if (listener.closed) return detach;
        this.#send(listener, page);
        if (page.length === PAGE) {
          await sink.drained();
          continue;
        }
        // The loop hands on only what comes after the point it started from: the catch-up must reach that point.
        if (!positioned) {
          await this.#positioned;
          positioned = true;
          continue;
        }
        if (listener.overflowed) {
          listener.overflowed = false;
          listener.pending = [];
          continue;
        }
        const pending = listener.pending ?? [];
        listener.pending = undefined;
        this.#send(listener, pending);
        return detach;
      }
    } catch (error) {
      detach();
      throw error;
    }
  }

  /** Ends every listener and the reader (the server is closing). */
  close(): void {
    for (const listener of [...this.#listeners]) {
      this.#detach(listener);
      listener.sink.end();
    }
  }

  #detach(listener: Listener): void {
    listener.closed = true;
    this.#listeners.delete(listener);
    if (this.#listeners.size === 0 && this.#reader !== undefined) {
      // Aborts the blocking read at once; the loop sees it is no longer the current one and stops.
      this.#reader.disconnect();
      this.#reader = undefined;
    }
  }

  /** A live batch of entries: kept while the listener catches up, else sent. */
  #live(listener: Listener, entries: FeedEntry[]): void {
    if (listener.pending === undefined) this.#send(listener, entries);
    else if (listener.pending.length + entries.length > MAX_PENDING) {
      listener.overflowed = true;
      listener.pending = [];
    } else listener.pending.push(...entries);
  }

  /** Hands a listener the entries after its cursor; ends it when it cannot keep up. */
  #send(listener: Listener, entries: FeedEntry[]): void {
    if (listener.closed) return;
    const fresh = entries.filter((e) => idAfter(e.id, listener.cursor));
    if (fresh.length === 0) return;
    listener.cursor = (fresh.at(-1) as FeedEntry).id;
    if (!listener.sink.push(fresh)) {
      this.#detach(listener);
      listener.sink.end();
    }
  }

  /** The id of the stream's newest entry ("0-0" when it is empty). */
  async #tail(redis: RedisClient): Promise<string> {
    const [last] = await redis.xrevrange(this.#key, '+', '-', 'COUNT', 1);
    return last?.[0] ?? '0-0';
  }

  #start(): void {
    if (this.#reader !== undefined) return;
    const reader = duplicateClient(this.#source);
    reader.on('error', () => undefined); // a lost connection is retried by the loop; the API's /readyz reports outages
    this.#reader = reader;
    let resolve = () => {};
    this.#positioned = new Promise<void>((r) => {
      resolve = r;
    });
    void this.#run(reader, resolve);
  }

  /** Reads new entries while `reader` is the current one and hands them to every listener. */
  async #run(reader: RedisClient, positioned: () => void): Promise<void> {
    let last: string | undefined;
    while (this.#reader === reader) {
      try {
        if (last === undefined) {
          last = await this.#tail(reader);
          positioned();
        }
        const reply = (await reader.xread('COUNT', PAGE, 'BLOCK', BLOCK_MS, 'STREAMS', this.#key, last)) as XreadReply;
        const entries = toEntries(reply?.[0]?.[1] ?? []);
        if (entries.length === 0) continue;
        last = (entries.at(-1) as FeedEntry).id;
        for (const listener of [...this.#listeners]) this.#live(listener, entries);
      } catch {
        if (this.#reader !== reader) break;
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    positioned();
    reader.disconnect();
  }
}
