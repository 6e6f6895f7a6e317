/**
 * What Redis keeps of an invite that succeeded: one small string per invite (`keys.sent(account, jobId)`), written
 * with its terminal event by record-terminal.lua, living as long as the success retention (`retention.
 * completedAgeSec`, the idempotency window). Its BullMQ job is removed as it completes (job option
 * `removeOnComplete: { count: 0 }`): the job's data, options, timestamps and return value would cost ~1.4 KB per
 * invite, this record ~200 bytes. It holds what idempotency (the batch it belongs to, the run it ended), reports,
 * `find`, cancel and reschedule need, as a JSON array by position (the Lua scripts read it with cjson).
 * Failures stay whole BullMQ jobs: replay and correction move them back. Jobs completed by an earlier version are
 * still whole completed jobs, and every reader looks for the job first, then for this record.
 */
import { type Person, personOf } from './person.ts';

/** An invite's success as recorded. */
export interface SentRecord {
  /** invited or already_member. */
  kind: 'invited' | 'already_member';
  status?: number;
  requestId?: string;
  providerId?: string;
  message?: string;
  email: string;
  person?: Person;
  /** Attempts it took. */
  attempts: number;
  batchId?: string;
  /** The run it ended (the job data's enqueuedAt): a later run of the same job is another run. */
  enqueuedAt: number;
  finishedAt: number;
  /** Its scheduled time and the person's zone, when it had one (a rerun with the same time is no reschedule). */
  scheduledFor?: number;
  timeZone?: string;
}

/** The stored form's version: the first element of the array. */
const VERSION = 1;

/**
 * The record as stored: a JSON array by position (field names would cost a fifth of it), absent values as '' or
 * 0; the finish time as ms after the enqueue time. Lua reads the batch ([11]) and the enqueue time ([12]).
 * [version, kind, status, requestId, providerId, message, email, externalId, firstName, lastName, batchId,
 *  enqueuedAt, finishedAt - enqueuedAt, attempts, scheduledFor, timeZone]
 */
export function encodeSentRecord(r: SentRecord): string {
  const p = r.person ?? {};
  const row: Array<string | number> = [
    VERSION,
    r.kind,
    r.status ?? 0,
    r.requestId ?? '',
    r.providerId ?? '',
    r.message ?? '',
    r.email,
    p.externalId ?? '',
    p.firstName ?? '',
    p.lastName ?? '',
    r.batchId ?? '',
    r.enqueuedAt,
    r.finishedAt - r.enqueuedAt,
    r.attempts,
  ];
  if (r.scheduledFor !== undefined) row.push(r.scheduledFor, r.timeZone ?? '');
  return JSON.stringify(row);
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** A stored record read back, or undefined when the text is none (absent, or not one: read defensively). */
export function decodeSentRecord(stored: string | null | undefined): SentRecord | undefined {
  if (!stored) return undefined;
  let row: unknown;
  try {
    row = JSON.parse(stored);
  } catch {
    return undefined;
  }
  if (!Array.isArray(row) || row[0] !== VERSION) return undefined;
  const [, k, status, requestId, providerId, message, email, externalId, firstName, lastName, batchId, q, took, attempts, scheduledFor, timeZone] =
    row as unknown[];
  const kind = k === 'invited' || k === 'already_member' ? k : undefined;
  const enqueuedAt = num(q);
  if (kind === undefined || enqueuedAt === undefined) return undefined;
  const read = personOf({ externalId: text(externalId), firstName: text(firstName), lastName: text(lastName) });
  const person = read.ok ? read.person : undefined;
  const optional = {
    status: num(status) || undefined,
    requestId: text(requestId),
    providerId: text(providerId),
    message: text(message),
    batchId: text(batchId),
    scheduledFor: num(scheduledFor),
    timeZone: text(timeZone),
  };
  return {
    kind,
    email: text(email) ?? '',
    ...(person === undefined ? {} : { person }),
    attempts: num(attempts) ?? 1,
    enqueuedAt,
    finishedAt: enqueuedAt + (num(took) ?? 0),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}
