/**
 * The event catalogue: every event type invitebus writes to its stream, its fields (which are numbers, which are
 * optional) and whether a webhook may subscribe to it. The event types, the payload types, the numeric fields
 * typed back by consumers, the config's list of webhook events and the webhook subscription check derive from it.
 * batch.completed is written by includes/maybe-complete.lua (atomically with the batch's completion); a test
 * checks that script writes exactly the fields declared here.
 */
import type { Outcome, ReasonClass } from '../types.ts';

/** One field of an event: stored as a string on the stream, typed `T` in the payload. */
interface Field<T, Optional extends boolean> {
  kind: 'string' | 'number';
  optional: Optional;
  /** Never set: carries the field's type for the compiler. */
  type?: T;
}

const str = <T extends string = string>(): Field<T, false> => ({ kind: 'string', optional: false });
const num = (): Field<number, false> => ({ kind: 'number', optional: false });
const optional = <T>(f: Field<T, false>): Field<T, true> => ({ ...f, optional: true });

/** An invite reaching a terminal state (one per job run; record-terminal.lua). */
const inviteFields = {
  inviteId: str(),
  account: str(),
  provider: str(),
  email: str(),
  /** The person (job data `person`, src/invites/person.ts), when given: an HR system matches results back by its id. */
  externalId: optional(str()),
  firstName: optional(str()),
  lastName: optional(str()),
  outcome: str<Outcome['kind']>(),
  reasonClass: optional(str<ReasonClass>()),
  message: optional(str()),
  status: optional(num()),
  requestId: optional(str()),
  providerId: optional(str()),
  attempts: num(),
  batchId: optional(str()),
  enqueuedAt: num(),
  finishedAt: num(),
};

/**
 * A pending invite cancelled (a withdrawn hire; cancel-invite.lua, atomically with its removal and its count):
 * what it was (`previous`: waiting, delayed, prioritized, failed), who cancelled it and when.
 */
const inviteCancelledFields = {
  inviteId: str(),
  account: str(),
  provider: str(),
  email: str(),
  previous: str<'waiting' | 'delayed' | 'prioritized' | 'failed'>(),
  by: str(),
  batchId: optional(str()),
  /** The person as the HR system knows them, when their invite kept it. */
  externalId: optional(str()),
  firstName: optional(str()),
  lastName: optional(str()),
  enqueuedAt: num(),
  at: num(),
};

/** An account paused, resumed or told to wait by its provider. */
const accountFields = {
  account: str(),
  provider: str(),
  reason: optional(str()),
  message: optional(str()),
  waitMs: optional(num()),
  until: optional(num()),
  /** On `account.rate_limited` after a 429 of an adaptive account: its paced rate after it, calls per second. */
  pacedRate: optional(num()),
  at: num(),
};

/** A batch completed (once per round; includes/maybe-complete.lua): its totals as counted in Redis. */
const batchCompletedFields = {
  batchId: str(),
  total: num(),
  succeeded: num(),
  failed: num(),
  refused: num(),
  duplicates: num(),
  alreadyInBatch: num(),
  /** Invites of withdrawn hires, cancelled before they were sent (cancel-invite.lua): succeeded + failed + cancelled = total. */
  cancelled: num(),
  round: num(),
  at: num(),
};

/** A webhook endpoint disabled after failing for too long. */
const webhookDisabledFields = {
  webhook: str(),
  since: num(),
  message: str(),
  at: num(),
};

/** Every event type on the stream: its fields and whether a webhook endpoint may subscribe to it. */
export const EVENT_CATALOGUE = {
  'invite.succeeded': { fields: inviteFields, subscribable: true },
  'invite.failed': { fields: inviteFields, subscribable: true },
  'invite.cancelled': { fields: inviteCancelledFields, subscribable: true },
  'batch.completed': { fields: batchCompletedFields, subscribable: true },
  'account.paused': { fields: accountFields, subscribable: true },
  'account.resumed': { fields: accountFields, subscribable: true },
  'account.rate_limited': { fields: accountFields, subscribable: true },
  // An endpoint may subscribe to its own disabling (delivered once it is back).
  'webhook.disabled': { fields: webhookDisabledFields, subscribable: true },
} as const satisfies Record<string, { fields: Record<string, Field<unknown, boolean>>; subscribable: boolean }>;

/** Event types on the stream. */
export type EventType = keyof typeof EVENT_CATALOGUE;

/** Every event type, in the catalogue's order. */
export const EVENT_TYPES = Object.keys(EVENT_CATALOGUE) as [EventType, ...EventType[]];

/** The event types a webhook endpoint can subscribe to (the config's `webhooks.<name>.events`). */
export const WEBHOOK_EVENT_TYPES = EVENT_TYPES.filter((t) => EVENT_CATALOGUE[t].subscribable) as [EventType, ...EventType[]];

/**
 * The type a webhook test delivery carries (`webhooks test`): sent to one endpoint directly, never on the stream,
 * so no endpoint subscribes to it.
 */
export const WEBHOOK_TEST_TYPE = 'webhook.test';

type Fields<T extends EventType> = (typeof EVENT_CATALOGUE)[T]['fields'];
type Value<F> = F extends Field<infer V, boolean> ? V : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The payload of an event of type T (or of any of a union of types sharing their fields), as written. */
export type EventPayload<T extends EventType> = Simplify<
  { type: T } & { [K in keyof Fields<T> as Fields<T>[K] extends Field<unknown, false> ? K : never]: Value<Fields<T>[K]> } & {
    [K in keyof Fields<T> as Fields<T>[K] extends Field<unknown, true> ? K : never]?: Value<Fields<T>[K]>;
  }
>;

/** The event fields that are numbers: the stream stores strings, consumers get numbers back. */
export const NUMERIC_FIELDS: ReadonlySet<string> = new Set(
  Object.values(EVENT_CATALOGUE).flatMap(({ fields }) =>
    Object.entries(fields as Record<string, Field<unknown, boolean>>)
      .filter(([, f]) => f.kind === 'number')
      .map(([name]) => name),
  ),
);

/** The field names of an event type (without `type`). */
export function eventFields(type: EventType): string[] {
  return Object.keys(EVENT_CATALOGUE[type].fields);
}

/** Whether a webhook endpoint may subscribe to this type (unknown types: no). */
export function isSubscribable(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOGUE, type) && EVENT_CATALOGUE[type as EventType].subscribable;
}
