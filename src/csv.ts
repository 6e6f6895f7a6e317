/**
 * One CSV cell, quoted when it holds a comma, quote or line break (RFC 4180). A cell that a spreadsheet would
 * run as a formula (it begins with =, +, -, @, a tab or a carriage return: OWASP's rule) gets a leading `'`,
 * so provider messages and addresses in a report can never execute in the HR team's spreadsheet.
 */
export function csvCell(value: unknown): string {
  const raw = String(value ?? '');
  const s = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n\t']/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV line of the given columns of a record, with its line break. */
export function csvLine<T extends object>(record: T, columns: readonly (keyof T)[]): string {
  return `${columns.map((c) => csvCell(record[c])).join(',')}\n`;
}
