import { randomUUID } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import { csvLine } from '../csv.ts';
import { type CsvDelimiter, type InputRow, readInvites } from '../input/readers.ts';
import type { IntakeEntry } from '../onboarding/intake.ts';
import { type OnboardTargets, onboard } from '../onboarding/onboard.ts';
import type { Producer } from '../producer.ts';

/** A row (or one of its tools) that was not queued, with where and why (duplicates: field `email`). */
export interface RejectedRow {
  line: number;
  /** The account the row was refused for, when it was valid for others (onboarding into several tools). */
  account?: string;
  field: string;
  message: string;
}

export interface EnqueueSummary {
  batchId: string;
  rows: number;
  /** Per account: accepted, duplicates, rejected. */
  byAccount: Record<string, { accepted: number; duplicates: number; rejected: number }>;
  accepted: number;
  /** Of the accepted: corrected rows that replace a failed invite of the same person. */
  replaced: number;
  duplicates: number;
  rejected: RejectedRow[];
  /** Each duplicate row: of an earlier line, or of an invite already queued or sent; in line order. */
  duplicateRows: RejectedRow[];
  /** --strict found bad rows, so nothing was queued. */
  aborted: boolean;
  dryRun: boolean;
}

/** The options of `invitebus enqueue`, as the command line gives them. */
export interface EnqueueFlags {
  /** Accounts (repeatable, comma-separated). */
  account?: string[];
  profile?: string;
  file: string;
  batch?: string;
  dryRun?: boolean;
  strict?: boolean;
  rejects?: string;
  delimiter?: CsvDelimiter;
}

export interface EnqueueOptions extends OnboardTargets {
  file: string;
  batchId?: string;
  dryRun?: boolean;
  strict?: boolean;
  /** The CSV separator; without it, detected from the header row. */
  delimiter?: CsvDelimiter;
  /** How to show progress: a bar (TTY), a line per 10,000 rows, or nothing. */
  progress?: 'bar' | 'lines' | 'none';
  log?: (line: string) => void;
}

/** Runs one pass over the file through the producer; rows are streamed, never all held at once. */
async function pass(producer: Producer, options: EnqueueOptions, batchId: string, dryRun: boolean, onRow: (row: InputRow) => void): Promise<EnqueueSummary> {
  const rejected: RejectedRow[] = [];
  // Line of each record handed to the producer, by its index there (4 bytes a row).
  let lines = new Int32Array(1024);
  let handed = 0;
  let rows = 0;
  async function* records() {
    for await (const row of readInvites(options.file, { delimiter: options.delimiter })) {
      rows += 1;
      onRow(row);
      if ('error' in row) {
        rejected.push({ line: row.line, field: row.field, message: row.error });
        continue;
      }
      if (handed === lines.length) {
        const grown = new Int32Array(lines.length * 2);
        grown.set(lines);
        lines = grown;
      }
      lines[handed] = row.line;
      handed += 1;
      yield row.record;
    }
  }
  const targets = { ...(options.profile === undefined ? {} : { profile: options.profile }), ...(options.accounts ? { accounts: options.accounts } : {}) };
  const lineOf = (index: number) => lines[index] ?? 0;
  const source = basename(options.file);
  // Rows the reader could not read never reached the onboarding: its intake log gets them too.
  const refusedBefore = () =>
    rejected.map((r): IntakeEntry => ({ kind: 'refused', at: Date.now(), position: `line ${r.line}`, source, field: r.field, message: r.message }));
  const result = await onboard(producer, records(), targets, {
    batchId,
    dryRun,
    reportDuplicates: true,
    source,
    positionOf: (i) => `line ${lineOf(i)}`,
    refusedBefore,
  });
  // Rows name their account only when the file went to several: with one, it goes without saying.
  const several = Object.keys(result.byAccount ?? {}).length > 1;
  const accountOf = (account: string | undefined) => (several && account ? { account } : {});
  for (const r of result.rejected) rejected.push({ line: lineOf(r.index), ...accountOf(r.account), field: r.field, message: r.message });
  rejected.sort((a, b) => a.line - b.line);
  const duplicateRows = (result.duplicateRows ?? []).map(({ index, account, ofIndex, id }) => ({
    line: lineOf(index),
    ...accountOf(account),
    field: 'email',
    message: ofIndex === undefined ? `duplicate: already queued or sent (invite ${id})` : `duplicate of line ${lineOf(ofIndex)} (same address)`,
  }));
  duplicateRows.sort((a, b) => a.line - b.line);
  return {
    batchId,
    rows,
    byAccount: result.byAccount ?? {},
    accepted: result.accepted,
    replaced: result.replaced,
    duplicates: result.duplicates,
    rejected,
    duplicateRows,
    aborted: false,
    dryRun,
  };
}

/**
 * `invitebus enqueue`: validates every row, queues the valid ones (or, with `strict`, nothing when any row is
 * bad), reports every rejected row by line, field and reason.
 */
export async function enqueueFile(producer: Producer, options: EnqueueOptions): Promise<EnqueueSummary> {
  const batchId = options.batchId ?? randomUUID();
  const size = statSync(options.file).size;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const mode = options.progress ?? 'none';
  const bar =
    mode === 'bar'
      ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {rows} rows', hideCursor: true }, cliProgress.Presets.shades_classic)
      : undefined;

  const run = async (dryRun: boolean) => {
    bar?.start(size, 0, { rows: 0 });
    let count = 0;
    const summary = await pass(producer, options, batchId, dryRun, (row) => {
      count += 1;
      bar?.update(row.bytes, { rows: count });
      if (mode === 'lines' && count % 10_000 === 0) log(`${count} rows read (${Math.round((row.bytes / Math.max(1, size)) * 100)}%)`);
    });
    bar?.update(size, { rows: count });
    bar?.stop();
    return summary;
  };

  if (options.strict && !options.dryRun) {
    const check = await run(true);
    if (check.rejected.length > 0) return { ...check, accepted: 0, replaced: 0, duplicates: 0, duplicateRows: [], aborted: true, dryRun: false };
  }
  return run(options.dryRun ?? false);
}

/** A refused row as the CLI prints it: `line N: account: field: reason` (the account only when it matters). */
export function rowProblem(r: RejectedRow): string {
  return `line ${r.line}: ${r.account ? `${r.account}: ` : ''}${r.field === 'email' && r.message.startsWith('duplicate') ? '' : `${r.field}: `}${r.message}`;
}

/** Writes rows that were not queued (rejected, duplicates) as CSV (line,[account,]field,message), in line order. */
export async function writeRejects(path: string, rows: readonly RejectedRow[]): Promise<void> {
  const out = createWriteStream(path);
  // The account column only when the file went to several accounts.
  const columns = rows.some((r) => r.account !== undefined) ? (['line', 'account', 'field', 'message'] as const) : (['line', 'field', 'message'] as const);
  out.write(`${columns.join(',')}\n`);
  for (const r of rows.toSorted((a, b) => a.line - b.line)) out.write(csvLine({ ...r, account: r.account ?? '' }, columns));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}
