import cliProgress from 'cli-progress';
import type { BatchStatus } from '../batches.ts';
import type { Invitebus } from '../core/invitebus.ts';

/** Whether every invite still pending waits for its scheduled time: the batch is waiting as planned, not stuck. */
export function onlyScheduledLeft(s: BatchStatus): boolean {
  return s.sealed && !s.complete && s.scheduled > 0 && s.scheduled >= s.total - s.done;
}

/** "2026-12-11 08:00 UTC": the next scheduled time (the person's own zone is in the report and `find`). */
const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export function formatStatus(s: BatchStatus): string {
  const pct = s.total === 0 ? 100 : Math.floor((s.done / s.total) * 100);
  const outcomes = Object.entries(s.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const reasons = Object.entries(s.reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `batch ${s.batchId}: ${s.done}/${s.total} done (${pct}%)${s.complete ? ', complete' : s.sealed ? (onlyScheduledLeft(s) ? ', the rest scheduled' : '') : ', still being enqueued'}`,
    // Withdrawn hires' invites are said only when there are some: total = succeeded + failed + cancelled + pending.
    `  succeeded ${s.succeeded}, failed ${s.failed}${s.cancelled > 0 ? `, cancelled ${s.cancelled}` : ''}, pending ${Math.max(0, s.total - s.done)}${
      s.scheduled > 0 ? ` (scheduled ${s.scheduled}${s.nextScheduledAt ? `, next ${utc(s.nextScheduledAt)}` : ''})` : ''
    }${
      s.refused + s.duplicates > 0 ? `; not queued: refused at intake ${s.refused}, duplicates ${s.duplicates} (see report)` : ''
    }${s.alreadyInBatch > 0 ? `; rows already in this batch (reruns): ${s.alreadyInBatch}` : ''}`,
    ...(outcomes ? [`  outcomes: ${outcomes}`] : []),
    ...(reasons ? [`  failure reasons: ${reasons}`] : []),
    // An onboarding spans accounts: each tool's progress on its own line.
    ...(Object.keys(s.accounts).length > 1
      ? Object.entries(s.accounts).map(
          ([name, a]) =>
            `  ${name}: ${a.done}/${a.total} done, succeeded ${a.succeeded}, failed ${a.failed}${a.cancelled > 0 ? `, cancelled ${a.cancelled}` : ''}${
              Object.keys(a.outcomes).length > 0
                ? ` (${Object.entries(a.outcomes)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(', ')})`
                : ''
            }`,
        )
      : []),
  ].join('\n');
}

/** Follows a batch until it completes: live bars on a TTY, a line per change otherwise. */
export async function watchBatch(
  ib: Invitebus,
  batchId: string,
  options: { tty: boolean; intervalMs?: number; out?: (s: string) => void },
): Promise<BatchStatus | undefined> {
  const out = options.out ?? ((s: string) => process.stdout.write(`${s}\n`));
  const multi = options.tty
    ? new cliProgress.MultiBar({ format: '{label} {bar} {value}/{total}', hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_grey)
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  let last = '';
  for (;;) {
    const s = await ib.batches.status(batchId);
    if (s === undefined) {
      multi?.stop();
      return undefined;
    }
    if (multi) {
      const rows: Array<[string, number]> = [
        ['done', s.done],
        ['succeeded', s.succeeded],
        ['failed', s.failed],
      ];
      for (const [label, value] of rows) {
        let bar = bars.get(label);
        if (!bar) {
          bar = multi.create(s.total, value, { label: label.padEnd(10) });
          bars.set(label, bar);
        }
        bar.setTotal(s.total);
        bar.update(value, { label: label.padEnd(10) });
      }
    } else {
      const line = formatStatus(s);
      if (line !== last) out(line);
      last = line;
    }
    // Scheduled invites may be weeks away: following them would hold the terminal that long.
    if (s.complete || onlyScheduledLeft(s)) {
      multi?.stop();
      if (multi || onlyScheduledLeft(s)) out(formatStatus(s));
      if (onlyScheduledLeft(s)) out("  every pending invite waits for its scheduled time: see `invitebus report` for each one's");
      return s;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
}
