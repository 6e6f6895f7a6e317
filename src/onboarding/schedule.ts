/**
 * Start dates: when a person's invites go out. A person's `startDate` (ISO 8601 or a spreadsheet's form) is read
 * in their time zone (their `timeZone`, else the config's `intake.timeZone`, else UTC); a profile's `inviteAt`
 * (`{ daysBefore: 3, at: "09:00" }`) turns it into the instant each of that profile's tools is invited. The
 * arithmetic is the calendar's (days, wall-clock times) in the person's zone, done with Intl: 09:00 in Berlin is
 * 09:00 whether the day is in summer or winter time.
 */

/** A calendar date. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** A wall-clock time. */
export interface CivilTime {
  hour: number;
  minute: number;
  second: number;
}

/** A start date as read: a date, maybe a time, maybe an offset (then it is an instant, whatever the zone). */
export interface StartDate {
  date: CivilDate;
  time?: CivilTime;
  /** Minutes east of UTC, when the value carried an offset (`+01:00`, `Z`). */
  offsetMinutes?: number;
}

/** Which of day and month comes first in a slashed date both could be (`03/04/2026`). */
export type DateOrder = 'DMY' | 'MDY';

/** When a profile's tools are invited, relative to the start date (config `profiles.NAME.inviteAt`). */
export interface InviteAt {
  /** Calendar days before the start date (0: on the day). */
  daysBefore: number;
  /** Local wall-clock time "HH:MM" in the person's zone; without it, the start's own time (00:00 for a bare date). */
  at?: string;
}

/** The key of a profile that holds its `inviteAt` instead of an account's fields. */
export const INVITE_AT = 'inviteAt';

/** The fields of a person that say when, never sent to a provider. */
export const SCHEDULE_FIELDS = ['startDate', 'timeZone'] as const;

/** Excel's serial day numbers accepted (1954-10-04 … 2119-01-06): a smaller or larger number is no date. */
const SERIAL_MIN = 20_000;
const SERIAL_MAX = 80_000;
/** Excel's day 0 (its day 60 is the 1900-02-29 that never was, so day 0 is 1899-12-30 for every modern date). */
const SERIAL_EPOCH_MS = Date.UTC(1899, 11, 30);
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  return f;
}

/**
 * The IANA name of a time zone as Intl spells it (`europe/berlin` → `Europe/Berlin`), or undefined when it is no
 * zone. Offsets (`+01:00`) are refused: they know no summer time, so "09:00" would drift by an hour half the year.
 */
export function canonicalZone(name: string): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** What a time zone name should look like, for messages. */
export const ZONE_HINT = 'an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"';

/** The wall clock of an instant in a zone. */
export function wallClock(epochMs: number, zone: string): CivilDate & CivilTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(epochMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return {
    year: parts.year ?? 0,
    month: parts.month ?? 0,
    day: parts.day ?? 0,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
  };
}

/** The zone's offset from UTC at an instant, in ms. */
function offsetAt(epochMs: number, zone: string): number {
  const w = wallClock(epochMs, zone);
  const floored = epochMs - (((epochMs % 1000) + 1000) % 1000);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - floored;
}

/**
 * The instant a wall-clock time in a zone names. A time that does not exist (the hour skipped when summer time
 * begins) moves forward by the gap (02:30 → 03:30); a time that happens twice (the hour repeated when it ends)
 * is the earlier one. The same choice as Temporal's 'compatible' and as a calendar app.
 */
export function zonedEpoch(date: CivilDate, time: CivilTime, zone: string): number {
  const asUtc = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute, time.second);
  const before = offsetAt(asUtc - DAY_MS, zone);
  const after = offsetAt(asUtc + DAY_MS, zone);
  const candidates = [...new Set([before, after])]
    .map((offset) => asUtc - offset)
    .filter((t) => {
      const w = wallClock(t, zone);
      return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) === asUtc;
    })
    .sort((a, b) => a - b);
  // In a gap neither offset gives the wall time back: the offset before the change moves it forward by the gap.
  return candidates[0] ?? asUtc - before;
}

const isValidDate = (d: CivilDate) => {
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day));
  return d.year >= 1000 && t.getUTCFullYear() === d.year && t.getUTCMonth() === d.month - 1 && t.getUTCDate() === d.day;
};

function parseTime(hh: string, mm: string, ss: string | undefined, ampm: string | undefined): CivilTime | undefined {
  let hour = Number(hh);
  const minute = Number(mm);
  const second = Number(ss ?? 0);
  if (ampm !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (/^p/i.test(ampm) ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return { hour, minute, second };
}

/** A value not read as a start date: why, and what would be. */
export interface DateProblem {
  message: string;
}

const FORMS =
  'give an ISO 8601 date or date-time (2026-12-14, 2026-12-14T09:00, 2026-12-14T09:00+01:00), or 14/12/2026, 12/14/2026, 14.12.2026, 2026/12/14 or an Excel serial number';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const SLASHED = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?)?$/i;
const YEAR_FIRST = /^(\d{4})\/(\d{1,2})\/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;
const SERIAL = /^\d{5}(?:\.\d+)?$/;

/**
 * Reads a start date: ISO 8601 (`2026-12-14`, `2026-12-14T09:00`, with `Z` or an offset), the forms spreadsheets
 * export (`14/12/2026`, `12/14/2026`, `14.12.2026`, `2026/12/14`, each maybe with a time) or an Excel serial day
 * number (`46370`, a string or a number; a fraction is the time of day). Day and month: a dotted date is always
 * day first (14.12.2026, as everywhere dots are written); a slashed or dashed one is read in the order that makes
 * it a date when only one does (14/12 or 12/14), else by `dateOrder`, else refused as ambiguous.
 */
export function parseStartDate(value: unknown, dateOrder?: DateOrder): StartDate | DateProblem {
  if (typeof value === 'number') return Number.isFinite(value) ? fromSerial(value) : { message: `not a date: ${value}; ${FORMS}` };
  if (typeof value !== 'string') return { message: `expected a date, got ${value === null ? 'null' : Array.isArray(value) ? 'a list' : typeof value}` };
  const text = value.trim();
  const shown = JSON.stringify(text.slice(0, 40));
  let m = ISO.exec(text);
  if (m !== null) {
    const date = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
    if (!isValidDate(date)) return { message: `${shown} is no calendar date` };
    if (m[4] === undefined) return { date };
    const time = parseTime(m[4], m[5] ?? '', m[6], undefined);
    if (time === undefined) return { message: `${shown} has no valid time of day` };
    const zone = m[7];
    if (zone === undefined) return { date, time };
    if (/^z$/i.test(zone)) return { date, time, offsetMinutes: 0 };
    const [, sign, hh, mm] = /^([+-])(\d{2}):?(\d{2})$/.exec(zone) ?? [];
    const offset = Number(hh) * 60 + Number(mm);
    if (offset > 18 * 60) return { message: `${shown} has an offset beyond ±18:00` };
    return { date, time, offsetMinutes: sign === '-' ? -offset : offset };
  }
  m = YEAR_FIRST.exec(text);
  if (m !== null) return civil({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }, m[4], m[5], m[6], undefined, shown);
  m = SLASHED.exec(text);
  if (m !== null) {
    const [, a = '', separator, b = '', year = '', hh, mm, ss, ampm] = m;
    const dmy = { year: Number(year), month: Number(b), day: Number(a) };
    const mdy = { year: Number(year), month: Number(a), day: Number(b) };
    if (separator === '.') return civil(dmy, hh, mm, ss, ampm, shown);
    if (dateOrder !== undefined) {
      const date = dateOrder === 'DMY' ? dmy : mdy;
      if (!isValidDate(date)) return { message: `${shown} is no date in ${dateOrder} order (intake.dateOrder is "${dateOrder}")` };
      return civil(date, hh, mm, ss, ampm, shown);
    }
    const readings = [dmy, mdy].filter(isValidDate);
    if (readings.length === 0) return { message: `${shown} is no calendar date` };
    if (readings.length === 2 && a !== b) {
      return {
        message: `${shown} is ambiguous: day ${Number(a)} of month ${Number(b)}, or month ${Number(a)} day ${Number(b)}? Set "intake": { "dateOrder": "DMY" } (14/12/2026) or "MDY" (12/14/2026) in the config, or give 2026-12-14`,
      };
    }
    return civil(readings[0] as CivilDate, hh, mm, ss, ampm, shown);
  }
  if (SERIAL.test(text)) return fromSerial(Number(text));
  return { message: `${shown} is not a date: ${FORMS}` };
}

function civil(
  date: CivilDate,
  hh: string | undefined,
  mm: string | undefined,
  ss: string | undefined,
  ampm: string | undefined,
  shown: string,
): StartDate | DateProblem {
  if (!isValidDate(date)) return { message: `${shown} is no calendar date` };
  if (hh === undefined) return { date };
  const time = parseTime(hh, mm ?? '', ss, ampm);
  return time === undefined ? { message: `${shown} has no valid time of day` } : { date, time };
}

/** An Excel serial day number (days since 1899-12-30; the fraction is the time of day), read as a local date-time. */
function fromSerial(serial: number): StartDate | DateProblem {
  if (serial < SERIAL_MIN || serial >= SERIAL_MAX) {
    return { message: `${serial} is not a date: as an Excel serial day number it must lie between ${SERIAL_MIN} (1954) and ${SERIAL_MAX} (2119); ${FORMS}` };
  }
  const whole = Math.floor(serial);
  const d = new Date(SERIAL_EPOCH_MS + whole * DAY_MS);
  const date = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
  // Excel stores times as fractions of a day: rounded to the second, as Excel shows them.
  const seconds = Math.round((serial - whole) * 86_400);
  if (seconds === 0) return { date };
  const s = Math.min(seconds, 86_399);
  return { date, time: { hour: Math.floor(s / 3600), minute: Math.floor((s % 3600) / 60), second: s % 60 } };
}

/** "HH:MM" (24-hour) as a time, or undefined. */
export function parseClock(text: string): CivilTime | undefined {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  return m === null ? undefined : parseTime(m[1] ?? '', m[2] ?? '', undefined, undefined);
}

/**
 * The instant a profile's tools are invited for a person starting at `start` in `zone`: the start's calendar
 * date in that zone, `daysBefore` days earlier, at `at` (else the start's own local time; 00:00 for a bare date),
 * in that zone. A start given with an offset is an instant: its date is the one it falls on in the person's zone.
 */
export function inviteTime(start: StartDate, zone: string, inviteAt: InviteAt): number {
  let date = start.date;
  let time = start.time ?? { hour: 0, minute: 0, second: 0 };
  if (start.offsetMinutes !== undefined) {
    const instant = Date.UTC(date.year, date.month - 1, date.day, time.hour, time.minute, time.second) - start.offsetMinutes * 60_000;
    const w = wallClock(instant, zone);
    date = { year: w.year, month: w.month, day: w.day };
    time = { hour: w.hour, minute: w.minute, second: w.second };
  }
  const day = new Date(Date.UTC(date.year, date.month - 1, date.day) - inviteAt.daysBefore * DAY_MS);
  const target = { year: day.getUTCFullYear(), month: day.getUTCMonth() + 1, day: day.getUTCDate() };
  const at = inviteAt.at === undefined ? time : (parseClock(inviteAt.at) ?? time);
  return zonedEpoch(target, at, zone);
}

/** "2026-12-11 09:00 Europe/Berlin": an instant as the person's wall clock, with the zone named. */
export function formatInZone(epochMs: number, zone = 'UTC'): string {
  const w = wallClock(epochMs, zone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}${w.second ? `:${two(w.second)}` : ''} ${zone}`;
}

/** How an invite with a schedule is described: "scheduled for 2026-12-11 09:00 Europe/Berlin". */
export function scheduledText(scheduledFor: number, zone?: string): string {
  return `scheduled for ${formatInZone(scheduledFor, zone)}`;
}

/** The schedule settings of the config: the default zone and date order (config `intake`). */
export interface ScheduleSettings {
  timeZone?: string | undefined;
  dateOrder?: DateOrder | undefined;
}

/** A person's start, read: the start date and their zone, or no start date at all. */
export type PersonStart = { start: StartDate; zone: string } | { start: undefined; zone: string };

/**
 * A person's start date and time zone as given (fields `startDate`, `timeZone`), checked. An empty cell is no
 * start date (invited now); an unreadable one is refused with the field named.
 */
export function personStart(person: Record<string, unknown>, settings: ScheduleSettings): PersonStart | { field: string; message: string } {
  const rawZone = person.timeZone;
  let zone = settings.timeZone ?? 'UTC';
  if (rawZone !== undefined && rawZone !== null && !(typeof rawZone === 'string' && rawZone.trim() === '')) {
    if (typeof rawZone !== 'string') return { field: 'timeZone', message: `expected ${ZONE_HINT}, got ${Array.isArray(rawZone) ? 'a list' : typeof rawZone}` };
    const canonical = canonicalZone(rawZone.trim());
    if (canonical === undefined) return { field: 'timeZone', message: `${JSON.stringify(rawZone.trim().slice(0, 60))} is not a time zone: give ${ZONE_HINT}` };
    zone = canonical;
  }
  const raw = person.startDate;
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { start: undefined, zone };
  const start = parseStartDate(raw, settings.dateOrder);
  if ('message' in start) return { field: 'startDate', message: start.message };
  return { start, zone };
}
