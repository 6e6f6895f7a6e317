import { beforeAll, describe, expect, it } from 'vitest';
import { batchReport } from '../../src/batches.ts';
import { BULLMQ_EVENTS_MAX_LEN } from '../../src/bullmq-options.ts';
import { Producer } from '../../src/producer.ts';
import { accountStats } from '../../src/stats.ts';
import { type MemoryProbe, probeMemory } from '../support/memory-probe.ts';
import { useRedis } from '../support/redis.ts';

/**
 * BullMQ's own per-queue event stream (`PREFIX:ACCOUNT:events`) stays at the cap invitebus gives every queue
 * (`events.queueMaxLen`), not BullMQ's 10,000 (~1.4 MB per account queue, for good), once many invites finished.
 */
const r = useRedis(import.meta.url);
const N = 2_000;
let probe: MemoryProbe;

beforeAll(async () => {
  probe = await probeMemory(r.url, N, { rounds: 1, prefix: r.prefix });
}, 120_000);

async function withProducer<T>(use: (p: Producer) => Promise<T>): Promise<T> {
  const producer = new Producer(probe.config);
  try {
    return await use(producer);
  } finally {
    await producer.close();
  }
}

describe("BullMQ's per-queue event stream", () => {
  it(`holds about ${BULLMQ_EVENTS_MAX_LEN} entries after ${N} invites finished through one account, in under 48 KB`, async () => {
    const key = `${r.prefix}:acme:events`;
    // MAXLEN ~ trims whole stream nodes: up to one node's entries over the cap stay.
    const [, nodeEntries] = (await r.admin.config('GET', 'stream-node-max-entries')) as [string, string];
    const length = await r.admin.xlen(key);
    const bytes = Number(await r.admin.memory('USAGE', key, 'SAMPLES', '0'));
    process.stdout.write(`BullMQ event stream after ${N} invites: ${length} entries, ${bytes} bytes\n`);
    expect(length).toBeGreaterThan(0);
    expect(length).toBeLessThanOrEqual(BULLMQ_EVENTS_MAX_LEN + Number(nodeEntries));
    // With BullMQ's default cap (10,000) the same run leaves 8,001 entries, ~1 MB.
    expect(bytes).toBeLessThan(48 * 1024);
    expect(await r.admin.hget(`${r.prefix}:acme:meta`, 'opts.maxLenEvents')).toBe(String(BULLMQ_EVENTS_MAX_LEN));
  });

  it('keeps its cap when stats open the queue again, and reports and idempotency read the same', async () => {
    await withProducer(async (producer) => {
      await accountStats(producer);
      expect(await r.admin.hget(`${r.prefix}:acme:meta`, 'opts.maxLenEvents')).toBe(String(BULLMQ_EVENTS_MAX_LEN));

      const lines = [];
      for await (const line of batchReport(producer, probe.batchIds[0] ?? '')) lines.push(line);
      expect(lines).toHaveLength(N);
      expect(lines.every((l) => l.state === 'completed' && l.outcome === 'invited')).toBe(true);

      const again = await producer.inviteMany(
        'acme',
        probe.emails.slice(0, 100).map((email) => ({ email, role: 'member' })),
        { batchId: 'again' },
      );
      expect({ accepted: again.accepted, duplicates: again.duplicates }).toEqual({ accepted: 0, duplicates: 100 });
    });
  });
});
