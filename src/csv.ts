/** One CSV cell, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvCell(value: unknown): string {
  const s = String(value ?? '');
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line of the given columns of a record, with its line break. */
export function csvLine<T extends object>(record: T, columns: readonly (keyof T)[]): string {
  return `${columns.map((c) => csvCell(record[c])).join(',')}\n`;
}
