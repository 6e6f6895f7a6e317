import type { Redis } from 'ioredis';
import { invitebusKeys } from '../redis.ts';
import type { Outcome, ReasonClass } from '../types.ts';

/** Event types on the stream. */
export type EventType = 'invite.succeeded' | 'invite.failed' | 'batch.completed' | 'account.paused' | 'account.resumed' | 'account.rate_limited';

/** A completion event: one per invite reaching a terminal state. All values are strings on the stream. */
export interface InviteEvent {
  type: 'invite.succeeded' | 'invite.failed';
  inviteId: string;
  account: string;
  provider: string;
  email: string;
  outcome: Outcome['kind'];
  reasonClass?: ReasonClass;
  message?: string;
  status?: number;
  requestId?: string;
  providerId?: string;
  attempts: number;
  batchId?: string;
  enqueuedAt: number;
  finishedAt: number;
}

export interface AccountEvent {
  type: 'account.paused' | 'account.resumed' | 'account.rate_limited';
  account: string;
  provider: string;
  reason?: string;
  message?: string;
  waitMs?: number;
  until?: number;
  at: number;
}

/** What the terminal marker remembers: the outcome, and the reason class of a failure. */
export type RecordedOutcome = Outcome & { reasonClass?: ReasonClass };

/**
 * Completes a batch when it is sealed (every invite of it enqueued) and every invite finished: one
 * `batch.completed` event with the totals. Shared by the terminal and the seal scripts.
 */
const MAYBE_COMPLETE = `
local function maybeComplete(batchKey, stream, maxLen, batchId)
  local b = redis.call('HMGET', batchKey, 'sealed', 'total', 'done', 'succeeded', 'failed', 'completedAt')
  if b[1] == '1' and tonumber(b[3] or '0') >= tonumber(b[2] or '0') and not b[6] then
    local now = redis.call('TIME')
    local at = tostring(now[1] * 1000 + math.floor(now[2] / 1000))
    redis.call('HSET', batchKey, 'completedAt', at)
    redis.call('XADD', stream, 'MAXLEN', '~', maxLen, '*', 'type', 'batch.completed', 'batchId', batchId,
      'total', b[2] or '0', 'succeeded', b[4] or '0', 'failed', b[5] or '0', 'at', at)
  end
end
`;

/**
 * Writes the event only if none was written for this invite yet, remembers the outcome and counts it in its
 * batch, atomically. A worker that crashes after this but before BullMQ records the job's end re-runs the
 * job; the marker makes that re-run finish with the recorded outcome instead of a second event or count.
 * KEYS: marker, stream, batch hash. ARGV: recorded, ttl, maxLen, batchId ('' for none), succeeded|failed,
 * outcome, reasonClass, batch ttl, the event's fields as one JSON array [name, value, ...] (one argument
 * instead of thirty: cheaper for the worker to send, and decoded by Redis on its own core).
 */
const TERMINAL_SCRIPT = `${MAYBE_COMPLETE}
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(cjson.decode(ARGV[9])))
  if ARGV[4] ~= '' then
    redis.call('HINCRBY', KEYS[3], 'done', 1)
    redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
    redis.call('HINCRBY', KEYS[3], 'outcome:' .. ARGV[6], 1)
    if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[3], 'reason:' .. ARGV[7], 1) end
    redis.call('PEXPIRE', KEYS[3], ARGV[8])
    maybeComplete(KEYS[3], KEYS[2], ARGV[3], ARGV[4])
  end
  return 1
end
return 0`;

/** Marks a batch as fully enqueued (KEYS: batch hash, stream; ARGV: maxLen, batchId). */
const SEAL_SCRIPT = `${MAYBE_COMPLETE}
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'sealed', '1')
  maybeComplete(KEYS[1], KEYS[2], ARGV[1], ARGV[2])
end
return 1`;

/**
 * Forgets an invite's terminal outcome so a replay of it counts and reports again (KEYS: marker, batch hash).
 * Returns the recorded outcome it removed, or nil.
 */
const UNRECORD_SCRIPT = `
local recorded = redis.call('GET', KEYS[1])
if not recorded then return nil end
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local o = cjson.decode(recorded)
  local failed = o['kind'] ~= 'invited' and o['kind'] ~= 'already_member'
  redis.call('HINCRBY', KEYS[2], 'done', -1)
  redis.call('HINCRBY', KEYS[2], failed and 'failed' or 'succeeded', -1)
  redis.call('HINCRBY', KEYS[2], 'outcome:' .. o['kind'], -1)
  if o['reasonClass'] then redis.call('HINCRBY', KEYS[2], 'reason:' .. o['reasonClass'], -1) end
  redis.call('HDEL', KEYS[2], 'completedAt')
end
return recorded`;

function flatten(event: object): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(event)) {
    if (v !== undefined) out.push(k, String(v));
  }
  return out;
}

/** Parses a stream entry's flat field list back into an object of strings. */
export function entryFields(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

export class EventStream {
  readonly key: string;
  readonly #redis: Redis;
  readonly #keys: ReturnType<typeof invitebusKeys>;
  readonly #maxLen: number;

  constructor(redis: Redis, prefix: string, maxLen: number) {
    this.#redis = redis;
    // EVALSHA instead of EVAL: the scripts are sent once per connection, not with every invite.
    const commands = redis as unknown as Record<string, unknown>;
    if (commands.ibTerminal === undefined) {
      redis.defineCommand('ibTerminal', { numberOfKeys: 3, lua: TERMINAL_SCRIPT });
      redis.defineCommand('ibSeal', { numberOfKeys: 2, lua: SEAL_SCRIPT });
      redis.defineCommand('ibUnrecord', { numberOfKeys: 2, lua: UNRECORD_SCRIPT });
    }
    this.#keys = invitebusKeys(prefix);
    this.#maxLen = maxLen;
    this.key = this.#keys.events;
  }

  get #scripts(): Record<'ibTerminal' | 'ibSeal' | 'ibUnrecord', (...args: string[]) => Promise<unknown>> {
    return this.#redis as unknown as Record<'ibTerminal' | 'ibSeal' | 'ibUnrecord', (...args: string[]) => Promise<unknown>>;
  }

  #marker(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt'>): string {
    return this.#keys.terminalMarker(event.account, event.inviteId, event.enqueuedAt);
  }

  /**
   * Appends an invite's terminal event and counts it in its batch, unless that was already done.
   * Returns whether it wrote.
   * @param ttlMs how long the marker and batch counters live: the job's retention.
   */
  async recordTerminal(event: InviteEvent, recorded: Outcome, ttlMs: number): Promise<boolean> {
    const stored: RecordedOutcome = event.reasonClass === undefined ? recorded : { ...recorded, reasonClass: event.reasonClass };
    const batchId = event.batchId ?? '';
    const written = (await this.#scripts.ibTerminal(
      this.#marker(event),
      this.key,
      this.#keys.batch(batchId),
      JSON.stringify(stored),
      String(ttlMs),
      String(this.#maxLen),
      batchId,
      event.type === 'invite.succeeded' ? 'succeeded' : 'failed',
      event.outcome,
      event.reasonClass ?? '',
      String(ttlMs),
      JSON.stringify(flatten(event)),
    )) as number;
    return written === 1;
  }

  /** The outcome recorded for an invite whose terminal event was already written, if any. */
  async recordedOutcome(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt'>): Promise<RecordedOutcome | undefined> {
    const value = await this.#redis.get(this.#marker(event));
    return value === null ? undefined : (JSON.parse(value) as RecordedOutcome);
  }

  /** Forgets a recorded terminal outcome (and un-counts it from its batch) before a replay. */
  async unrecord(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt' | 'batchId'>): Promise<RecordedOutcome | undefined> {
    const value = (await this.#scripts.ibUnrecord(this.#marker(event), this.#keys.batch(event.batchId ?? ''))) as string | null;
    return value === null ? undefined : (JSON.parse(value) as RecordedOutcome);
  }

  /** Marks a batch as fully enqueued; publishes batch.completed if everything already finished. */
  async sealBatch(batchId: string): Promise<void> {
    await this.#scripts.ibSeal(this.#keys.batch(batchId), this.key, String(this.#maxLen), batchId);
  }

  /** Remembers (or, with undefined, forgets) why an account is paused, for `stats`. */
  async setAccountState(account: string, fields: Record<string, string> | undefined): Promise<void> {
    const key = this.#keys.accountState(account);
    if (fields === undefined) await this.#redis.del(key);
    else await this.#redis.hset(key, fields);
  }

  async publishAccount(event: AccountEvent): Promise<void> {
    await this.#redis.xadd(this.key, 'MAXLEN', '~', this.#maxLen, '*', ...flatten(event));
  }

  /** Reads events after `fromId` (exclusive); for tests, the CLI and simple consumers. */
  async read(fromId = '-', count = 1000): Promise<Array<{ id: string; fields: Record<string, string> }>> {
    const entries = await this.#redis.xrange(this.key, fromId === '-' ? '-' : `(${fromId}`, '+', 'COUNT', count);
    return entries.map(([id, fields]) => ({ id, fields: entryFields(fields) }));
  }
}
