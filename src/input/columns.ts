/**
 * Which CSV column is which field: the names a header row may use (any letter case, spaces around), and the
 * mapping an HR export needs (`intake.columns` in the config, `--map` on the command line) when its headers
 * are its own ("Work Email", "Employee ID"). Columns that name no field are ignored, and said so.
 */
import { inviteFieldNames, providers } from '../providers/index.ts';

/**
 * Fields of a person that are not (only) a provider's invite fields: the address, who they are (`name` or first
 * and last names, `externalId`: the HR system's own id), their profiles, and when they start (`startDate`,
 * `timeZone`). They are kept in the person record under exactly these names.
 */
export const PERSON_FIELDS = ['email', 'externalId', 'firstName', 'lastName', 'name', 'profile', 'startDate', 'timeZone'] as const;

/** Every field a column can be (or be mapped to): the person's fields, then every provider's invite fields. */
export const COLUMN_FIELDS: readonly string[] = [...new Set([...PERSON_FIELDS, ...Object.values(providers).flatMap((p) => inviteFieldNames(p))])];

/** A name as it is compared with the fields: lower case, without spaces, `_` or `-` ("First Name", "E-Mail"). */
const fieldKey = (name: string): string => name.toLowerCase().replace(/[\s_-]+/g, '');

const fieldsByKey = new Map(COLUMN_FIELDS.map((f) => [fieldKey(f), f]));

/** A header as the mappings' headers are compared: trimmed, lower case. */
export const columnKey = (name: string): string => name.trim().toLowerCase();

/** The field a name stands for, in its own spelling ("FIRSTNAME", "First Name", "first_name" → firstName), or undefined. */
export const columnField = (name: string): string | undefined => fieldsByKey.get(fieldKey(name));

/** HR header → field, as configured or given (`{ "Work Email": "email" }`). */
export type ColumnMap = Readonly<Record<string, string>>;

/** Why a mapping target is not a field, naming the fields there are; undefined when it is one. */
export function targetProblem(target: string): string | undefined {
  if (columnField(target) !== undefined) return undefined;
  return `unknown field '${target}'; a column can be: ${COLUMN_FIELDS.join(', ')}`;
}

/**
 * The mappings in force: the config's, then the command line's over them. A command-line mapping replaces the
 * config's for the same header and for the same field (`--map 'Private Email=email'` is this file's email
 * column, whatever the config maps to email).
 */
export function mergeColumnMaps(config: ColumnMap, given: ColumnMap = {}): ColumnMap {
  const givenHeaders = new Set(Object.keys(given).map(columnKey));
  const givenFields = new Set(Object.values(given).map((f) => columnField(f) ?? f));
  const kept = Object.entries(config).filter(([header, field]) => !givenHeaders.has(columnKey(header)) && !givenFields.has(columnField(field) ?? field));
  return Object.fromEntries([...kept, ...Object.entries(given)]);
}

/** `--map 'Work Email=email'` as [header, field]; throws saying what is wrong. */
export function parseMapping(text: string): [string, string] {
  const eq = text.lastIndexOf('=');
  const header = text.slice(0, eq).trim();
  const field = text.slice(eq + 1).trim();
  if (eq <= 0 || header === '' || field === '') throw new Error(`'${text}' is not COLUMN=FIELD (e.g. --map 'Work Email=email')`);
  const problem = targetProblem(field);
  if (problem !== undefined) throw new Error(problem);
  return [header, columnField(field) as string];
}

/** A header row read: per column its field (undefined: ignored), and the columns ignored, as written. */
export interface HeaderFields {
  fields: Array<string | undefined>;
  ignored: string[];
  /** Two columns for one field: the header cannot be read (the first of them is in `fields`). */
  problem?: string;
}

/**
 * The field of each header cell: a mapped header its mapping's field, else a header naming a field that field.
 * A mapping wins over a column that only bears the field's name (mapped "Work Email" over a private "Email",
 * which is then ignored); two mapped columns, or two columns by name, for one field are a problem (which of
 * them holds the addresses?).
 */
export function headerFields(cells: readonly string[], map: ColumnMap): HeaderFields {
  const mapped = new Map(Object.entries(map).map(([header, field]) => [columnKey(header), columnField(field) ?? field]));
  const by = cells.map((cell) => {
    const viaMap = mapped.get(columnKey(cell));
    return viaMap !== undefined ? { field: viaMap, mapped: true } : { field: columnField(cell), mapped: false };
  });
  const fields: Array<string | undefined> = [];
  const ignored: string[] = [];
  let problem: string | undefined;
  const holder = new Map<string, { cell: string; mapped: boolean }>();
  for (const [i, cell] of cells.entries()) {
    const { field, mapped: isMapped } = by[i] as { field: string | undefined; mapped: boolean };
    const taken = field === undefined ? undefined : holder.get(field);
    const outranked = field !== undefined && !isMapped && by.some((b) => b.mapped && b.field === field);
    if (field === undefined || outranked) {
      fields.push(undefined);
      if (cell.trim() !== '') ignored.push(cell.trim());
      continue;
    }
    if (taken !== undefined) {
      const how = isMapped ? 'are both mapped to' : 'both name';
      problem ??= `columns '${taken.cell}' and '${cell.trim()}' ${how} ${field}: keep one, or map the other to another field`;
      fields.push(undefined);
      continue;
    }
    holder.set(field, { cell: cell.trim(), mapped: isMapped });
    fields.push(field);
  }
  return { fields, ignored, ...(problem === undefined ? {} : { problem }) };
}

const shellQuoted = (s: string) => (s.includes("'") ? `"${s.replaceAll(/(["\\$`])/g, '\\$1')}"` : `'${s}'`);

/**
 * What to add so that a header row has an email column: the mapping of the column that looks like addresses
 * (its name holds "mail"), in the config and on the command line.
 */
export function emailMappingHint(cells: readonly string[]): string {
  const guess = cells.map((c) => c.trim()).find((c) => /mail/i.test(c));
  const column = guess ?? 'YOUR COLUMN';
  const lead = guess === undefined ? 'name the column of addresses' : `'${guess}' looks like the addresses`;
  return `${lead}: add to the config "intake": { "columns": { ${JSON.stringify(column)}: "email" } } or pass --map ${shellQuoted(`${column}=email`)}`;
}
