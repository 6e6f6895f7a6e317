/** `accounts`, `stats`, `pause` and `resume`: the accounts. */
import type { Command } from 'commander';
import { withInvitebus } from '../context.ts';
import { accountState, formatAccounts, formatStats } from '../format.ts';
import { terminalJson } from '../terminal-text.ts';

export function registerAccounts(program: Command): void {
  program
    .command('accounts')
    .description(
      'every account and what it is doing: paused (why), held by a rate limit (until when), paced rate of its limit, queue counts; then removed accounts whose invites still wait',
    )
    .option('--json', 'as JSON (the stats of each account, with its state)')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const accounts = await ib.accounts.list({ removed: true });
        const now = Date.now();
        if (opts.json) {
          console.log(terminalJson(accounts.map((a) => ({ ...a, state: accountState(a, now) }))));
          return;
        }
        for (const line of formatAccounts(accounts, now)) console.log(line);
      });
    });

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
