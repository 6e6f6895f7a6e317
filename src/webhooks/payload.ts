/**
 * What a webhook delivers: one stream event as Standard Webhooks JSON, `{ type, timestamp, data }`, and which
 * endpoints an event goes to. The event's stream id is its stable id: the `webhook-id` header, so a receiver
 * drops a second delivery of the same event.
 */
import type { Config } from '../config/load.ts';
import { isSubscribable } from '../events/catalogue.ts';
import { typedEvent } from '../events/stream.ts';

/** The BullMQ queue of one endpoint: "_" keeps it apart from account queues (those start with a letter or digit). */
export const webhookQueueName = (name: string) => `_webhook-${name}`;

/** A delivery job: the event's id and type, and the exact body that is signed and sent. */
export interface WebhookJobData {
  eventId: string;
  type: string;
  body: string;
  /** Attempts already made outside BullMQ (the fan-out's direct attempt): the schedule continues from there. */
  attemptsBefore?: number;
  /** The receiver refused the direct attempt with a final answer: recorded as this job's failure, not sent again. */
  refused?: string;
}

/** The JSON body of an event: its type, when it happened (ISO 8601) and its fields, numbers as numbers. */
export function webhookBody(eventId: string, fields: Record<string, string>): string {
  const { type = 'unknown', ...rest } = typedEvent(fields);
  const ms = Number(fields.finishedAt ?? fields.at ?? eventId.split('-')[0]);
  return JSON.stringify({ type, timestamp: new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString(), data: rest });
}

type Hook = Config['webhooks'][string];

/**
 * Whether an event goes to an endpoint: a type webhooks may subscribe to (src/events/catalogue.ts), subscribed to,
 * and (when the endpoint filters by account) of one of its accounts.
 */
export function subscribes(hook: Hook, fields: Record<string, string>): boolean {
  const type = fields.type ?? '';
  return (
    isSubscribable(type) &&
    hook.events.includes(type) &&
    (hook.accounts === undefined || fields.account === undefined || hook.accounts.includes(fields.account))
  );
}

/** A URL as shown to operators and in logs: no credentials, no query string (either may hold a token). */
export function shownUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
