/**
 * An onboarding by person: one row per person, one column per account with that tool's outcome, and whether
 * the person is done or needs attention. Rows refused at intake and duplicates are part of it, so the report
 * is the whole story of the cohort.
 */
import { batchStatus, intakeLine, invitesReport, type ReportLine } from '../batches.ts';
import { csvLine } from '../csv.ts';
import type { Producer } from '../producer.ts';
import { readIntake } from './intake.ts';

/** Where a person stands: every tool invited (or already a member), some tool failed or refused, or still going. */
export type PersonSummary = 'done' | 'needs attention' | 'in progress';

export interface PersonRow {
  email: string;
  /** Name and address as given, when a name was given. */
  who?: string;
  /** Per account: invited, already_member, failed: REASON, waiting, refused: FIELD: WHY, duplicate... */
  accounts: Record<string, string>;
  summary: PersonSummary;
}

const SUCCEEDED = new Set(['invited', 'already_member']);

/** The cell of one invite: its outcome when finished, its failure reason, or its state. */
function cell(line: ReportLine): string {
  if (line.state === 'completed') return line.outcome;
  if (line.state === 'failed') return `failed: ${line.reason || line.outcome || 'unknown'}`;
  if (line.state === 'refused' || line.state === 'duplicate') return `${line.state}: ${line.message}`;
  return line.state;
}

function summaryOf(cells: readonly string[]): PersonSummary {
  if (cells.some((c) => c.startsWith('failed') || c.startsWith('refused') || c === 'removed')) return 'needs attention';
  if (cells.every((c) => SUCCEEDED.has(c) || c.startsWith('duplicate'))) return 'done';
  return 'in progress';
}

/** A person report as CSV lines: the header, then one line per person (email, name, one column per account, summary). */
export function* peopleCsv(report: { accounts: string[]; people: PersonRow[] }): Generator<string> {
  const columns = ['email', 'name', ...report.accounts, 'summary'];
  yield `${columns.join(',')}\n`;
  for (const p of report.people) yield csvLine({ email: p.email, name: p.who ?? '', ...p.accounts, summary: p.summary } as Record<string, string>, columns);
}

/**
 * The people of a batch (an onboarding), in the order they were first seen, with the batch's accounts as
 * columns. Undefined when there is no such batch. Memory: one row per person.
 */
export async function peopleReport(producer: Producer, batchId: string): Promise<{ accounts: string[]; people: PersonRow[] } | undefined> {
  const status = await batchStatus(producer.redis, producer.config.redis.prefix, batchId);
  if (status === undefined) return undefined;
  const people = new Map<string, { email: string; who?: string; accounts: Record<string, string> }>();
  const accounts = new Set(Object.keys(status.accounts));
  const add = (key: string, email: string, who: string | undefined, account: string, value: string) => {
    let row = people.get(key);
    if (row === undefined) {
      row = { email, ...(who ? { who } : {}), accounts: {} };
      people.set(key, row);
    }
    if (who && row.who === undefined) row.who = who;
    // A person's invite wins over an intake note about the same tool (a duplicate row of someone queued).
    if (row.accounts[account] === undefined || !/^(refused|duplicate)/.test(value)) row.accounts[account] = value;
  };
  for await (const line of invitesReport(producer, batchId)) add(line.email.toLowerCase(), line.email, undefined, line.account, cell(line));
  for await (const entry of readIntake(producer, batchId)) {
    const line = intakeLine(entry);
    // A row refused as a whole (no address, unknown profile) has no account: its column is '(row)'.
    const account = entry.account ?? '(row)';
    accounts.add(account);
    add(line.email ? line.email.toLowerCase() : `${entry.source} ${entry.position}`, line.email || `(${entry.position})`, entry.who, account, cell(line));
  }
  const columns = [...accounts].sort();
  return {
    accounts: columns,
    people: [...people.values()].map((row) => ({ ...row, summary: summaryOf(Object.values(row.accounts)) })),
  };
}
