import { decodeSentRecord, encodeSentRecord, type SentRecord } from '../invites/sent-record.ts';
import { invitebusKeys } from '../redis.ts';
import type { RedisClient } from '../redis-connection/factory.ts';
import { type Scripts, scripts } from '../redis-scripts/index.ts';
import type { Outcome, ReasonClass } from '../types.ts';
import { type EventPayload, NUMERIC_FIELDS } from './catalogue.ts';

export type { EventType } from './catalogue.ts';

/** A completion event: one per invite reaching a terminal state. All values are strings on the stream. */
export type InviteEvent = EventPayload<'invite.succeeded' | 'invite.failed'>;

/** An account paused, resumed or told to wait. */
export type AccountEvent = EventPayload<'account.paused' | 'account.resumed' | 'account.rate_limited'>;

/** A webhook endpoint disabled. */
export type WebhookDisabledEvent = EventPayload<'webhook.disabled'>;

/** What the terminal marker remembers: the outcome, and the reason class of a failure. */
export type RecordedOutcome = Outcome & { reasonClass?: ReasonClass };

/** How a success whose job is removed as it completes is kept: its sent record's lifetime and the job's schedule. */
export interface SentOptions {
  /** The success retention (ms): how long the sent record lives. */
  ttlMs: number;
  scheduledFor?: number;
  timeZone?: string;
}

/** The outcome a sent record holds. */
export function outcomeOfSent(r: SentRecord): RecordedOutcome {
  const ref = { status: r.status, requestId: r.requestId, providerId: r.providerId, message: r.message };
  return { kind: r.kind, ...Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)) };
}

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

/** A stream entry as typed JSON: numeric fields as numbers (an unparsable one stays a string). */
export function typedEvent(fields: Record<string, string>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(fields)) {
    const n = NUMERIC_FIELDS.has(k) && v.trim() !== '' ? Number(v) : Number.NaN;
    out[k] = Number.isFinite(n) ? n : v;
  }
  return out;
}

export class EventStream {
  readonly key: string;
  readonly #redis: RedisClient;
  readonly #scripts: Scripts;
  readonly #keys: ReturnType<typeof invitebusKeys>;
  readonly #maxLen: number;
  readonly #prefix: string;

  constructor(redis: RedisClient, prefix: string, maxLen: number) {
    this.#redis = redis;
    // EVALSHA: the scripts are sent once per connection, not with every invite.
    this.#scripts = scripts(redis);
    this.#keys = invitebusKeys(prefix);
    this.#maxLen = maxLen;
    this.#prefix = prefix;
    this.key = this.#keys.events;
  }

  #marker(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt'>): string {
    return this.#keys.terminalMarker(event.account, event.inviteId, event.enqueuedAt);
  }

  /**
   * Appends an invite's terminal event and counts it in its batch, unless that was already done
   * (src/redis-scripts/record-terminal.lua). Returns whether it wrote.
   * @param ttlMs how long the marker and batch counters live: the job's retention.
   * @param sent for a success whose job is removed as it completes: a sent record is kept instead of the marker.
   */
  async recordTerminal(event: InviteEvent, recorded: Outcome, ttlMs: number, sent?: SentOptions): Promise<{ written: boolean; writerLiveMs: number }> {
    const stored: RecordedOutcome = event.reasonClass === undefined ? recorded : { ...recorded, reasonClass: event.reasonClass };
    const record =
      sent !== undefined && (recorded.kind === 'invited' || recorded.kind === 'already_member')
        ? encodeSentRecord({
            kind: recorded.kind,
            ...(recorded.status === undefined ? {} : { status: recorded.status }),
            ...(recorded.requestId === undefined ? {} : { requestId: recorded.requestId }),
            ...(recorded.providerId === undefined ? {} : { providerId: recorded.providerId }),
            ...(recorded.message === undefined ? {} : { message: recorded.message }),
            email: event.email,
            person: { externalId: event.externalId, firstName: event.firstName, lastName: event.lastName },
            attempts: Number(event.attempts),
            ...(event.batchId === undefined ? {} : { batchId: event.batchId }),
            enqueuedAt: event.enqueuedAt,
            finishedAt: event.finishedAt,
            ...(sent.scheduledFor === undefined ? {} : { scheduledFor: sent.scheduledFor }),
            ...(sent.timeZone === undefined ? {} : { timeZone: sent.timeZone }),
          })
        : undefined;
    // > 1: written, and a live writer (an enqueue or replay) still holds the batch open for that many ms.
    return this.#scripts.recordTerminal({
      prefix: this.#prefix,
      account: event.account,
      inviteId: event.inviteId,
      enqueuedAt: event.enqueuedAt,
      batchId: event.batchId ?? '',
      recordedJson: JSON.stringify(stored),
      kind: stored.kind,
      reasonClass: stored.reasonClass ?? '',
      ttlMs,
      maxLen: this.#maxLen,
      minute: Math.floor(Date.now() / 60_000),
      eventFields: flatten(event),
      ...(record === undefined || sent === undefined ? {} : { sent: { json: record, ttlMs: sent.ttlMs } }),
    });
  }

  /** An invite's sent record (a success whose job was removed as it completed), if it is still kept. */
  async sentRecord(account: string, inviteId: string): Promise<SentRecord | undefined> {
    return decodeSentRecord(await this.#redis.get(this.#keys.sent(account, inviteId)));
  }

  /**
   * The outcome recorded for an invite whose terminal event was already written, if any: its marker, or the sent
   * record of the same run.
   */
  async recordedOutcome(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt'>): Promise<RecordedOutcome | undefined> {
    const [value, sentText] = await Promise.all([this.#redis.get(this.#marker(event)), this.#redis.get(this.#keys.sent(event.account, event.inviteId))]);
    if (value === null) {
      const sent = decodeSentRecord(sentText);
      return sent !== undefined && sent.enqueuedAt === event.enqueuedAt ? outcomeOfSent(sent) : undefined;
    }
    // The marker also keeps when it was recorded (record-terminal.lua), which is not part of the outcome.
    const { recordedAt: _, ...outcome } = JSON.parse(value) as RecordedOutcome & { recordedAt?: number };
    return outcome;
  }

  /** Forgets a recorded terminal outcome (and un-counts it from its batch) before a replay. */
  async unrecord(event: Pick<InviteEvent, 'account' | 'inviteId' | 'enqueuedAt' | 'batchId'>): Promise<RecordedOutcome | undefined> {
    const value = await this.#scripts.unrecordTerminal({
      prefix: this.#prefix,
      account: event.account,
      inviteId: event.inviteId,
      enqueuedAt: event.enqueuedAt,
      batchId: event.batchId ?? '',
    });
    return value === null ? undefined : (JSON.parse(value) as RecordedOutcome);
  }

  /**
   * One writer of a batch is done: an enqueue seals it, a replay releases it; publishes batch.completed if that
   * completes it. With writer '' it only checks. Returns for how long (ms) another writer still holds it, or 0.
   */
  async sealBatch(batchId: string, writerId: string, mode: 'seal' | 'release' = 'seal'): Promise<number> {
    return this.#scripts.sealBatch({ prefix: this.#prefix, batchId, writerId, mode, maxLen: this.#maxLen });
  }

  /**
   * Records why an account is paused, unless it already is: returns true for the one caller (of any process)
   * that paused it, so only that one announces it. Atomic (src/redis-scripts/claim-pause.lua).
   */
  async claimPause(account: string, fields: Record<string, string>): Promise<boolean> {
    return this.#scripts.claimPause({ prefix: this.#prefix, account, fields });
  }

  /** Forgets why an account was paused: true for the one caller that resumed it. */
  async clearPause(account: string): Promise<boolean> {
    return (await this.#redis.del(this.#keys.accountState(account))) === 1;
  }

  /**
   * The one writer of the events a client publishes (accounts, webhooks); invite events are written by
   * record-terminal.lua and batch.completed by maybe-complete.lua, each atomically with what it counts.
   */
  async publish(event: AccountEvent | WebhookDisabledEvent): Promise<void> {
    await this.#redis.xadd(this.key, 'MAXLEN', '~', this.#maxLen, '*', ...flatten(event));
  }

  /** Publishes an account's event. */
  async publishAccount(event: AccountEvent): Promise<void> {
    await this.publish(event);
  }

  /** Reads events after `fromId` (exclusive); for tests, the CLI and simple consumers. */
  async read(fromId = '-', count = 1000): Promise<Array<{ id: string; fields: Record<string, string> }>> {
    const entries = await this.#redis.xrange(this.key, fromId === '-' ? '-' : `(${fromId}`, '+', 'COUNT', count);
    return entries.map(([id, fields]) => ({ id, fields: entryFields(fields) }));
  }
}
