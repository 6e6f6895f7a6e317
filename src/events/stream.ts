import type { Redis } from 'ioredis';
import { invitebusKeys } from '../redis.ts';
import type { Outcome, ReasonClass } from '../types.ts';

/** Event types on the stream. */
export type EventType = 'invite.succeeded' | 'invite.failed' | 'account.paused' | 'account.resumed' | 'account.rate_limited';

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

/**
 * Writes the event only if none was written for this invite yet, and remembers the outcome, atomically.
 * A worker that crashes after writing but before BullMQ records the job's end will re-run the job; the
 * marker makes that re-run finish with the recorded outcome instead of a second event.
 */
const TERMINAL_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
  return 1
end
return 0`;

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
  readonly #prefix: string;
  readonly #maxLen: number;

  constructor(redis: Redis, prefix: string, maxLen: number) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#maxLen = maxLen;
    this.key = invitebusKeys(prefix).events;
  }

  #marker(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt'>): string {
    return invitebusKeys(this.#prefix).terminalMarker(event.account, event.inviteId, event.enqueuedAt);
  }

  /**
   * Appends an invite's terminal event unless one was already appended. Returns whether it wrote.
   * @param ttlMs how long the marker lives: the job's retention, so a re-run within it is recognised.
   */
  async recordTerminal(event: InviteEvent, recorded: Outcome, ttlMs: number): Promise<boolean> {
    const written = (await this.#redis.eval(
      TERMINAL_SCRIPT,
      2,
      this.#marker(event),
      this.key,
      JSON.stringify(recorded),
      String(ttlMs),
      String(this.#maxLen),
      ...flatten(event),
    )) as number;
    return written === 1;
  }

  /** The outcome recorded for an invite whose terminal event was already written, if any. */
  async recordedOutcome(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt'>): Promise<Outcome | undefined> {
    const value = await this.#redis.get(this.#marker(event));
    return value === null ? undefined : (JSON.parse(value) as Outcome);
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
