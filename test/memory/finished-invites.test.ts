import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchReport, type ReportLine } from '../../src/batches.ts';
import { type OwnRedis, startOwnRedis } from '../../src/embedded-redis.ts';
import { cancelPerson } from '../../src/invites/cancel.ts';
import { type FoundInvite, findInvitesByEmail } from '../../src/invites/lookup.ts';
import { Producer } from '../../src/producer.ts';
import { breakdownLines, probeMemory } from '../support/memory-probe.ts';

/**
 * Redis memory per finished invite, on a Redis of this file's own (INFO used_memory counts everything in it, so
 * the shared test Redis, written by other files at the same time, would not do).
 */
let redis: OwnRedis;
beforeAll(async () => {
  redis = await startOwnRedis();
});
afterAll(async () => {
  await redis?.destroy();
});

async function withProducer<T>(config: Producer['config'], use: (p: Producer) => Promise<T>): Promise<T> {
  const producer = new Producer(config);
  try {
    return await use(producer);
  } finally {
    await producer.close();
  }
}

async function all<T>(lines: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

/** What a reader tells about an invite, without the times of this particular run. */
const timeless = ({ at: _, ...line }: ReportLine) => line;
const foundTimeless = ({ at: _, enqueuedAt: _q, finishedAt: _f, ...line }: FoundInvite) => line;

describe('Redis memory per finished invite', () => {
  it('stays within 1 KB per succeeded invite once the fixed costs are paid, and the invites still read the same', { timeout: 120_000 }, async () => {
    const n = 2_000;
    // Three batches of N, one after the other: the last one's used_memory delta is what one more invite costs
    // (scripts loaded, BullMQ's per-queue event stream at its cap after the first).
    const probe = await probeMemory(redis.url, n, { rounds: 3 });
    process.stdout.write(
      `memory: ${probe.marginalPerInvite.toFixed(0)} bytes per finished invite (last ${n}); ${probe.usedMemoryPerInvite.toFixed(0)} with the fixed costs over ${probe.invites}\n${breakdownLines(probe).join('\n')}\n`,
    );
    expect(probe.marginalPerInvite).toBeLessThanOrEqual(1_024);

    await withProducer(probe.config, async (producer) => {
      const [first = ''] = probe.batchIds;
      const lines = await all(batchReport(producer, first));
      expect(lines).toHaveLength(n);
      expect(lines.every((l) => l.state === 'completed' && l.outcome === 'invited' && l.attempts === 1 && l.status === '201')).toBe(true);
      expect(lines[7]).toMatchObject({ email: 'person.7@example.com', externalId: 'E100007', firstName: 'First7', lastName: 'Last7' });

      const [found] = await findInvitesByEmail(producer, 'Person.7@Example.com');
      expect(found).toMatchObject({ state: 'completed', outcome: 'invited', email: 'person.7@example.com', externalId: 'E100007' });

      // Idempotency: the same people again, in another batch, within the retention: none is queued again.
      const again = await producer.inviteMany(
        'acme',
        probe.emails.slice(0, 100).map((email) => ({ email, role: 'member' })),
        { batchId: 'again' },
      );
      expect({ accepted: again.accepted, duplicates: again.duplicates }).toEqual({ accepted: 0, duplicates: 100 });
    });
  });

  it('tells the same of an invite kept as a sent record as of one kept whole by an earlier version: report, find, cancel, enqueue again', async () => {
    // Every fifth address is refused by the provider: failures are whole jobs in both layouts.
    const whole = await probeMemory(redis.url, 20, { rounds: 1, failEvery: 5, layout: 'whole' });
    const compact = await probeMemory(redis.url, 20, { rounds: 1, failEvery: 5 });
    expect(whole.groups['BullMQ job hashes']?.keys).toBe(20);
    expect(compact.groups['BullMQ job hashes']?.keys).toBe(4);
    expect(compact.groups['invitebus sent']?.keys).toBe(16);

    const read = (probe: typeof whole) =>
      withProducer(probe.config, async (producer) => ({
        report: (await all(batchReport(producer, probe.batchIds[0] ?? ''))).map(timeless),
        found: (await Promise.all(probe.emails.map((email) => findInvitesByEmail(producer, email)))).flat().map(foundTimeless),
        cancel: (await Promise.all(probe.emails.slice(0, 3).map((email) => cancelPerson(producer, email, { dryRun: true })))).map((r) =>
          r.invites.map(({ at: _, ...line }) => ({
            ...line,
            ...(line.batchId === probe.batchIds[0] ? { batchId: '<its batch>' } : {}),
            message: line.message.replace(/ on .*:/, ' on <when>:'),
          })),
        ),
        again: await producer.inviteMany(
          'acme',
          probe.emails.map((email) => ({ email, role: 'member' })),
          { batchId: 'again' },
        ),
      }));
    const before = await read(whole);
    const after = await read(compact);
    expect(after.report.filter((l) => l.state === 'completed')).toHaveLength(16);
    expect(after.report).toEqual(before.report);
    expect(after.found).toEqual(before.found);
    expect(after.cancel).toEqual(before.cancel);
    expect(after.cancel[1]?.[0]).toMatchObject({ status: 'sent' });
    expect({ accepted: after.again.accepted, duplicates: after.again.duplicates }).toEqual({ accepted: 0, duplicates: 20 });
    expect({ accepted: before.again.accepted, duplicates: before.again.duplicates }).toEqual({ accepted: 0, duplicates: 20 });
  });
});
