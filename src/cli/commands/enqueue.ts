/** `enqueue`: a CSV or JSONL file into accounts or profiles, as one batch. */

import { type Command, Option } from 'commander';
import { CSV_DELIMITERS } from '../../input/readers.ts';
import { accountList, batchId, columnMapping, LONG_COMMAND_RIDE_OUT_MS, withInvitebus } from '../context.ts';
import type { EnqueueFlags } from '../enqueue.ts';
import { inputFileSize } from '../enqueue.ts';
import { enqueueCommand } from '../enqueue-command.ts';

export function registerEnqueue(program: Command): void {
  program
    .command('enqueue')
    .description(
      'queue the invites of a CSV (header row, email column) or JSONL file: into accounts (--account a,b), by a profile ' +
        "(--profile NAME), or by each row's profile column; one batch (the onboarding) across all of them",
    )
    .option('--account <names>', 'accounts to invite every row into (comma-separated, repeatable); fields from the row', accountList, [])
    .option('--profile <name>', "a profile from the config's profiles: its accounts and fields, for rows without a profile column")
    .requiredOption('--file <path>', '.csv or .jsonl file')
    .option('--batch <id>', 'batch (onboarding) id (default: a new UUID)', batchId)
    .option('--dry-run', 'validate and count only; queue nothing')
    .option('--strict', 'queue nothing if any row is invalid')
    .option('--rejects <path>', 'write rejected and duplicate rows as CSV (line,field,message; with account when several)')
    .addOption(new Option('--delimiter <char>', 'CSV separator (default: detected from the header row)').choices(Object.keys(CSV_DELIMITERS)))
    .option('--map <column=field>', "read a CSV column as a field, e.g. --map 'Work Email=email' (repeatable; over the config's intake.columns)", columnMapping)
    .action(async (opts: EnqueueFlags, cmd: Command) => {
      // A file that is not there is said before Redis is reached.
      inputFileSize(opts.file);
      // An enqueue rides out a failover (Sentinel, Cluster, a managed endpoint: seconds) instead of stopping part way.
      await withInvitebus(
        cmd,
        async (ib, cfg) => {
          process.exitCode = await enqueueCommand(ib, cfg, opts);
        },
        { rideOutMs: LONG_COMMAND_RIDE_OUT_MS },
      );
    });
}
