/** `cancel`: a withdrawn hire's pending invites cancelled (one person, or a file of them for one batch). */
import { type Command, Option } from 'commander';
import { CSV_DELIMITERS, type CsvDelimiter, readInvites } from '../../input/readers.ts';
import type { CancelResult } from '../../invites/cancel.ts';
import { emailField } from '../../invites/fields.ts';
import { batchId, emailArg, withInvitebus } from '../context.ts';
import { inputFileSize } from '../enqueue.ts';
import { terminalJson, terminalText } from '../terminal-text.ts';

/** What one person's cancel printed: a heading and one line per tool. */
export function formatCancel(r: CancelResult): string {
  if (r.invites.length === 0)
    return `${r.email}: no invite${r.batchId ? ` in batch ${r.batchId}` : ' in any account'} (never queued, or removed after retention)`;
  const n = r.cancelled;
  const head = r.dryRun
    ? `${r.email}: ${n} pending invite${n === 1 ? '' : 's'} would be cancelled (dry run)`
    : n > 0
      ? `${r.email}: ${n} pending invite${n === 1 ? '' : 's'} cancelled`
      : `${r.email}: nothing to cancel`;
  const width = Math.max(...r.invites.map((l) => l.account.length + l.provider.length + 3));
  const lines = r.invites.map((l) => `  ${`${l.account} (${l.provider})`.padEnd(width)}  ${l.message}`);
  return terminalText([head, ...lines].join('\n'));
}

/** Whether a person's cancel leaves something to look at: nothing known of them, or an invite being sent now. */
const unsettled = (r: CancelResult) => r.invites.length === 0 || r.invites.some((l) => l.status === 'sending');

export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .argument('[email]', "the withdrawn hire's address", emailArg)
    .description(
      "cancel a withdrawn hire's pending invites (waiting, scheduled, retrying or failed) in every account, or only a batch's; says per tool what was already sent",
    )
    .option('--batch <id>', 'only the invites of this batch (an onboarding)', batchId)
    .option('--file <path>', 'the withdrawn hires, a CSV or JSONL file with an email column (needs --batch)')
    .addOption(new Option('--delimiter <char>', 'CSV separator (default: detected from the header row)').choices(Object.keys(CSV_DELIMITERS)))
    .option('--dry-run', 'only say what would be cancelled')
    .option('--json', 'one JSON line per person')
    .action(
      async (email: string | undefined, opts: { batch?: string; file?: string; delimiter?: CsvDelimiter; dryRun?: boolean; json?: boolean }, cmd: Command) => {
        // Usage errors: said by commander, exit 2 (see main).
        if ((email === undefined) === (opts.file === undefined)) cmd.error('error: give one address, or --file PATH with --batch ID', { exitCode: 2 });
        if (opts.file !== undefined && opts.batch === undefined)
          cmd.error('error: --file needs --batch ID: the onboarding the withdrawn hires belong to', { exitCode: 2 });
        if (opts.file !== undefined) inputFileSize(opts.file);
        const options = { by: 'cli' as const, dryRun: opts.dryRun ?? false, ...(opts.batch ? { batchId: opts.batch } : {}) };
        const print = (r: CancelResult) => console.log(opts.json ? terminalJson(r) : formatCancel(r));
        await withInvitebus(cmd, async (ib) => {
          if (email !== undefined) {
            const result = await ib.cancel(email, options);
            print(result);
            if (unsettled(result)) process.exitCode = 1;
            return;
          }
          const file = opts.file as string;
          let people = 0;
          let cancelled = 0;
          let refused = 0;
          let sent = 0;
          let unknown = 0;
          const seen = new Set<string>();
          for await (const row of readInvites(file, opts.delimiter ? { delimiter: opts.delimiter } : {})) {
            const checked = 'record' in row ? emailField.safeParse(row.record.email) : undefined;
            if (checked === undefined || !checked.success) {
              refused += 1;
              const why = 'error' in row ? `${row.field}: ${row.error}` : `email: ${checked?.error.issues[0]?.message ?? 'not a valid address'}`;
              console.error(terminalText(`${file} line ${row.line}: ${why}; skipped`));
              continue;
            }
            const address = checked.data.toLowerCase();
            if (seen.has(address)) continue;
            seen.add(address);
            people += 1;
            const result = await ib.cancel(checked.data, options);
            cancelled += result.cancelled;
            sent += result.invites.filter((l) => l.status === 'sent').length;
            if (unsettled(result)) unknown += 1;
            print(result);
          }
          if (!opts.json)
            console.log(
              `${file}: ${people} ${people === 1 ? 'person' : 'people'}, ${cancelled} invite${cancelled === 1 ? '' : 's'} ${opts.dryRun ? 'would be ' : ''}cancelled in batch ${opts.batch}` +
                `${sent > 0 ? `, ${sent} already sent (remove those people in the tools listed)` : ''}${refused > 0 ? `, ${refused} rows refused` : ''}`,
            );
          if (refused > 0 || unknown > 0) process.exitCode = 1;
        });
      },
    );
}
