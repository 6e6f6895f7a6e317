/**
 * Start dates as people export them (src/onboarding/schedule.ts): every accepted form, the ambiguous ones refused
 * with the way out, time zones by IANA name, and the instant a profile's inviteAt gives, across summer time.
 */
import { describe, expect, it } from 'vitest';
import {
  canonicalZone,
  formatInZone,
  inviteTime,
  parseStartDate,
  personStart,
  type StartDate,
  scheduledText,
  zonedEpoch,
} from '../../src/onboarding/schedule.ts';

const DEC_14 = { year: 2026, month: 12, day: 14 };
const start = (value: unknown, order?: 'DMY' | 'MDY') => {
  const parsed = parseStartDate(value, order);
  if ('message' in parsed) throw new Error(parsed.message);
  return parsed;
};
const iso = (ms: number) => new Date(ms).toISOString();

describe('reading a start date', () => {
  it.each([
    ['2026-12-14', { date: DEC_14 }],
    ['2026-12-14T09:00', { date: DEC_14, time: { hour: 9, minute: 0, second: 0 } }],
    ['2026-12-14 09:00:30', { date: DEC_14, time: { hour: 9, minute: 0, second: 30 } }],
    ['2026-12-14T09:00:00.000Z', { date: DEC_14, time: { hour: 9, minute: 0, second: 0 }, offsetMinutes: 0 }],
    ['2026-12-14T09:00-05:00', { date: DEC_14, time: { hour: 9, minute: 0, second: 0 }, offsetMinutes: -300 }],
    ['14/12/2026', { date: DEC_14 }],
    ['12/14/2026', { date: DEC_14 }],
    ['14.12.2026', { date: DEC_14 }],
    ['2026/12/14', { date: DEC_14 }],
    ['12/14/2026 9:30 PM', { date: DEC_14, time: { hour: 21, minute: 30, second: 0 } }],
    ['  14/12/2026 ', { date: DEC_14 }],
    // Excel's serial day numbers, as a cell or as a number; the fraction is the time of day.
    ['46370', { date: DEC_14 }],
    [46370.375, { date: DEC_14, time: { hour: 9, minute: 0, second: 0 } }],
    ['46005', { date: { year: 2025, month: 12, day: 14 } }],
  ])('reads %j', (value, expected) => {
    expect(parseStartDate(value)).toEqual(expected);
  });

  it('reads a dotted date day first always (03.04.2026 is 3 April), and the same day twice (05/05) either way', () => {
    expect(start('03.04.2026').date).toEqual({ year: 2026, month: 4, day: 3 });
    expect(start('05/05/2026').date).toEqual({ year: 2026, month: 5, day: 5 });
  });

  it('refuses a date both ways could read unless intake.dateOrder says, and says how to', () => {
    const refused = parseStartDate('03/04/2026');
    expect(refused).toEqual({ message: expect.stringContaining('"03/04/2026" is ambiguous') });
    expect((refused as { message: string }).message).toContain('"intake": { "dateOrder": "DMY" }');
    expect(start('03/04/2026', 'DMY').date).toEqual({ year: 2026, month: 4, day: 3 });
    expect(start('03/04/2026', 'MDY').date).toEqual({ year: 2026, month: 3, day: 4 });
    // With an order set, a date that only fits the other one is a mistake, not a guess.
    expect(parseStartDate('12/14/2026', 'DMY')).toEqual({ message: expect.stringMatching(/no date in DMY order/) });
  });

  it.each([
    ['31/02/2026', /no calendar date/],
    ['2026-02-30', /no calendar date/],
    ['2026-12-14T25:00', /no valid time of day/],
    ['next monday', /is not a date: give an ISO 8601 date/],
    ['14/12/26', /is not a date/],
    ['12345', /Excel serial day number/],
    [1765700000000, /Excel serial day number/],
    [true, /expected a date, got boolean/],
  ])('refuses %j', (value, message) => {
    expect(parseStartDate(value)).toEqual({ message: expect.stringMatching(message) });
  });
});

describe('time zones', () => {
  it('takes IANA names in any case, spelt back as Intl spells them; refuses offsets and unknown names', () => {
    expect(canonicalZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalZone('UTC')).toBe('UTC');
    expect(canonicalZone('+01:00')).toBeUndefined();
    expect(canonicalZone('Mars/Olympus_Mons')).toBeUndefined();
  });

  it('reads a person: their zone, else the config default, else UTC; an empty start date is none', () => {
    expect(personStart({ startDate: '2026-12-14', timeZone: 'asia/tokyo' }, { timeZone: 'Europe/Berlin' })).toMatchObject({ zone: 'Asia/Tokyo' });
    expect(personStart({ startDate: '2026-12-14' }, { timeZone: 'Europe/Berlin' })).toMatchObject({ zone: 'Europe/Berlin' });
    expect(personStart({ startDate: '2026-12-14' }, {})).toMatchObject({ zone: 'UTC' });
    expect(personStart({ startDate: '' }, {})).toEqual({ start: undefined, zone: 'UTC' });
    expect(personStart({ startDate: '2026-12-14', timeZone: 'Berlin' }, {})).toEqual({
      field: 'timeZone',
      message: expect.stringMatching(/"Berlin" is not a time zone/),
    });
    expect(personStart({ startDate: '03/04/2026' }, {})).toEqual({ field: 'startDate', message: expect.stringMatching(/ambiguous/) });
    expect(personStart({ startDate: '03/04/2026' }, { dateOrder: 'MDY' })).toMatchObject({ start: { date: { month: 3, day: 4 } } });
  });
});

describe('when a profile invites', () => {
  const nine = { daysBefore: 3, at: '09:00' };

  it('is 09:00 local three days before, in each of three zones', () => {
    const s = start('2026-12-14');
    expect(iso(inviteTime(s, 'America/New_York', nine))).toBe('2026-12-11T14:00:00.000Z');
    expect(iso(inviteTime(s, 'Europe/Berlin', nine))).toBe('2026-12-11T08:00:00.000Z');
    expect(iso(inviteTime(s, 'Asia/Tokyo', nine))).toBe('2026-12-11T00:00:00.000Z');
    expect(formatInZone(inviteTime(s, 'Asia/Tokyo', nine), 'Asia/Tokyo')).toBe('2026-12-11 09:00 Asia/Tokyo');
  });

  it('counts calendar days across the change to summer time (Berlin, 29 March 2026): 09:00 stays 09:00', () => {
    // Start Monday 30 March (CEST, UTC+2); three days before is Friday 27 March (CET, UTC+1).
    const s = start('2026-03-30');
    expect(iso(inviteTime(s, 'Europe/Berlin', nine))).toBe('2026-03-27T08:00:00.000Z');
    expect(iso(inviteTime(s, 'Europe/Berlin', { daysBefore: 0, at: '09:00' }))).toBe('2026-03-30T07:00:00.000Z');
    // And back to winter time (25 October 2026).
    expect(iso(inviteTime(start('2026-10-26'), 'Europe/Berlin', { daysBefore: 1, at: '09:00' }))).toBe('2026-10-25T08:00:00.000Z');
  });

  it('moves a wall time that does not exist forward by the gap, and takes the first of one that happens twice', () => {
    expect(iso(zonedEpoch({ year: 2026, month: 3, day: 29 }, { hour: 2, minute: 30, second: 0 }, 'Europe/Berlin'))).toBe('2026-03-29T01:30:00.000Z');
    expect(iso(zonedEpoch({ year: 2026, month: 10, day: 25 }, { hour: 2, minute: 30, second: 0 }, 'Europe/Berlin'))).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(zonedEpoch({ year: 2026, month: 3, day: 8 }, { hour: 2, minute: 30, second: 0 }, 'America/New_York'))).toBe('2026-03-08T07:30:00.000Z');
    const gap = start('2026-03-30');
    expect(formatInZone(inviteTime(gap, 'Europe/Berlin', { daysBefore: 1, at: '02:30' }), 'Europe/Berlin')).toBe('2026-03-29 03:30 Europe/Berlin');
  });

  it("without `at`, keeps the start's own time; a start with an offset falls on its date in the person's zone", () => {
    expect(iso(inviteTime(start('2026-12-14T10:15'), 'Europe/Berlin', { daysBefore: 1 }))).toBe('2026-12-13T09:15:00.000Z');
    expect(iso(inviteTime(start('2026-12-14'), 'UTC', { daysBefore: 0 }))).toBe('2026-12-14T00:00:00.000Z');
    // 2026-12-14T02:00+00:00 is still 13 December in New York: two days before is the 11th.
    const instant: StartDate = start('2026-12-14T02:00Z');
    expect(formatInZone(inviteTime(instant, 'America/New_York', { daysBefore: 2, at: '09:00' }), 'America/New_York')).toBe('2026-12-11 09:00 America/New_York');
    expect(inviteTime(start(new Date(Date.UTC(2026, 11, 14, 9)).toISOString()), 'Asia/Tokyo', { daysBefore: 0 })).toBe(Date.UTC(2026, 11, 14, 9));
  });

  it("says when in the person's wall clock with the zone named", () => {
    expect(scheduledText(Date.UTC(2026, 11, 11, 8), 'Europe/Berlin')).toBe('scheduled for 2026-12-11 09:00 Europe/Berlin');
    expect(scheduledText(Date.UTC(2026, 11, 11, 8))).toBe('scheduled for 2026-12-11 08:00 UTC');
  });
});
