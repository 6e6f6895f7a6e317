import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse/sync';
import { providers } from '../providers/index.ts';
import { type ColumnMap, emailMappingHint, type HeaderFields, headerFields } from './columns.ts';
import { kindOf } from './describe-value.ts';

/** One input row: its 1-based line number and either the record or why it could not be read. */
export type InputRow = ({ line: number; record: Record<string, unknown> } | { line: number; error: string; field: string }) & {
  /** Bytes of the file read so far (for progress). */
  bytes: number;
};

/** The separators a CSV file may use, by the name `--delimiter` takes (`tab` or `\\t` for a tab). */
export const CSV_DELIMITERS = { ',': ',', ';': ';', tab: '\t', '\\t': '\t', '|': '|' } as const;
export type CsvDelimiter = keyof typeof CSV_DELIMITERS;

/** How to read an input file. */
export interface ReadOptions {
  /** The CSV separator; without it, detected from the header row. */
  delimiter?: CsvDelimiter;
  /** HR header → field (the config's `intake.columns` with `--map` over them): CSV only. */
  columns?: ColumnMap;
  /** Told once the header row is read: the columns ignored (they name no field) and the field of each column read, as written. */
  onHeader?: (header: { ignored: string[]; read: Array<{ column: string; field: string }> }) => void;
}

const DETECTED = [',', ';', '\t', '|'] as const;
const shownDelimiter = (d: string) => (d === '\t' ? 'tab' : `'${d}'`);

/** Fields a CSV cell gives as a list, as each provider declares them (UniBee's `roleIds`). */
const listFields = new Set(Object.values(providers).flatMap((p) => p.listFields));

/** The cells of one line. Most lines have no quotes: a plain split is exact for them and much cheaper than a parser. */
function splitLine(text: string, delimiter: string): string[] {
  if (!text.includes('"')) return text.split(delimiter);
  const [cells = []] = parseCsv(text, { delimiter, relax_quotes: true, relax_column_count: true }) as string[][];
  return cells;
}

/**
 * What csv-parse found wrong with one line, in the file's terms: its own "at line 1" counts the one line it was
 * given, not the file's (the row's line number is said beside it).
 */
function csvProblem(error: unknown): string {
  if ((error as { code?: unknown }).code === 'CSV_QUOTE_NOT_CLOSED') return 'a quoted cell is not closed (a " with no closing ")';
  return String((error as Error).message).replace(/ at line \d+$/, '');
}

/** One way of splitting the header row: its cells and what each is. */
type HeaderSplit = { delimiter: string; cells: string[] } & HeaderFields;

const hasEmail = (s: HeaderSplit) => s.fields.includes('email');

/** The widest of some splits of the header: the one with the most columns, the earliest on a tie. */
const widest = <T extends { cells: string[] }>(splits: readonly T[]): T | undefined =>
  splits.reduce<T | undefined>((best, s) => (best === undefined || s.cells.length > best.cells.length ? s : best), undefined);

/**
 * The header row's fields and the separator that produced them: the given one, or among `, ; tab |` the one
 * that yields an `email` column, by name or by the mapping (the widest such split). Throws, saying what to do
 * (the mapping line to add), when there is none.
 */
function readHeader(
  path: string,
  line: number,
  text: string,
  given: string | undefined,
  columns: ColumnMap,
): HeaderFields & { delimiter: string; cells: string[] } {
  const split = (delimiter: string): HeaderSplit => {
    try {
      const cells = splitLine(text, delimiter).map((c) => c.trim());
      return { delimiter, cells, ...headerFields(cells, columns) };
    } catch (error) {
      throw new Error(`${path}: the header row (line ${line}) is not valid CSV: ${(error as Error).message}`);
    }
  };
  const found = (s: HeaderSplit): HeaderFields & { delimiter: string; cells: string[] } => {
    if (s.problem !== undefined) throw new Error(`${path}: the header row (line ${line}): ${s.problem}`);
    return { delimiter: s.delimiter, fields: s.fields, ignored: s.ignored, cells: s.cells };
  };
  const chosen = given === undefined ? undefined : split(given);
  if (chosen !== undefined && hasEmail(chosen)) return found(chosen);
  const candidates = DETECTED.map(split);
  const detected = widest(candidates.filter(hasEmail));
  if (chosen === undefined && detected !== undefined) return found(detected);
  if (chosen !== undefined && detected !== undefined) {
    const other = shownDelimiter(detected.delimiter);
    throw new Error(
      `${path}: the header row has no 'email' column when separated by ${shownDelimiter(chosen.delimiter)} (found: ${chosen.cells.join(', ')}); ` +
        `separated by ${other} it has one: pass --delimiter ${other} or leave --delimiter out`,
    );
  }
  const shown = (chosen ?? widest(candidates))?.cells ?? [];
  throw new Error(
    `${path}: the header row has no 'email' column (found: ${shown.join(', ')}): ${emailMappingHint(shown)} ` +
      "(headers match in any letter case); the columns must be separated by ',', ';', tabs or '|' (pass --delimiter to choose one)",
  );
}

/** Turns CSV cell text into invite fields: empty cells are absent; list fields split on `;`, `|` or spaces ("1;2"). */
export function normaliseCsvRecord(record: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, rawValue] of Object.entries(record)) {
    const key = rawKey.trim();
    const value = rawValue.trim();
    if (key === '' || value === '') continue;
    out[key] = listFields.has(key) ? value.split(/[;|\s]+/).filter(Boolean) : value;
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
 * Streams a CSV file with a header row: BOM, CRLF, quoted fields (with separators and "" escapes), `,` `;` tab or
 * `|` as separator (detected from the header unless given) and headers in any letter case handled. Each column
 * is a field by its name or by `columns` (an HR export's "Work Email"); the others are not read (`onHeader`
 * says which), so a record holds fields only, under their own names.
 * Each physical line is one row: no invite field can hold a line break (addresses and names with control
 * characters are refused anyway), so an unbalanced quote spoils only its own line, which is reported with
 * its number while the rest of the file goes on.
 */
export async function* readCsv(path: string, options: ReadOptions = {}): AsyncGenerator<InputRow> {
  const given = options.delimiter === undefined ? undefined : CSV_DELIMITERS[options.delimiter];
  let header: Array<string | undefined> | undefined;
  let delimiter = ',';
  for await (const { line, bytes, text } of nonBlankLines(path)) {
    if (header === undefined) {
      const read = readHeader(path, line, text, given, options.columns ?? {});
      ({ fields: header, delimiter } = read);
      const fields = read.fields.flatMap((field, i) => (field === undefined ? [] : [{ column: read.cells[i] ?? field, field }]));
      options.onHeader?.({ ignored: read.ignored, read: fields });
      continue;
    }
    let cells: string[];
    try {
      cells = splitLine(text, delimiter);
    } catch (error) {
      yield { line, bytes, field: '(row)', error: `unreadable CSV row: ${csvProblem(error)}` };
      continue;
    }
    if (cells.length > header.length && cells.slice(header.length).some((c) => c.trim() !== '')) {
      yield { line, bytes, field: '(row)', error: `${cells.length} cells for ${header.length} columns` };
      continue;
    }
    const record: Record<string, string> = {};
    header.forEach((name, i) => {
      if (name !== undefined) record[name] = cells[i] ?? '';
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
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        yield { line, bytes, field: '(row)', error: `each line must be a JSON object of fields, got ${kindOf(value)}` };
      else yield { line, bytes, record: value as Record<string, unknown> };
    } catch (error) {
      yield { line, bytes, field: '(row)', error: `not valid JSON: ${(error as Error).message}` };
    }
  }
}

/** The reader for a file, by extension (.csv or .jsonl / .ndjson). */
export function readInvites(path: string, options: ReadOptions = {}): AsyncGenerator<InputRow> {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return readCsv(path, options);
  if (ext === '.jsonl' || ext === '.ndjson') return readJsonl(path);
  throw new Error(`cannot read ${path}: use a .csv (with a header row) or .jsonl file`);
}
