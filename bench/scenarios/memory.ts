import { breakdownLines, probeMemory } from '../../test/support/memory-probe.ts';
import { type Result, redis } from '../lib.ts';

const INVITES = Number(process.env.BENCH_MEMORY_INVITES ?? 10_000);
const ROUNDS = 3;

/**
 * Redis bytes per finished invite, the layout before sent records (each success a whole completed BullMQ job with
 * its terminal marker: the same jobs, queued as an earlier version queued them) beside today's (a sent record),
 * each on a Redis of its own: ROUNDS batches of INVITES through one worker against a local Better Stack; the last
 * batch's used_memory delta is what one more finished invite costs, the breakdown by key kind where it goes.
 */
export async function memoryScenario(): Promise<Result[]> {
  const figures: Record<'whole' | 'compact', { marginal: number; fresh: number }> = { whole: { marginal: 0, fresh: 0 }, compact: { marginal: 0, fresh: 0 } };
  for (const layout of ['whole', 'compact'] as const) {
    const r = await redis();
    try {
      const probe = await probeMemory(r.url, INVITES, { rounds: ROUNDS, layout });
      figures[layout] = { marginal: probe.marginalPerInvite, fresh: probe.usedMemoryPerInvite };
      console.log(
        `  ${layout === 'whole' ? 'before (whole completed jobs)' : 'after (sent records)'}: MEMORY USAGE by key kind, bytes per invite over ${probe.invites}`,
      );
      console.log('  | key kind | keys | bytes per invite |');
      for (const line of breakdownLines(probe)) console.log(`  ${line}`);
    } finally {
      await r.destroy();
    }
  }
  const name = `13. memory (${ROUNDS} × ${INVITES} invites, one account, each with a person and a batch)`;
  const { whole, compact } = figures;
  return [
    {
      scenario: name,
      metric: 'Redis memory per finished invite (used_memory delta of the last batch / its invites)',
      value: compact.marginal,
      unit: 'bytes',
      baseline: { name: 'the same invites kept as whole completed jobs (before)', value: whole.marginal },
      ratio: compact.marginal / whole.marginal,
      target: '≤ 1,024 bytes',
      met: compact.marginal <= 1024,
      note: `with the fixed costs (a fresh Redis, over all ${ROUNDS * INVITES}): ${compact.fresh.toFixed(0)} bytes, before ${whole.fresh.toFixed(0)}`,
    },
  ];
}
