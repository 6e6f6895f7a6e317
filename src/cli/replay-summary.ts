import type { ReplayResult } from '../replay.ts';

/** The replay command's one line: what moved (or would), per account, and what was left to another action. */
export function replaySummary(result: ReplayResult, dryRun: boolean): string {
  const per = Object.entries(result.byAccount)
    .map(([a, n]) => `${a} ${n}`)
    .join(', ');
  if (dryRun) return `would replay ${result.matched} failed invites (${per})`;
  const left = [
    result.skipped.not_failed > 0 ? `${result.skipped.not_failed} already moved by another replay or correction` : '',
    result.skipped.failed_since_start > 0 ? `${result.skipped.failed_since_start} failed again after another replay that ran at the same time moved them` : '',
    result.skipped.not_recorded > 0 ? `${result.skipped.not_recorded} not yet recorded as failed (replay again shortly)` : '',
  ].filter((s) => s !== '');
  return `replayed ${result.replayed} failed invites (${per})${left.length > 0 ? `; left: ${left.join(', ')}` : ''}`;
}
