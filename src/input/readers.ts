import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse/sync';

/** One input row: its 1-based line number and either the record or why it could not be read. */
export type InputRow = ({ line: number; record: Record<string, unknown> } | { line: number; error: string; field: string }) & {
  /** Bytes of the file read so far (for progress). */
  bytes: number;
};

/** Turns CSV cell text into invite fields: empty cells are absent; `roleIds` is a list ("1;2" or "1 2"). */
export function normaliseCsvRecord(record: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, rawValue] of Object.entries(record)) {
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (key === '' || value === '') continue;
    out[key] = key === 'roleIds' ? value.split(/[;|\s]+/).filter(Boolean) : value;
  }
  return out;
}

/** The file's non-blank lines, streamed, with their 1-based numbers and the bytes read so far; BOM removed. */
async function* nonBlankLines(path: string): AsyncGenerator<{ line: number; bytes: number; text: string }> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  let bytes = 0;
  for await (const raw of lines) {
    line += 1;
    bytes += Buffer.byteLength(raw) + 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() !== '') yield { line, bytes, text };
  }
}

/**
 * Streams a CSV file with a header row: BOM, CRLF and quoted fields (with commas and "" escapes) handled.
 * Each physical line is one row: no invite field can hold a line break (addresses and names with control
 * characters are refused anyway), so an unbalanced quote spoils only its own line, which is reported with
 * its number while the rest of the file goes on.
 */
export async function* readCsv(path: string): AsyncGenerator<InputRow> {
  let header: string[] | undefined;
  for await (const { line, bytes, text } of nonBlankLines(path)) {
    let cells: string[];
    try {
      // Most lines have no quotes: a plain split is exact for them and much cheaper than a parser per line.
      if (!text.includes('"')) cells = text.split(',');
      else [cells = []] = parseCsv(text, { relax_quotes: true, relax_column_count: true }) as string[][];
    } catch (error) {
      if (header === undefined) throw new Error(`${path}: the header row (line ${line}) is not valid CSV: ${(error as Error).message}`);
      yield { line, bytes, field: '(row)', error: `unreadable CSV row: ${(error as Error).message}` };
      continue;
    }
    if (header === undefined) {
      header = cells.map((h) => h.trim());
      if (!header.includes('email')) throw new Error(`${path}: the header row has no 'email' column (found: ${header.join(', ')})`);
      continue;
    }
    if (cells.length > header.length && cells.slice(header.length).some((c) => c.trim() !== '')) {
      yield { line, bytes, field: '(row)', error: `${cells.length} cells for ${header.length} columns` };
      continue;
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      record[name] = cells[i] ?? '';
    });
    yield { line, bytes, record: normaliseCsvRecord(record) };
  }
  if (header === undefined) throw new Error(`${path} is empty: a CSV needs a header row with an 'email' column`);
}

/** Streams a JSON Lines file: one invite object per line; blank lines are skipped. */
export async function* readJsonl(path: string): AsyncGenerator<InputRow> {
  for await (const { line, bytes, text } of nonBlankLines(path)) {
    try {
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) yield { line, bytes, field: '(row)', error: 'each line must be a JSON object' };
      else yield { line, bytes, record: value as Record<string, unknown> };
    } catch (error) {
      yield { line, bytes, field: '(row)', error: `not valid JSON: ${(error as Error).message}` };
    }
  }
}

/** The reader for a file, by extension (.csv or .jsonl / .ndjson). */
export function readInvites(path: string): AsyncGenerator<InputRow> {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return readCsv(path);
  if (ext === '.jsonl' || ext === '.ndjson') return readJsonl(path);
  throw new Error(`cannot read ${path}: use a .csv (with a header row) or .jsonl file`);
}
