/**
 * An onboarding by person: one row per person, one column per account with that tool's outcome, and whether
 * the person is done or needs attention. Rows refused at intake and duplicates are part of it, so the report
 * is the whole story of the cohort.
 */
import { batchStatus, intakeLine, invitesReport, type ReportLine } from '../batches.ts';
import { csvLine } from '../csv.ts';
import { nameOf, PERSON_FIELDS, type Person } from '../invites/person.ts';
import type { Producer } from '../producer.ts';
import { type IntakeEntry, readIntake } from './intake.ts';

/**
 * Where a person stands: every tool invited (or already a member), some tool failed or refused, still going, or
 * the rest waiting for its scheduled time (a start date), as planned; or withdrawn (every invite cancelled before
 * it was sent; one already sent to a withdrawn hire needs attention: remove them in that tool).
 */
export type PersonSummary = 'done' | 'needs attention' | 'in progress' | 'scheduled' | 'withdrawn';

export interface PersonRow {
  email: string;
  /** Name and address as given, when a name was given. */
  who?: string;
  /** The person's id in the HR system and names, when given (src/invites/person.ts). */
  externalId?: string;
  firstName?: string;
  lastName?: string;
  /** Per account: invited, already_member, failed: REASON, waiting, refused: FIELD: WHY, duplicate... */
  accounts: Record<string, string>;
  summary: PersonSummary;
}

/** The column of a row refused as a whole (no address, unknown profile, unreadable line): no tool could be told. */
export const WHOLE_ROW = '(row)';

/** Which person an intake entry is: its address (any case), or its place in the input when it has none. */
export function intakePersonKey(entry: IntakeEntry): string {
  const { email } = intakeLine(entry);
  return email ? email.toLowerCase() : `${entry.source} ${entry.position}`;
}

const SUCCEEDED = new Set(['invited', 'already_member']);

/** The cell of one invite: its outcome when finished, its failure reason, or its state. */
function cell(line: ReportLine): string {
  if (line.state === 'completed') return line.outcome;
  if (line.state === 'failed') return `failed: ${line.reason || line.outcome || 'unknown'}`;
  if (line.state === 'refused' || line.state === 'duplicate') return `${line.state}: ${line.message}`;
  if (line.state === 'scheduled') return line.message;
  return line.state;
}

function summaryOf(cells: readonly string[]): PersonSummary {
  if (cells.some((c) => c.startsWith('failed') || c.startsWith('refused') || c === 'removed')) return 'needs attention';
  if (cells.includes('cancelled')) {
    const rest = cells.filter((c) => c !== 'cancelled' && !c.startsWith('duplicate'));
    return rest.length === 0 ? 'withdrawn' : rest.some((c) => SUCCEEDED.has(c)) ? 'needs attention' : 'in progress';
  }
  const finished = (c: string) => SUCCEEDED.has(c) || c.startsWith('duplicate');
  if (cells.every(finished)) return 'done';
  if (cells.every((c) => finished(c) || c.startsWith('scheduled for'))) return 'scheduled';
  return 'in progress';
}

/**
 * A person report as CSV lines: the header, then one line per person (email, externalId, firstName, lastName,
 * name as given, one column per account, summary).
 */
export function* peopleCsv(report: { accounts: string[]; people: PersonRow[] }): Generator<string> {
  const columns = ['email', ...PERSON_FIELDS, 'name', ...report.accounts, 'summary'];
  yield `${columns.join(',')}\n`;
  for (const p of report.people) {
    const person = { externalId: p.externalId ?? '', firstName: p.firstName ?? '', lastName: p.lastName ?? '' };
    yield csvLine({ email: p.email, ...person, name: p.who ?? '', ...p.accounts, summary: p.summary } as Record<string, string>, columns);
  }
}

/** The person of a report line, its fields that hold a value. */
function personOfLine(line: ReportLine): Person {
  const person: Person = {};
  for (const f of PERSON_FIELDS) if (line[f] !== '') person[f] = line[f];
  return person;
}

/**
 * The people of a batch (an onboarding), in the order they were first seen, with the batch's accounts as
 * columns. Undefined when there is no such batch. Memory: one row per person.
 */
export async function peopleReport(producer: Producer, batchId: string): Promise<{ accounts: string[]; people: PersonRow[] } | undefined> {
  const status = await batchStatus(producer.redis, producer.config.redis.prefix, batchId);
  if (status === undefined) return undefined;
  const people = new Map<string, Omit<PersonRow, 'summary'>>();
  const accounts = new Set(Object.keys(status.accounts));
  const add = (key: string, email: string, who: string | undefined, person: Person, account: string, value: string) => {
    let row = people.get(key);
    if (row === undefined) {
      row = { email, ...(who ? { who } : {}), accounts: {} };
      people.set(key, row);
    }
    if (who && row.who === undefined) row.who = who;
    // The first invite (or row) that names them gives the person: a person's invites share one row.
    for (const f of PERSON_FIELDS) if (person[f] !== undefined && row[f] === undefined) row[f] = person[f];
    // A person's invite wins over an intake note about the same tool (a duplicate row of someone queued).
    if (row.accounts[account] === undefined || !/^(refused|duplicate)/.test(value)) row.accounts[account] = value;
  };
  for await (const line of invitesReport(producer, batchId)) {
    const person = personOfLine(line);
    const name = nameOf(person);
    add(line.email.toLowerCase(), line.email, name && `${name} <${line.email}>`, person, line.account, cell(line));
  }
  for await (const entry of readIntake(producer, batchId)) {
    const line = intakeLine(entry);
    // A row refused as a whole (no address, unknown profile) has no account: its column is WHOLE_ROW.
    const account = entry.account ?? WHOLE_ROW;
    accounts.add(account);
    add(intakePersonKey(entry), line.email || `(${entry.position})`, entry.who, personOfLine(line), account, cell(line));
  }
  const columns = [...accounts].sort();
  return {
    accounts: columns,
    people: [...people.values()].map((row) => ({ ...row, summary: summaryOf(Object.values(row.accounts)) })),
  };
}
