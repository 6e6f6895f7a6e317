/**
 * Who an invite is for, beyond the address: the HR system's employee id (`externalId`) and the person's names.
 * They travel with each invite of the person (job data `person`), into its `invite.*` events, webhooks, reports,
 * `find` and the console, so an HR system can match every result back by its own id. They are not invite
 * fields: a provider gets a name only when its own invite schema takes one (UniBee's `firstName`/`lastName`),
 * and `externalId` never leaves invitebus.
 */
import { describeValue, wrongType } from '../input/describe-value.ts';
import { UNREADABLE } from '../input/zod-messages.ts';

/** The person's fields, in the order reports show them. */
export const PERSON_FIELDS = ['externalId', 'firstName', 'lastName'] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];

/** The person an invite is for, as kept in its job: each field optional, never empty. */
export type Person = { [K in PersonField]?: string };

/** Longest value of a person field: an id or a name, not a document. */
export const PERSON_MAX = 200;

const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * One person field's value, checked: a single-line text of at most PERSON_MAX characters, trimmed ('' is no
 * value). `externalId` may also be a JSON number, taken as its decimal string only when JavaScript holds it
 * exactly (a safe integer: `42` → "42"): a fraction or an id above 2^53 would not be the HR system's id any more.
 * Checked by hand, not by a schema: it runs for every row of an enqueue.
 */
function checkField(field: PersonField, value: unknown): string | { message: string } {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (field === 'externalId' && typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return { message: `${describeValue(value)} is not an exact whole number: give the employee id as a string` };
    text = String(value);
  } else return { message: wrongType(field === 'externalId' ? 'a string (or a whole number)' : 'a string', value) };
  if (text.length > PERSON_MAX) return { message: `${field} is longer than ${PERSON_MAX} characters` };
  if (CONTROL.test(text)) return { message: `${field} contains control characters (CR, LF, tab, ...)` };
  return text;
}

/**
 * The person fields of a record (a CSV row, a JSON person, an invite): checked, trimmed, empty ones left out.
 * Undefined when it names none. A wrong value is refused naming its field; nothing is converted but a safe
 * integer `externalId`. A field whose getter throws (a library caller's object) is refused, never thrown.
 */
export function personOf(record: unknown): { ok: true; person: Person | undefined } | { ok: false; field: PersonField; message: string } {
  if (record === null || typeof record !== 'object') return { ok: true, person: undefined };
  let person: Person | undefined;
  for (const field of PERSON_FIELDS) {
    let value: unknown;
    try {
      value = (record as Record<string, unknown>)[field];
    } catch {
      return { ok: false, field, message: UNREADABLE };
    }
    if (value === undefined) continue;
    const checked = checkField(field, value);
    if (typeof checked !== 'string') return { ok: false, field, message: checked.message };
    if (checked === '') continue;
    person ??= {};
    person[field] = checked;
  }
  return { ok: true, person };
}

/**
 * The person of a job's data, read defensively: the data comes from Redis (an older version, bull-board, a hand)
 * and an event or report must never carry what the producer would have refused. A job without one (queued
 * before invitebus kept people) has none; an invalid one is ignored, never a reason to fail the invite.
 */
export function personOfData(data: unknown): Person | undefined {
  const held = typeof data === 'object' && data !== null ? (data as { person?: unknown }).person : undefined;
  if (held === undefined) return undefined;
  const read = personOf(held);
  return read.ok ? read.person : undefined;
}

/** A person's name as shown: "Ada Lovelace", or undefined when no name was given. */
export function nameOf(person: Person | undefined): string | undefined {
  const name = [person?.firstName, person?.lastName].filter(Boolean).join(' ');
  return name === '' ? undefined : name;
}
