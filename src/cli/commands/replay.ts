/** `replay` (and its schedule): failed invites moved back. */
import type { Command } from 'commander';
import { InvitebusError } from '../../errors.ts';
import { isRedisUnreachable } from '../../redis.ts';
import { addReplayFilters, duration, replayFilterOf, setField, withInvitebus } from '../context.ts';
import { replaySummary } from '../replay-summary.ts';

export function registerReplay(program: Command): void {
  const replay = addReplayFilters(program.command('replay').description('move failed invites back to waiting with fresh attempts'))
    .option('--dry-run', 'only count what would be replayed')
    .option('--set <field=value>', 'change a field of every replayed invite (repeatable; checked by the provider schema first)', setField)
    .action(
      async (opts: { account?: string[]; batch?: string; reason?: string; since?: number; dryRun?: boolean; set?: Record<string, unknown> }, cmd: Command) => {
        await withInvitebus(cmd, async (ib) => {
          const result = await ib.replay(replayFilterOf(opts), { dryRun: opts.dryRun ?? false, ...(opts.set ? { set: opts.set } : {}) });
          console.log(replaySummary(result, opts.dryRun ?? false));
        }).catch((error: unknown) => {
          if (!isRedisUnreachable(error)) throw error;
          // Each failure moves in one step (move-failure.lua): none is left half way.
          throw new InvitebusError(
            'REDIS_UNAVAILABLE',
            `${(error as Error).message}\nthe replay stopped part way: every failure it reached was moved or left failed, none half way; run the same command again to replay the rest`,
            { cause: error },
          );
        });
      },
    );
  addReplayFilters(replay.command('schedule').description('replay on a timer (a BullMQ job scheduler run by the workers)'))
    .requiredOption('--every <duration>', 'e.g. 1h', duration)
    .action(async (_opts: unknown, cmd: Command) => {
      // Filters given after `schedule` may have been parsed as `replay`'s own: read both.
      const opts = cmd.optsWithGlobals<{ every: number; account?: string[]; batch?: string; reason?: string; since?: number }>();
      await withInvitebus(cmd, async (ib) => {
        await ib.replays.schedule(opts.every, replayFilterOf(opts));
        console.log(`replay scheduled every ${opts.every / 1000} s`);
      });
    });
  replay
    .command('unschedule')
    .description('stop the scheduled replay')
    .action(async (_opts: unknown, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const removed = await ib.replays.unschedule();
        console.log(removed ? 'scheduled replay removed' : 'no scheduled replay');
      });
    });
}
