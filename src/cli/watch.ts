import cliProgress from 'cli-progress';
import type { BatchStatus } from '../batches.ts';
import type { Invitebus } from '../core/invitebus.ts';

export function formatStatus(s: BatchStatus): string {
  const pct = s.total === 0 ? 100 : Math.floor((s.done / s.total) * 100);
  const outcomes = Object.entries(s.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const reasons = Object.entries(s.reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `batch ${s.batchId}: ${s.done}/${s.total} done (${pct}%)${s.complete ? ', complete' : s.sealed ? '' : ', still being enqueued'}`,
    `  succeeded ${s.succeeded}, failed ${s.failed}, pending ${Math.max(0, s.total - s.done)}${
      s.refused + s.duplicates > 0 ? `; not queued: refused at intake ${s.refused}, duplicates ${s.duplicates} (see report)` : ''
    }${s.alreadyInBatch > 0 ? `; rows already in this batch (reruns): ${s.alreadyInBatch}` : ''}`,
    ...(outcomes ? [`  outcomes: ${outcomes}`] : []),
    ...(reasons ? [`  failure reasons: ${reasons}`] : []),
    // An onboarding spans accounts: each tool's progress on its own line.
    ...(Object.keys(s.accounts).length > 1
      ? Object.entries(s.accounts).map(
          ([name, a]) =>
            `  ${name}: ${a.done}/${a.total} done, succeeded ${a.succeeded}, failed ${a.failed}${
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
    if (s.complete) {
      multi?.stop();
      if (multi) out(formatStatus(s));
      return s;
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
}
