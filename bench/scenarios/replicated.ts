/**
 * Scenario 10, `replicated`: what `redis.waitReplicas: { replicas: 1 }` (WAIT 1 before an enqueue reports success)
 * costs, against a primary and a replica on loopback started by the bench, beside the same enqueues without it in
 * the same run. Two shapes: one bulk enqueue of N invites (one WAIT at its end), and single invites one at a time
 * (one WAIT each, the worst case: a POST of one invite).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Config, parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { replicasConfirming } from '../../src/redis-connection/wait-replicas.ts';
import { startReplicaPair } from '../../test/support/redis-topologies.ts';
import { betterstack, type Result } from '../lib.ts';

const N = Number(process.env.BENCH_REPLICATED_INVITES ?? 20_000);
const SINGLES = Number(process.env.BENCH_REPLICATED_SINGLES ?? 2_000);
const ROUNDS = Number(process.env.BENCH_REPLICATED_ROUNDS ?? 5);

/** "lo–hi" of a figure over the runs. */
const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};

export async function replicatedScenario(): Promise<Result[]> {
  const pair = await startReplicaPair({ dir: mkdtempSync(join(tmpdir(), 'ib-bench-replicated-')) });
  const primary = pair.primary;
  let run = 0;
  const configOf = (wait: boolean): Config => {
    run += 1;
    return parseConfig({
      redis: { url: primary.url, prefix: `repl${run}`, ...(wait ? { waitReplicas: { replicas: 1 } } : {}) },
      log: { level: 'silent' },
      accounts: { acme: betterstack('https://betterstack.com') },
    });
  };
  /** Invites/s of one enqueue of N, and of SINGLES single invites one after the other, on a fresh prefix. */
  const measure = async (wait: boolean) => {
    const producer = new Producer(configOf(wait));
    try {
      // Every run starts from an empty Redis (and a replica that has caught up with that).
      await producer.redis.flushall();
      await replicasConfirming(producer.redis, producer.config.redis.prefix, { replicas: 1, timeoutMs: 10_000 });
      const people = Array.from({ length: N }, (_, i) => ({ email: `p${i}@example.com`, role: 'member' }));
      let t0 = performance.now();
      const bulk = await producer.inviteMany('acme', people, { batchId: 'bulk' });
      const bulkMs = performance.now() - t0;
      if (bulk.accepted !== N) throw new Error(`bench: the enqueue accepted ${bulk.accepted} of ${N}`);
      // Without the option: how long the replica still needs to have the whole enqueue (what its WAIT waits for).
      t0 = performance.now();
      if (!wait && (await replicasConfirming(producer.redis, producer.config.redis.prefix, { replicas: 1, timeoutMs: 10_000 })) !== 1) {
        throw new Error('bench: the replica did not confirm the enqueue');
      }
      const catchUpMs = performance.now() - t0;
      t0 = performance.now();
      for (let i = 0; i < SINGLES; i++) await producer.invite('acme', { email: `s${i}@example.com`, role: 'member' });
      const singlesMs = performance.now() - t0;
      return { bulkRate: N / (bulkMs / 1000), bulkMs, singleMs: singlesMs / SINGLES, catchUpMs };
    } finally {
      await producer.close();
    }
  };
  try {
    // Alternated, ROUNDS times each, medians compared (single runs vary on a small shared VM).
    const plain: Array<Awaited<ReturnType<typeof measure>>> = [];
    const waited: Array<Awaited<ReturnType<typeof measure>>> = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Each side goes first in every other round.
      if (i % 2 === 0) plain.push(await measure(false));
      waited.push(await measure(true));
      if (i % 2 === 1) plain.push(await measure(false));
    }
    const bulkPlain = median(plain.map((m) => m.bulkRate));
    const bulkWait = median(waited.map((m) => m.bulkRate));
    const singlePlain = median(plain.map((m) => m.singleMs));
    const singleWait = median(waited.map((m) => m.singleMs));
    const scenario = '10. acknowledged means replicated (a primary and a replica on loopback)';
    return [
      {
        scenario,
        metric: `invites/s of one enqueue of ${N.toLocaleString('en')} invites with redis.waitReplicas { replicas: 1 } (one WAIT at its end)`,
        value: bulkWait,
        unit: '/s',
        baseline: { name: 'the same enqueue without it', value: bulkPlain },
        ratio: bulkWait / bulkPlain,
        note: `medians of ${ROUNDS} alternated runs (${range(
          waited.map((m) => m.bulkRate),
          0,
        )} vs ${range(
          plain.map((m) => m.bulkRate),
          0,
        )} /s)`,
      },
      {
        scenario,
        metric: `ms the WAIT 1 takes after an enqueue of ${N.toLocaleString('en')} invites made without the option (what the option adds to it)`,
        value: median(plain.map((m) => m.catchUpMs)),
        unit: 'ms',
        baseline: { name: 'the enqueue itself', value: median(plain.map((m) => m.bulkMs)) },
        ratio: median(plain.map((m) => m.catchUpMs)) / median(plain.map((m) => m.bulkMs)),
        note: `${((100 * median(plain.map((m) => m.catchUpMs))) / median(plain.map((m) => m.bulkMs))).toFixed(2)}% of the enqueue's time; range ${range(
          plain.map((m) => m.catchUpMs),
          1,
        )} ms: the replica is that far behind when the enqueue returns`,
      },
      {
        scenario,
        metric: `ms per single invite with redis.waitReplicas { replicas: 1 } (${SINGLES.toLocaleString('en')} one after the other, one WAIT each)`,
        value: singleWait,
        unit: 'ms',
        baseline: { name: 'the same invites without it', value: singlePlain },
        ratio: singleWait / singlePlain,
        note: `${(1000 / singleWait).toFixed(0)} vs ${(1000 / singlePlain).toFixed(0)} invites/s; medians of ${ROUNDS} alternated runs (${range(
          waited.map((m) => m.singleMs),
          2,
        )} vs ${range(
          plain.map((m) => m.singleMs),
          2,
        )} ms)`,
      },
    ];
  } finally {
    await pair.destroy();
  }
}
