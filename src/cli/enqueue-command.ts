/**
 * `invitebus enqueue` as the command line runs it: the flags in, each row not queued on stderr (and in --rejects)
 * as it is found, one summary line out, Ctrl-C answered with what was confirmed. Returns the exit code.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { extname } from 'node:path';
import type { Config } from '../config/load.ts';
import type { Invitebus } from '../core/invitebus.ts';
import { csvLine } from '../csv.ts';
import { InvitebusError } from '../errors.ts';
import { checkTargets } from '../onboarding/onboard.ts';
import { EnqueueInterruptedError, notRescheduledText } from '../producer.ts';
import { stopOnSignal } from '../signals.ts';
import { type EnqueueFlags, type EnqueueProgress, enqueueFile, type RejectedRow, spansAccounts } from './enqueue.ts';
import { terminalText } from './terminal-text.ts';

/** After Ctrl-C, an enqueue lets its chunks in flight finish (milliseconds, normally) for at most this long. */
const STOP_GRACE_MS = 3_000;

/** Runs `invitebus enqueue`: 0 every row queued (or known), 1 some rows refused. Throws EnqueueInterruptedError when stopped short. */
export async function enqueueCommand(ib: Invitebus, config: Config, opts: EnqueueFlags): Promise<number> {
  const accounts = opts.account ?? [];
  if (opts.map !== undefined && extname(opts.file).toLowerCase() !== '.csv') {
    throw new InvitebusError('INVITE_INVALID', `--map maps the header row of a CSV file; the fields of ${opts.file} are named as they are`);
  }
  const targets = { ...(opts.profile ? { profile: opts.profile } : {}), accounts };
  checkTargets(config, targets);
  const batchId = opts.batch ?? randomUUID();
  const rejects = opts.rejects ? new RejectsFile(opts.rejects, spansAccounts(config, targets)) : undefined;
  // Ctrl-C: chunks in flight finish and the command says what was confirmed (EnqueueInterruptedError, stage
  // 'stopped'); if that takes too long (Redis gone), this line says what was confirmed so far.
  let confirmed: EnqueueProgress = { batchId, rows: 0, accepted: 0, alreadyInBatch: 0, duplicates: 0 };
  const stop = stopOnSignal({
    deadlineMs: STOP_GRACE_MS,
    onLate: () => {
      const c = confirmed;
      const result = { batchId, accepted: c.accepted, replaced: 0, duplicates: c.duplicates, alreadyInBatch: c.alreadyInBatch, rejected: [] };
      console.error(new EnqueueInterruptedError(result, c.rows, undefined, 'stopped').message);
    },
  });
  // Rows not queued are told as they are found, never held: a file of any size runs in constant memory.
  const tty = process.stderr.isTTY;
  const onRow = async (r: RejectedRow) => {
    // Over a progress bar (TTY): clear its line first; it redraws below.
    if (!process.stderr.write(`${tty ? '\r\x1b[K' : ''}${rowProblem(r)}\n`)) await once(process.stderr, 'drain');
    await rejects?.write(r);
  };
  try {
    const summary = await enqueueFile(ib.producer, {
      ...(accounts.length > 0 ? { accounts } : {}),
      ...(opts.profile ? { profile: opts.profile } : {}),
      file: opts.file,
      batchId,
      dryRun: opts.dryRun ?? false,
      strict: opts.strict ?? false,
      ...(opts.delimiter ? { delimiter: opts.delimiter } : {}),
      ...(opts.map ? { columns: opts.map } : {}),
      progress: tty ? 'bar' : 'lines',
      onRow,
      onProgress: (p) => {
        confirmed = p;
      },
      signal: stop.signal,
    });
    const verb = summary.aborted
      ? 'nothing queued (--strict)'
      : summary.dryRun
        ? 'dry run, nothing queued'
        : summary.accepted === 0
          ? 'nothing new to queue'
          : 'queued';
    // People this batch already has (the same file again) are a count, not a line each.
    const again = summary.alreadyInBatch > 0 ? `, already in this batch ${summary.alreadyInBatch}` : '';
    // Columns not read are said, so a column meant to be read (a misspelt mapping) is not lost silently.
    const ignored = summary.ignoredColumns.length > 0 ? `; ignored columns: ${summary.ignoredColumns.join(', ')}` : '';
    console.log(
      `batch ${summary.batchId}: ${summary.rows} rows, accepted ${summary.accepted}${again}, duplicates ${summary.duplicates}, rejected ${summary.rejected} (${verb})${
        summary.replaced > 0 ? `; corrections replacing failed invites: ${summary.replaced}` : ''
      }${ignored}`,
    );
    if ((summary.rescheduled ?? 0) > 0) console.log(`  rescheduled (a new start date): ${summary.rescheduled}`);
    for (const n of summary.notRescheduled ?? []) console.error(terminalText(`line ${n.index}: ${n.account}: ${notRescheduledText(n)}`));
    return summary.rejected > 0 ? 1 : 0;
  } finally {
    stop.dispose();
    await rejects?.close();
  }
}

/** A refused row as the CLI prints it: `line N: account: field: reason` (the account only when it matters). */
export function rowProblem(r: RejectedRow): string {
  return `line ${r.line}: ${r.account ? `${r.account}: ` : ''}${r.field === 'email' && r.message.startsWith('duplicate') ? '' : `${r.field}: `}${r.message}`;
}

/**
 * The --rejects file, written as rows are found (line,[account,]field,message): in the order found, so refusals
 * in line order and each duplicate a little after the lines that follow it. Constant memory.
 */
export class RejectsFile {
  readonly #out: WriteStream;
  readonly #columns: readonly ('line' | 'account' | 'field' | 'message')[];

  /** `withAccount`: the file may go to several accounts (see spansAccounts), so rows name theirs. */
  constructor(path: string, withAccount: boolean) {
    this.#out = createWriteStream(path);
    this.#columns = withAccount ? ['line', 'account', 'field', 'message'] : ['line', 'field', 'message'];
    this.#out.write(`${this.#columns.join(',')}\n`);
  }

  /** Appends one row; waits while the disk is behind. */
  async write(row: RejectedRow): Promise<void> {
    if (!this.#out.write(csvLine({ ...row, account: row.account ?? '' }, this.#columns))) await once(this.#out, 'drain');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.#out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
