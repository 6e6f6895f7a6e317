/**
 * An instant's wall clock in a time zone, read with the runtime's own Intl (an oracle independent of the code
 * under test): two-digit fields, a 24-hour clock, and the zone's short name in `locale`.
 */
export function wallClock(
  instant: number | Date,
  timeZone: string,
  locale = 'en-CA',
): { year: string; month: string; day: string; hour: string; minute: string; second: string; timeZoneName: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat(locale, {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
      .formatToParts(instant)
      .map((p) => [p.type, p.value]),
  );
  return parts as ReturnType<typeof wallClock>;
}
