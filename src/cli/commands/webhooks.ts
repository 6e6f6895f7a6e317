/** `webhooks list|test|replay|enable`. */
import type { Command } from 'commander';
import { duration, withInvitebus } from '../context.ts';
import { formatWebhook } from '../format.ts';
import { terminalJson, terminalText } from '../terminal-text.ts';

export function registerWebhooks(program: Command): void {
  const webhooks = program.command('webhooks').description('the endpoints results are pushed to: health, test, replay, enable');
  webhooks
    .command('list', { isDefault: true })
    .description('each endpoint: URL (no query), events, disabled or failing since when, last answer, deliveries waiting/failed/not started')
    .option('--json', 'as JSON lines')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const list = await ib.webhooks.list();
        if (list.length === 0) console.log('no webhooks configured (add "webhooks" to the config)');
        for (const w of list) {
          if (opts.json) {
            console.log(terminalJson(w));
            continue;
          }
          console.log(formatWebhook(w));
        }
      });
    });
  webhooks
    .command('test')
    .argument('<name>', 'the webhook')
    .description('send a signed webhook.test event now and print how the receiver answered (needs a worker process)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const result = await ib.webhooks.test(name);
        console.log(terminalText(`${name}: ${result.message}`));
        process.exitCode = result.delivered ? 0 : 1;
      });
    });
  webhooks
    .command('replay')
    .argument('<name>', 'the webhook')
    .requiredOption('--since <duration>', 'events of the last ... (e.g. 2h)', duration)
    .description('send the endpoint again every event it subscribes to from the last --since (same webhook-id: receivers drop what they have)')
    .action(async (name: string, opts: { since: number }, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const { queued } = await ib.webhooks.replay(name, opts.since);
        console.log(`${name}: ${queued} events queued for delivery`);
      });
    });
  webhooks
    .command('enable')
    .argument('<name>', 'the webhook')
    .description('send now: enable a disabled endpoint, and send deliveries waiting for a retry at once (after a receiver outage)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withInvitebus(cmd, async (ib) => {
        const { wasDisabled, sentNow } = await ib.webhooks.enable(name);
        console.log(`${name}: ${wasDisabled ? 'enabled' : 'was not disabled'}; ${sentNow} deliveries waiting for a retry sent now`);
      });
    });
}
