import { describe, expect, it } from 'vitest';
import { csvCell, csvLine } from '../src/csv.ts';

describe('CSV cells are safe for spreadsheets (OWASP CSV injection)', () => {
  it.each(['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])('neutralises a cell beginning %j with a leading quote', (value) => {
    const cell = csvCell(value);
    expect(cell.startsWith(`"'`) || cell.startsWith("'")).toBe(true);
    expect(cell).toContain(value.replaceAll('"', '""'));
  });

  it('leaves ordinary values as they are and quotes commas, quotes and line breaks', () => {
    expect(csvLine({ a: 'ann@example.com', b: 422, c: 'a, "b"' }, ['a', 'b', 'c'])).toBe('ann@example.com,422,"a, ""b"""\n');
  });
});
