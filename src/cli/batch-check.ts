import type { BatchCheck } from '../batch-check.ts';

/** `batches check`'s text: the verdict first, then each drift and each stranded invite on a line of its own. */
export function formatBatchCheck(check: BatchCheck): string {
  const clean = check.drift.length === 0 && check.stranded.length === 0;
  const lines = [
    clean
      ? `batch ${check.batchId}: ${check.members} invites, counters and results agree with the jobs`
      : `batch ${check.batchId}: ${check.members} invites, ${check.drift.length} counters drifted, ${check.stranded.length} finished invites without a recorded result${
          check.repaired ? ' (repaired)' : ' (run again with --repair to fix)'
        }`,
  ];
  for (const d of check.drift) lines.push(`  ${d.field}: stored ${d.stored}, from the jobs ${d.expected}`);
  for (const s of check.stranded) lines.push(`  ${s.ref}: ${s.state}, result never recorded`);
  return lines.join('\n');
}
