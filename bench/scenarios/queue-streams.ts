/**
 * Issue 24: what BullMQ's own per-queue event streams (`PREFIX:ACCOUNT:events`) cost in Redis, at BullMQ's cap
 * (10,000 entries: `events.queueMaxLen: 10000`, the layout before) and at invitebus's (`events.queueMaxLen`, 100),
 * each on a Redis of its own, in one run:
 * - ACCOUNTS (2,000) Better Stack accounts, idle after delivering PER_ACCOUNT (5) invites each through one worker
 *   process: used_memory, and MEMORY USAGE of the streams;
 * - one account after LIFETIME (3,000) invites: its stream once full (BullMQ writes ~4 entries per finished
 *   invite, so an account reaches 10,000 entries after ~2,500 invites over its life; the stream never expires),
 *   and that times ACCOUNTS: the same idle accounts once each has that history.
 */
import { Redis } from 'ioredis';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { invitesPerAccount } from '../../test/support/pipeline.ts';
import { config, ENV, type Result, redis, silent, until } from '../lib.ts';

const ACCOUNTS = Number(process.env.BENCH_QUEUE_STREAM_ACCOUNTS ?? 2_000);
const PER_ACCOUNT = 5;
const LIFETIME = 3_000;
const BEFORE = 10_000;

interface Figures {
  usedMemory: number;
  streamBytes: number;
  streamEntries: number;
  fullStreamBytes: number;
  fullStreamEntries: number;
}

async function streams(admin: Redis, prefix: string, names: readonly string[]): Promise<{ bytes: number; entries: number }> {
  const p = admin.pipeline();
  for (const name of names) p.memory('USAGE', `${prefix}:${name}:events`, 'SAMPLES', '0').xlen(`${prefix}:${name}:events`);
  const replies = ((await p.exec()) ?? []).map(([, v]) => Number(v ?? 0));
  let bytes = 0;
  let entries = 0;
  for (let i = 0; i < replies.length; i += 2) {
    bytes += replies[i] ?? 0;
    entries += replies[i + 1] ?? 0;
  }
  return { bytes, entries };
}

/** Delivers `perAccount` invites to each account through one in-process worker; resolves once every one finished. */
async function deliver(cfg: ReturnType<typeof config>, names: readonly string[], perAccount: number): Promise<void> {
  const producer = new Producer(cfg);
  const workers = await runWorkers(cfg, { env: ENV, logger: silent, control: false, webhooks: false });
  try {
    const items = invitesPerAccount(names, perAccount);
    await producer.enqueue(items);
    const events = producer.events();
    let seen = 0;
    let from = '-';
    await until(
      async () => {
        for (;;) {
          const page = await events.read(from, 5_000);
          seen += page.filter((e) => e.fields.type?.startsWith('invite.')).length;
          if (page.length === 0) break;
          from = page[page.length - 1]?.id ?? from;
        }
        return seen >= items.length;
      },
      900_000,
      `${items.length} completion events`,
    );
  } finally {
    await workers.close();
    await producer.close();
  }
}

async function measure(providerUrl: string, queueMaxLen: number): Promise<Figures> {
  const r = await redis();
  const admin = new Redis(r.url);
  try {
    const account = { provider: 'betterstack', baseUrl: providerUrl, credentials: { token: { env: 'BENCH_TOKEN' } }, concurrency: 16 };
    const names = Array.from({ length: ACCOUNTS }, (_, i) => `a${i}`);
    const cfg = config(r.url, Object.fromEntries(names.map((n) => [n, account])), { events: { queueMaxLen } });
    const info = async () => Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
    const before = await info();
    await deliver(cfg, names, PER_ACCOUNT);
    const usedMemory = (await info()) - before;
    const idle = await streams(admin, cfg.redis.prefix, names);

    const busy = config(r.url, { busy: account }, { events: { queueMaxLen } });
    await deliver(busy, ['busy'], LIFETIME);
    const full = await streams(admin, busy.redis.prefix, ['busy']);
    return { usedMemory, streamBytes: idle.bytes, streamEntries: idle.entries, fullStreamBytes: full.bytes, fullStreamEntries: full.entries };
  } finally {
    await admin.quit();
    await r.destroy();
  }
}

export async function queueStreamsScenario(): Promise<Result[]> {
  const provider = await startFakeServer(betterstackHandler(), { keepRequests: 10 });
  try {
    const was = await measure(provider.url, BEFORE);
    const now = await measure(provider.url, 100);
    const s = `queue-streams: BullMQ's per-queue event streams, events.queueMaxLen 100 (before: BullMQ's ${BEFORE})`;
    const mb = (b: number) => b / 1e6;
    return [
      {
        scenario: s,
        metric: `Redis used_memory after ${ACCOUNTS} accounts delivered ${PER_ACCOUNT} invites each`,
        value: mb(now.usedMemory),
        unit: 'MB',
        baseline: { name: 'before', value: mb(was.usedMemory) },
        ratio: now.usedMemory / was.usedMemory,
        note: `their ${ACCOUNTS} streams: ${mb(now.streamBytes).toFixed(2)} MB in ${now.streamEntries} entries (before ${mb(was.streamBytes).toFixed(2)} MB in ${was.streamEntries})`,
      },
      {
        scenario: s,
        metric: `one account's stream after ${LIFETIME} invites`,
        value: now.fullStreamBytes / 1024,
        unit: 'KB',
        baseline: { name: 'before', value: was.fullStreamBytes / 1024 },
        ratio: now.fullStreamBytes / was.fullStreamBytes,
        note: `${now.fullStreamEntries} entries (before ${was.fullStreamEntries})`,
      },
      {
        scenario: s,
        metric: `${ACCOUNTS} idle accounts' streams once each has delivered ${LIFETIME} invites (${ACCOUNTS} × the above)`,
        value: mb(ACCOUNTS * now.fullStreamBytes),
        unit: 'MB',
        baseline: { name: 'before', value: mb(ACCOUNTS * was.fullStreamBytes) },
        ratio: now.fullStreamBytes / was.fullStreamBytes,
      },
    ];
  } finally {
    await provider.close();
  }
}
