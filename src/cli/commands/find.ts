/** `find`: every invite of one person. */
import type { Command } from 'commander';
import { emailArg, withInvitebus } from '../context.ts';
import { formatFound } from '../format.ts';
import { terminalJson } from '../terminal-text.ts';

export function registerFind(program: Command): void {
  program
    .command('find')
    .argument('<email>', "the person's address", emailArg)
    .description('every invite of one person across accounts: state, outcome, reason, attempts, provider request id, when')
    .option('--json', 'as JSON lines')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const found = await ib.find(email);
        if (found.length === 0) {
          console.error(`no invite of ${email} in any account (never queued, or removed after retention)`);
          process.exitCode = 1;
          return;
        }
        for (const f of found) {
          if (opts.json) {
            console.log(terminalJson(f));
            continue;
          }
          console.log(formatFound(f));
        }
      });
    });
}
