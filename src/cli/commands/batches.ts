/** `status`, `report` and `batches check`: one batch seen from the terminal. */

import { type Command, Option } from 'commander';
import { REPORT_COLUMNS } from '../../batches.ts';
import { csvLine } from '../../csv.ts';
import { peopleCsv } from '../../onboarding/people.ts';
import { formatBatchCheck } from '../batch-check.ts';
import { batchId, withInvitebus } from '../context.ts';
import { terminalJson, terminalValues } from '../terminal-text.ts';
import { formatStatus, watchBatch } from '../watch.ts';

export function registerBatches(program: Command): void {
  program
    .command('status')
    .argument('<batch>', 'the batch id', batchId)
    .description('per-outcome counts and progress of a batch')
    .option('--watch', 'follow it live until the batch is done')
    .action(async (batch: string, opts: { watch?: boolean }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const status = opts.watch ? await watchBatch(ib, batch, { tty: process.stdout.isTTY }) : await ib.batches.status(batch);
        if (status === undefined) {
          console.error(`no batch '${batch}'`);
          process.exitCode = 1;
        } else if (!opts.watch) console.log(formatStatus(status));
      });
    });

  program
    .command('batches')
    .description('batch maintenance')
    .command('check')
    .argument('<batch>', 'the batch id', batchId)
    .description('recompute a batch from its jobs and their recorded results, report any drift; --repair fixes it (safe to rerun)')
    .option('--repair', 'record stranded results and rewrite drifted counters')
    .option('--json', 'as JSON')
    .action(async (batch: string, opts: { repair?: boolean; json?: boolean }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const check = await ib.batches.check(batch, { repair: opts.repair ?? false });
        console.log(opts.json ? JSON.stringify(check) : formatBatchCheck(check));
        // Drift found and left: exit 1, so a cron job notices.
        process.exitCode = !check.repaired && (check.drift.length > 0 || check.stranded.length > 0) ? 1 : 0;
      });
    });

  program
    .command('report')
    .argument('<batch>', 'the batch id', batchId)
    .description(
      'one line per invite of a batch (outcome, reason, attempts, provider request id, when), then the rows refused at ' +
        'intake and the duplicates; --by person: one row per person, one column per account, done or needs attention',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'json']).default('csv'))
    .addOption(new Option('--by <unit>', 'one line per invite or per person').choices(['invite', 'person']).default('invite'))
    .action(async (batch: string, opts: { format: 'csv' | 'json'; by: 'invite' | 'person' }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        if ((await ib.batches.status(batch)) === undefined) {
          console.error(`no batch '${batch}'`);
          process.exitCode = 1;
          return;
        }
        if (opts.by === 'person') {
          const report = (await ib.batches.people(batch)) ?? { accounts: [], people: [] };
          if (opts.format === 'json') for (const person of report.people) process.stdout.write(`${terminalJson(person)}\n`);
          else for (const line of peopleCsv(terminalValues(report))) process.stdout.write(line);
          return;
        }
        if (opts.format === 'csv') process.stdout.write(`${REPORT_COLUMNS.join(',')}\n`);
        for await (const line of ib.batches.report(batch)) {
          // Messages come from providers and files: nothing in them may act on the terminal.
          process.stdout.write(opts.format === 'json' ? `${terminalJson(line)}\n` : csvLine(terminalValues(line), REPORT_COLUMNS));
        }
      });
    });
}
