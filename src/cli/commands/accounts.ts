/** `stats`, `pause` and `resume`: the accounts. */
import type { Command } from 'commander';
import { withInvitebus } from '../context.ts';
import { formatStats } from '../format.ts';

export function registerAccounts(program: Command): void {
  program
    .command('stats')
    .description('per account: waiting, active, delayed, completed, failed, paused (and why), rate-limit wait')
    .option('--json', 'as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const stats = await ib.accounts.list();
        if (opts.json) {
          console.log(JSON.stringify(stats, null, 2));
          return;
        }
        for (const line of formatStats(stats)) console.log(line);
      });
    });

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(`${action} <account>`)
      .description(action === 'pause' ? 'stop delivering an account’s invites (they stay waiting)' : 'deliver a paused account’s invites again')
      .action(async (name: string, _opts: unknown, cmd: Command) => {
        await withInvitebus(cmd, async (ib) => {
          const changed = action === 'pause' ? await ib.accounts.pause(name) : await ib.accounts.resume(name);
          console.log(`${name}: ${changed ? `${action}d` : `already ${action === 'pause' ? 'paused' : 'running'}`}`);
        });
      });
  }
}
