/**
 * Where Redis's bytes go per finished invite: enqueues N invites (one batch, each with a person) through a real
 * worker against a local Better Stack fake, waits until every one has finished, then reads `INFO memory`'s
 * used_memory delta and `MEMORY USAGE` of every key under the run's prefix, grouped by what the key is. Used by
 * the memory test and the `memory` bench scenario (no vitest here).
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { type Config, parseConfig } from '../../src/config/load.ts';
import { inviteJobId } from '../../src/policies/job-id.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackBodies, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';

/** What one kind of key costs: keys, bytes (MEMORY USAGE, SAMPLES 0), and bytes per finished invite. */
export interface KeyGroup {
  keys: number;
  bytes: number;
  perInvite: number;
}

export interface MemoryProbe {
  /** Finished invites in all (rounds × N). */
  invites: number;
  /** INFO used_memory after minus before (a fresh Redis: fixed costs too, e.g. scripts), per finished invite. */
  usedMemoryPerInvite: number;
  /**
   * The last round's used_memory delta per invite: what one more finished invite costs once the fixed costs are
   * paid (scripts loaded, BullMQ's capped per-queue event stream full).
   */
  marginalPerInvite: number;
  /** MEMORY USAGE of every key of the run, per invite. */
  keysPerInvite: number;
  groups: Record<string, KeyGroup>;
  /** The config the run used (its prefix): a caller reads the invites back through it. */
  config: Config;
  /** One batch per round. */
  batchIds: string[];
  emails: string[];
}

/** The kind of an invitebus or BullMQ key, by its name under the prefix. */
export function keyKind(prefix: string, key: string): string {
  const rest = key.slice(prefix.length + 1);
  if (rest.startsWith('_invitebus:')) {
    const ib = rest.slice('_invitebus:'.length);
    if (ib.startsWith('done:')) return 'invitebus terminal markers (done:*)';
    if (ib === 'events') return 'invitebus event stream';
    const batch = /^batch:[^:]+(?::(.+))?$/.exec(ib);
    if (batch) return `invitebus batch ${batch[1] ?? 'hash'}`;
    if (ib.startsWith('inv:')) return 'invitebus compact records (inv:*)';
    return `invitebus ${ib.split(':')[0]}`;
  }
  const [, tail = ''] = /^[^:]+:(.+)$/.exec(rest) ?? [];
  if (/^inv-[0-9a-f]{32}$/.test(tail)) return 'BullMQ job hashes';
  if (/^inv-[0-9a-f]{32}:/.test(tail)) return `BullMQ job ${tail.split(':')[1]}`;
  return `BullMQ ${tail}`;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * Makes the queued jobs of these people what an earlier version queued (`removeOnComplete: { age }`, no `count`):
 * they stay whole completed jobs with a terminal marker, the layout before sent records. For the same run's
 * "before" figure and for tests that old data still reads.
 */
export async function asQueuedBefore(producer: Producer, redis: Redis, emails: readonly string[], account = 'acme'): Promise<void> {
  const queue = producer.queue(account);
  const keys = emails.map((email) => queue.toKey(inviteJobId(account, email)));
  const read = redis.pipeline();
  for (const key of keys) read.hget(key, 'opts');
  const replies = (await read.exec()) ?? [];
  const write = redis.pipeline();
  keys.forEach((key, i) => {
    const opts = JSON.parse(String(replies[i]?.[1])) as { removeOnComplete?: { age?: number } };
    write.hset(key, 'opts', JSON.stringify({ ...opts, removeOnComplete: { age: opts.removeOnComplete?.age } }));
  });
  await write.exec();
}

/** Waits until every invite of the batch is recorded (the batch complete) and no job is left to run. */
async function finished(producer: Producer, admin: Redis, prefix: string, batchId: string, n: number): Promise<void> {
  const queue = producer.queue('acme');
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    const status = await admin.hmget(`${prefix}:_invitebus:batch:${batchId}`, 'done', 'completedAt');
    const open = Object.values(counts).reduce((a, c) => a + c, 0);
    if (open === 0 && Number(status[0]) >= n && status[1] !== null) return;
    if (Date.now() > deadline) throw new Error(`memory probe: ${n} invites did not finish in 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Runs `rounds` (2) batches of N invites to the end, one after the other, and measures. `layout: 'whole'` keeps
 * each success as a whole completed job (the layout before sent records) for a same-run baseline. `redisUrl` should be a
 * Redis of its own (a fresh one: used_memory counts everything). `failEvery`: every k-th address is refused by the provider (a failed job), 0 for none.
 */
export async function probeMemory(
  redisUrl: string,
  n: number,
  options: { failEvery?: number; prefix?: string; rounds?: number; layout?: 'compact' | 'whole' } = {},
): Promise<MemoryProbe> {
  const prefix = options.prefix ?? `mem-${randomBytes(3).toString('hex')}`;
  const token = 'bs-memory-probe';
  const handler = betterstackHandler({ tokens: [token] });
  // An address marked "+refused" is answered 422 as Better Stack refuses an address: a failed job, kept whole.
  const fake = await startFakeServer(
    (req) =>
      String((req.json as { email?: unknown } | undefined)?.email).includes('+refused') ? { status: 422, body: betterstackBodies.invalidEmail } : handler(req),
    { keepRequests: 10 },
  );
  const config = parseConfig({
    redis: { url: redisUrl, prefix },
    accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } }, concurrency: 16 } },
  });
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = new Producer(config);
  const logger = pino({ level: 'silent' });
  const failEvery = options.failEvery ?? 0;
  const rounds = options.rounds ?? 2;
  const batchId = `memory-${prefix}`;
  const emails = Array.from({ length: n * rounds }, (_, i) => `person.${i}${failEvery > 0 && i % failEvery === 0 ? '+refused' : ''}@example.com`);
  try {
    const before = await usedMemory(admin);
    let roundStart = before;
    for (let round = 0; round < rounds; round += 1) {
      roundStart = await usedMemory(admin);
      const batch = `${batchId}-${round}`;
      const people = emails.slice(round * n, (round + 1) * n);
      await producer.inviteMany(
        'acme',
        people.map((email, i) => ({ email, role: 'member', externalId: `E${100000 + round * n + i}`, firstName: `First${i}`, lastName: `Last${i}` })),
        { batchId: batch },
      );
      if (options.layout === 'whole') await asQueuedBefore(producer, admin, people);
      // Workers run per round, so every used_memory is read with the same connections open.
      const workers = await runWorkers(config, { env: { BS_TOKEN: token }, logger, control: false, webhooks: false });
      try {
        await finished(producer, admin, prefix, batch, n);
      } finally {
        await workers.close();
      }
    }
    const after = await usedMemory(admin);
    const groups: Record<string, KeyGroup> = {};
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      const pipeline = admin.pipeline();
      for (const key of keys) pipeline.memory('USAGE', key, 'SAMPLES', '0');
      const sizes = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const kind = keyKind(prefix, key);
        const group = groups[kind] ?? { keys: 0, bytes: 0, perInvite: 0 };
        group.keys += 1;
        group.bytes += Number(sizes[i]?.[1] ?? 0);
        groups[kind] = group;
      });
    } while (cursor !== '0');
    const total = Object.values(groups).reduce((a, g) => a + g.bytes, 0);
    for (const group of Object.values(groups)) group.perInvite = group.bytes / (n * rounds);
    return {
      invites: n * rounds,
      usedMemoryPerInvite: (after - before) / (n * rounds),
      marginalPerInvite: (after - roundStart) / n,
      keysPerInvite: total / (n * rounds),
      groups,
      config,
      batchIds: Array.from({ length: rounds }, (_, i) => `${batchId}-${i}`),
      emails,
    };
  } finally {
    await producer.close();
    await admin.quit();
    await fake.close();
  }
}

/** The probe as lines of a table: kind, keys, bytes per invite, largest first. */
export function breakdownLines(probe: MemoryProbe): string[] {
  return Object.entries(probe.groups)
    .sort(([, a], [, b]) => b.bytes - a.bytes)
    .map(([kind, g]) => `| ${kind} | ${g.keys} | ${g.perInvite.toFixed(0)} |`);
}
