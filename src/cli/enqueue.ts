import { randomUUID } from 'node:crypto';
import { accessSync, constants, type Stats, statSync } from 'node:fs';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { type ColumnMap, mergeColumnMaps } from '../input/columns.ts';
import { type CsvDelimiter, readInvites } from '../input/readers.ts';
import { type IntakeRow, namesAccounts, type OnboardTargets, onboardRows, PROFILE_FIELD } from '../onboarding/onboard.ts';
import { EnqueueInterruptedError, type NotQueued, type NotRescheduled, type Producer } from '../producer.ts';

/** A row (or one of its tools) that was not queued, with where and why (duplicates: field `email`). */
export interface RejectedRow {
  line: number;
  /** The account the row was refused for, when the file may go to several accounts. */
  account?: string;
  field: string;
  message: string;
}

/** What an enqueue of a file did (counts only: each row not queued went to `onRow` as it was found). */
export interface EnqueueSummary {
  batchId: string;
  rows: number;
  /** Per account: accepted, duplicates, rejected. */
  byAccount: Record<string, { accepted: number; duplicates: number; rejected: number }>;
  accepted: number;
  /** Of the accepted: corrected rows that replace a failed invite of the same person. */
  replaced: number;
  duplicates: number;
  /** Rows of people already in this batch (the same file enqueued again): neither queued again nor duplicates. */
  alreadyInBatch: number;
  /** Rows (or row-tool pairs) refused. */
  rejected: number;
  /** Of the rows already in this batch: scheduled invites moved to a new time (a corrected start date). */
  rescheduled?: number;
  /** Rows already in this batch given a new time too late (due, being sent, sent, failed): line, account, state. */
  notRescheduled?: NotRescheduled[];
  /** --strict found bad rows, so nothing was queued. */
  aborted: boolean;
  dryRun: boolean;
  /** CSV columns that name no field (nor are mapped to one), as the header writes them: not read. */
  ignoredColumns: string[];
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
  /** `--map 'Work Email=email'` (repeatable): header → field, over the config's intake.columns. */
  map?: Record<string, string>;
}

/** What is confirmed so far, after each chunk: what Ctrl-C reports when the stop cannot wait. */
export interface EnqueueProgress {
  batchId: string;
  rows: number;
  accepted: number;
  alreadyInBatch: number;
  duplicates: number;
}

export interface EnqueueOptions extends OnboardTargets {
  file: string;
  batchId?: string;
  dryRun?: boolean;
  strict?: boolean;
  /** The CSV separator; without it, detected from the header row. */
  delimiter?: CsvDelimiter;
  /** Header → field mappings over the config's `intake.columns` (they win: see mergeColumnMaps). */
  columns?: ColumnMap;
  /** How to show progress: a bar (TTY), a line per 10,000 rows, or nothing. */
  progress?: 'bar' | 'lines' | 'none';
  log?: (line: string) => void;
  /**
   * Each row not queued (refused, or a duplicate), as it is found: refusals in line order, a duplicate when its
   * chunk has been to Redis (a little after the lines that follow it). Awaited. Nothing is kept otherwise.
   */
  onRow?: (row: RejectedRow) => void | Promise<void>;
  /** After each chunk: what is confirmed queued so far. */
  onProgress?: (progress: EnqueueProgress) => void;
  /** Stops the enqueue (Ctrl-C): chunks in flight finish, then EnqueueInterruptedError (stage 'stopped'). */
  signal?: AbortSignal;
}

/**
 * Whether rows of this enqueue may go to several accounts (then each refused row names its account): the
 * accounts given, the profile's, and those of every profile a row may name in its own profile column.
 */
export function spansAccounts(config: Config, targets: OnboardTargets): boolean {
  const accounts = new Set(targets.accounts ?? []);
  for (const profile of Object.values(config.profiles)) for (const account of Object.keys(profile)) accounts.add(account);
  return accounts.size > 1;
}

/** Runs one pass over the file through the onboarding; rows are streamed, and none is kept. */
async function pass(
  producer: Producer,
  options: EnqueueOptions,
  batchId: string,
  dryRun: boolean,
  onRead: (bytes: number) => void,
  onRow: (row: RejectedRow, kind: NotQueued['kind']) => void | Promise<void>,
): Promise<EnqueueSummary> {
  let rows = 0;
  let rejected = 0;
  let ignoredColumns: string[] = [];
  const columns = mergeColumnMaps(producer.config.intake.columns, options.columns);
  const targets = { ...(options.profile === undefined ? {} : { profile: options.profile }), ...(options.accounts ? { accounts: options.accounts } : {}) };
  const byAccounts = namesAccounts(targets);
  const onHeader = (header: { ignored: string[]; read: Array<{ column: string; field: string }> }) => {
    const profileColumns = header.read.filter((c) => c.field === PROFILE_FIELD).map((c) => c.column);
    // With --account the tools are given: a profile column (or the column mapped to profile) is not read.
    const unread = byAccounts ? profileColumns.map((column) => `${column} (--account gives the tools)`) : [];
    ignoredColumns = [...header.ignored, ...unread];
    // Nothing says which tools: every row would be refused alike. One line instead, before any row is read.
    if (!byAccounts && options.profile === undefined && profileColumns.length === 0) {
      throw new InvitebusError(
        'INVITE_INVALID',
        `${options.file} has no profile column: give --account a,b or --profile NAME to say which tools these people get`,
      );
    }
  };
  // The rows' own line numbers are their positions: a refusal or duplicate names its line without a table.
  async function* records(): AsyncGenerator<IntakeRow> {
    for await (const row of readInvites(options.file, { delimiter: options.delimiter, columns, onHeader })) {
      rows += 1;
      onRead(row.bytes);
      if ('error' in row) yield { index: row.line, field: row.field, message: row.error };
      else yield { index: row.line, person: row.record };
    }
  }
  // Rows name their account only when the file may go to several: with one, it goes without saying.
  const several = spansAccounts(producer.config, targets);
  const named = (account: string | undefined) => (several && account ? { account } : {});
  const onNotQueued = (row: NotQueued) => {
    if (row.kind === 'rejected') {
      rejected += 1;
      return onRow({ line: row.index, ...named(row.account), field: row.field, message: row.message }, row.kind);
    }
    const message = row.ofIndex === undefined ? `duplicate: already queued or sent (invite ${row.id})` : `duplicate of line ${row.ofIndex} (same address)`;
    return onRow({ line: row.index, ...named(row.account), field: 'email', message }, row.kind);
  };
  try {
    const result = await onboardRows(producer, records(), targets, {
      batchId,
      dryRun,
      source: basename(options.file),
      positionOf: (line) => `line ${line}`,
      onNotQueued,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) => options.onProgress?.({ batchId, rows, accepted: p.accepted, alreadyInBatch: p.alreadyInBatch, duplicates: p.duplicates }),
    });
    return {
      batchId,
      rows,
      byAccount: result.byAccount ?? {},
      accepted: result.accepted,
      replaced: result.replaced,
      duplicates: result.duplicates,
      alreadyInBatch: result.alreadyInBatch,
      rejected,
      rescheduled: result.rescheduled ?? 0,
      notRescheduled: result.notRescheduled ?? [],
      aborted: false,
      dryRun,
      ignoredColumns,
    };
  } catch (error) {
    // Told in the file's terms: rows read, every refusal counted (unreadable lines included).
    if (error instanceof EnqueueInterruptedError) throw new EnqueueInterruptedError(error.result, rows, error.cause, error.stage, rejected);
    throw error;
  }
}

/**
 * The size of the file `--file` names; throws FILE_UNREADABLE saying why, in one line, when it is not a file
 * that can be read (a relative path is the commonest slip: the message says where it was looked for).
 */
export function inputFileSize(path: string): number {
  const problem = (why: string) => new InvitebusError('FILE_UNREADABLE', `--file ${path}: ${why}`);
  const unreadable = (error: unknown) => problem(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw problem(`no such file (a relative path is read from ${process.cwd()})`);
    throw unreadable(error);
  }
  if (stat.isDirectory()) throw problem('is a folder: name the CSV or JSONL file in it');
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    throw unreadable(error);
  }
  return stat.size;
}

/**
 * `invitebus enqueue`: validates every row, queues the valid ones (or, with `strict`, nothing when any row is
 * bad), reports every row not queued by line, field and reason as it is found. Memory does not grow with the
 * file: rows are streamed and none is kept.
 */
export async function enqueueFile(producer: Producer, options: EnqueueOptions): Promise<EnqueueSummary> {
  const batchId = options.batchId ?? randomUUID();
  const size = inputFileSize(options.file);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const mode = options.progress ?? 'none';
  const bar =
    mode === 'bar'
      ? new cliProgress.SingleBar({ format: '{bar} {percentage}% | {rows} rows', hideCursor: true }, cliProgress.Presets.shades_classic)
      : undefined;

  const run = async (dryRun: boolean, report: (kind: NotQueued['kind']) => boolean) => {
    bar?.start(size, 0, { rows: 0 });
    let count = 0;
    try {
      return await pass(
        producer,
        options,
        batchId,
        dryRun,
        (bytes) => {
          count += 1;
          bar?.update(bytes, { rows: count });
          if (mode === 'lines' && count % 10_000 === 0) log(`${count} rows read (${Math.round((bytes / Math.max(1, size)) * 100)}%)`);
        },
        (row, kind) => (report(kind) ? options.onRow?.(row) : undefined),
      );
    } finally {
      bar?.update(size, { rows: count });
      bar?.stop();
    }
  };

  if (options.strict && !options.dryRun) {
    // The check pass tells the refused rows only: its duplicates are told by the real pass, if one follows.
    const check = await run(true, (kind) => kind === 'rejected');
    if (check.rejected > 0) return { ...check, accepted: 0, replaced: 0, duplicates: 0, alreadyInBatch: 0, aborted: true, dryRun: false };
  }
  return run(options.dryRun ?? false, () => true);
}
