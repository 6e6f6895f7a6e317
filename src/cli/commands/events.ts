/** `events`: the event stream as JSON lines. */
import type { Command } from 'commander';
import { withInvitebus } from '../context.ts';
import { printEvents } from '../events.ts';

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('print completion and account events as JSON lines')
    .option('--follow', 'keep waiting for new events')
    .option('--group <group>', 'read as this consumer group and acknowledge each event')
    .option('--consumer <name>', 'consumer name within the group', 'cli')
    .action(async (opts: { follow?: boolean; group?: string; consumer: string }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const controller = new AbortController();
        process.on('SIGINT', () => controller.abort());
        process.on('SIGTERM', () => controller.abort());
        await printEvents(ib.redis, ib.events.key, {
          follow: opts.follow ?? false,
          ...(opts.group ? { group: opts.group, consumer: opts.consumer } : {}),
          signal: controller.signal,
        });
      });
    });
}
