/**
 * Issue 24: one worker process with 10, 1,000 and 10,000 Better Stack accounts against one local provider, as shipped
 * (128 MB heap cap, the default bound on accounts' workers alive at once).
 *
 * - Idle: Redis connections, idle Redis commands/s, RSS, start-up time.
 * - Process-bound delivery (5 calls/s per account, 5 invites each: minimum 0.8 s): 5,000-50,000 invites in 0.8 s is
 *   beyond one process (and Redis's one-slot ceiling, ~7,000 invites/s), so the figure is the process's throughput
 *   (invites/s) beside a single account's pipeline measured in the same run (one account, no limit, 50 in flight).
 * - Limit-bound delivery (each account at 1 call per max(2 s, N / 250 s), 5 invites each): the minimum is the
 *   limit's (4 intervals) and the process has room (≤ 250 calls/s in all); target ≤ 1.1 × that minimum for each
 *   account's own time (its first invite enqueued to its last finished); the whole run's time, the enqueue of all
 *   N × 5 invites included, beside it.
 * - Fairness (issue 24's 100,000-invite account beside 1,999 accounts of 5, scaled down to run in ~1 minute): one
 *   account with 6,000 invites at 100/s beside 1,999 accounts of 5 invites at 1 call per 10 s (minimum 40 s): each
 *   small account's time (its first invite enqueued to its last finished) vs its own minimum, max and p99, and the
 *   big account's rate vs its limit.
 * - Heap per live account worker, 1,000 started at once (bench/account-cost.ts, in a child with --expose-gc).
 *
 * The old design (one BullMQ worker per account) is not re-run here; its figures are issue 24's.
 *
 * Knobs for experiments: BENCH_ACCOUNTS (sizes, comma-separated; empty: none), BENCH_FAIRNESS=0 (skip it),
 * BENCH_FAIRNESS_SMALL (small accounts beside the big one), BENCH_FAIRNESS_BIG (the big account's invites; 100000 is
 * issue 24's own scenario, ~18 minutes), BENCH_BIG_CONCURRENCY, BENCH_MAX_ACCOUNT_WORKERS (the
 * worker's `worker.maxAccountWorkers`), BENCH_DUMP=FILE (the fairness run's finished invites as JSON),
 * BENCH_DUMP_LIMITED=FILE (the limit-bound run's), BENCH_WORKER_NODE_ARGS (Node flags for the worker process, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`: NODE_OPTIONS does not take --cpu-prof).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { marginOf } from '../../src/policies/adaptive-rate.ts';
import { type EnqueueItem, Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { startCountingProxy } from '../../test/support/counting-proxy.ts';
import { invitesPerAccount } from '../../test/support/pipeline.ts';
import { startWorker } from '../../test/support/processes.ts';
import { config, ENV, percentile, type Result, redis, until, writeConfig } from '../lib.ts';

const SIZES = (process.env.BENCH_ACCOUNTS ?? '10,1000,10000').split(',').filter(Boolean).map(Number);
const PER_ACCOUNT = 5;
const RATE = 5;
const MINIMUM_S = (PER_ACCOUNT - 1) / RATE;

function rssMb(pid: number): number {
  if (!existsSync(`/proc/${pid}/status`)) return Number.NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function totalCommands(url: string): Promise<number> {
  const c = new Redis(url);
  const info = await c.info('stats');
  await c.quit();
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

type Finished = { account: string; enqueuedAt: number; finishedAt: number; attempts: number };

/** A worker process on `accounts`; `work` enqueues, then every invite event is read. */
async function deliver(
  redisUrl: string,
  accounts: Record<string, unknown>,
  items: EnqueueItem[],
  options: { idle?: boolean } = {},
): Promise<{
  seconds: number;
  /** The enqueue of every item (the worker delivering meanwhile). */
  enqueueS: number;
  finished: Finished[];
  connections: number;
  /** Redis commands the worker sent per invite, from the enqueue's start to the last event. */
  commandsPerInvite: number;
  peakRss: number;
  idleRss: number;
  startS: number;
  idleSent: number;
  idleRedis: number;
}> {
  const proxy = await startCountingProxy(redisUrl);
  const cfg = config(redisUrl, accounts);
  const worker_ = process.env.BENCH_MAX_ACCOUNT_WORKERS ? { worker: { maxAccountWorkers: Number(process.env.BENCH_MAX_ACCOUNT_WORKERS) } } : {};
  const path = writeConfig({ redis: { url: proxy.url, prefix: cfg.redis.prefix }, log: { level: 'info' }, accounts, ...worker_ });
  const t0 = Date.now();
  const worker = await startWorker(path, ENV);
  const startS = (Date.now() - t0) / 1000;
  const pid = worker.child.pid as number;
  let idleSent = Number.NaN;
  let idleRedis = Number.NaN;
  if (options.idle) {
    await new Promise((r) => setTimeout(r, 1_000));
    const [c0, r0] = [proxy.commands, await totalCommands(redisUrl)];
    await new Promise((r) => setTimeout(r, 5_000));
    const [c1, r1] = [proxy.commands, await totalCommands(redisUrl)];
    idleSent = (c1 - c0) / 5;
    idleRedis = (r1 - r0 - 2) / 5;
  }
  const idleRss = rssMb(pid);
  const producer = new Producer(cfg);
  const commandsBefore = proxy.commands;
  const t1 = Date.now();
  await producer.enqueue(items);
  const enqueueS = (Date.now() - t1) / 1000;
  const events = producer.events();
  const finished: Finished[] = [];
  let from = '-';
  let peakRss = idleRss;
  await until(
    async () => {
      for (;;) {
        const page = await events.read(from, 5_000);
        for (const e of page) {
          if (!e.fields.type?.startsWith('invite.')) continue;
          finished.push({
            account: e.fields.account as string,
            enqueuedAt: Number(e.fields.enqueuedAt),
            finishedAt: Number(e.fields.finishedAt),
            attempts: Number(e.fields.attempts),
          });
        }
        if (page.length === 0) break;
        from = page[page.length - 1]?.id ?? from;
      }
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) throw new Error(`the worker exited: ${worker.output().slice(-2_000)}`);
      peakRss = Math.max(peakRss, rssMb(pid));
      return finished.length >= items.length;
    },
    1_800_000,
    `${items.length} completion events`,
  );
  const seconds = (Date.now() - t1) / 1000;
  const connections = proxy.connections;
  const commandsPerInvite = (proxy.commands - commandsBefore) / items.length;
  worker.child.kill('SIGTERM');
  await worker.exited;
  await producer.close();
  await proxy.close();
  return { seconds, enqueueS, finished, connections, commandsPerInvite, peakRss, idleRss, startS, idleSent, idleRedis };
}

const account = (baseUrl: string, rateLimit?: { max: number; durationMs: number }, extra: Record<string, unknown> = {}) => ({
  provider: 'betterstack',
  baseUrl,
  credentials: { token: { env: 'BENCH_TOKEN' } },
  ...(rateLimit ? { rateLimit } : {}),
  ...extra,
});

/** One account's pipeline, no limit, 50 invites in flight: what one process delivers when nothing else binds. */
async function singleAccountRate(redisUrl: string, providerUrl: string): Promise<number> {
  const items = invitesPerAccount(['solo'], 5_000);
  const run = await deliver(redisUrl, { solo: account(providerUrl, undefined, { concurrency: 50 }) }, items);
  return items.length / run.seconds;
}

async function sized(redisUrl: string, providerUrl: string, n: number, singleRate: number): Promise<Result[]> {
  const s = `accounts: ${n} accounts in one worker process`;
  const names = Array.from({ length: n }, (_, i) => `a${i}`);
  const fast: Record<string, unknown> = {};
  for (const a of names) fast[a] = account(providerUrl, { max: RATE, durationMs: 1000 });
  const items = invitesPerAccount(names, PER_ACCOUNT);
  const run = await deliver(redisUrl, fast, items, { idle: true });
  const rate = items.length / run.seconds;

  // Limits that bind: 1 call per interval, at most ~250 calls/s in all.
  const intervalS = Math.max(2, n / 250);
  const slow: Record<string, unknown> = {};
  for (const a of names) slow[a] = account(providerUrl, { max: 1, durationMs: intervalS * 1000 });
  const limited = await deliver(redisUrl, slow, items);
  if (process.env.BENCH_DUMP_LIMITED) (await import('node:fs')).writeFileSync(process.env.BENCH_DUMP_LIMITED, JSON.stringify(limited.finished));
  const limitMinimumS = (PER_ACCOUNT - 1) * intervalS;
  // Each account's own time: its first invite enqueued to its last finished (the enqueue of all N × 5 takes seconds
  // at 10,000 accounts, and an account enqueued last cannot start before it).
  const perAccount = accountTimes(limited.finished, names);
  const limitMargin = marginOf({ durationMs: intervalS * 1000 });

  return [
    { scenario: s, metric: 'Redis connections', value: run.connections, unit: '', target: '≤ 20', met: run.connections <= 20 },
    { scenario: s, metric: 'idle Redis commands/s (sent by the worker)', value: run.idleSent, unit: '/s', target: '≤ 50', met: run.idleSent <= 50 },
    {
      scenario: s,
      metric: 'idle Redis commands/s (Redis total_commands_processed, scripts inside)',
      value: run.idleRedis,
      unit: '/s',
      target: '≤ 50',
      met: run.idleRedis <= 50,
    },
    {
      scenario: s,
      metric: 'RSS idle / peak while delivering',
      value: Math.max(run.peakRss, limited.peakRss),
      unit: 'MB',
      target: '≤ 250',
      met: Math.max(run.peakRss, limited.peakRss) <= 250,
      note: `idle ${run.idleRss.toFixed(0)} MB`,
    },
    { scenario: s, metric: 'start-up', value: run.startS, unit: 's' },
    {
      scenario: s,
      metric: `process-bound: ${items.length} invites (${PER_ACCOUNT} each at ${RATE}/s) delivered at`,
      value: rate,
      unit: 'invites/s',
      baseline: { name: 'one account, no limit, 50 in flight (same run)', value: singleRate },
      ratio: rate / singleRate,
      note: `${run.seconds.toFixed(2)} s = ${(run.seconds / MINIMUM_S).toFixed(1)} × the limits' minimum ${MINIMUM_S} s${
        items.length / MINIMUM_S > singleRate ? `, which would take ${(items.length / MINIMUM_S).toFixed(0)} invites/s: beyond one process` : ''
      }`,
    },
    {
      scenario: s,
      metric: `limit-bound: ${PER_ACCOUNT} invites each at 1 call / ${intervalS} s, each account's time (first enqueued → last finished), worst`,
      value: perAccount.worst,
      unit: 's',
      ratio: perAccount.worst / limitMinimumS,
      target: '≤ 1.1 × the minimum',
      met: perAccount.worst <= 1.1 * limitMinimumS,
      note: `p99 ${perAccount.p99.toFixed(1)} s, median ${perAccount.median.toFixed(1)} s; minimum ${limitMinimumS} s (${(limitMinimumS * limitMargin).toFixed(1)} s with the pacing margin)`,
    },
    {
      scenario: s,
      metric: `limit-bound: all ${items.length} invites, from the enqueue's start to the last finished`,
      value: limited.seconds,
      unit: 's',
      ratio: limited.seconds / limitMinimumS,
      note: `the enqueue of ${items.length} invites included: ${limited.enqueueS.toFixed(1)} s (the worker delivering meanwhile)`,
    },
    {
      scenario: s,
      metric: 'Redis commands sent by the worker per invite, limit-bound',
      value: limited.commandsPerInvite,
      unit: '',
      note: `process-bound: ${run.commandsPerInvite.toFixed(1)} (limit-bound, an account's worker starts and is released around each far call slot)`,
    },
  ];
}

async function fairness(redisUrl: string, providerUrl: string): Promise<Result[]> {
  const BIG = Number(process.env.BENCH_FAIRNESS_BIG ?? 6_000);
  const BIG_RATE = 100;
  const SMALL = Number(process.env.BENCH_FAIRNESS_SMALL ?? 1_999);
  const s = `accounts: fairness, 1 big account beside ${SMALL.toLocaleString('en-US')} small ones`;
  const SMALL_INTERVAL_S = 10;
  const accounts: Record<string, unknown> = {
    big: account(providerUrl, { max: BIG_RATE, durationMs: 1000 }, { concurrency: Number(process.env.BENCH_BIG_CONCURRENCY ?? 20) }),
  };
  const names = Array.from({ length: SMALL }, (_, i) => `s${i}`);
  for (const a of names) accounts[a] = account(providerUrl, { max: 1, durationMs: SMALL_INTERVAL_S * 1000 });
  const items = invitesPerAccount(names, PER_ACCOUNT, invitesPerAccount(['big'], BIG));
  const run = await deliver(redisUrl, accounts, items);
  if (process.env.BENCH_DUMP) (await import('node:fs')).writeFileSync(process.env.BENCH_DUMP, JSON.stringify(run.finished));
  const minimumS = (PER_ACCOUNT - 1) * SMALL_INTERVAL_S;
  const { worst, p99, median, last } = accountTimes(run.finished, names);
  const bigAt = run.finished.filter((f) => f.account === 'big').map((f) => f.finishedAt);
  const bigS = (Math.max(...bigAt) - Math.min(...bigAt)) / 1000;
  const bigRate = (BIG - 1) / bigS;
  const smallEnd = Math.max(...names.map((a) => last.get(a) as number));
  const bigWhile = bigAt.filter((at) => at <= smallEnd);
  const bigRateWhile = (bigWhile.length - 1) / ((Math.max(...bigWhile) - Math.min(...bigWhile)) / 1000);
  return [
    {
      scenario: s,
      metric: `small accounts (${PER_ACCOUNT} invites at 1 call / ${SMALL_INTERVAL_S} s): time, worst`,
      value: worst,
      unit: 's',
      ratio: worst / minimumS,
      target: '≤ 1.1 × its own minimum',
      met: worst <= 1.1 * minimumS,
      note: `p99 ${p99.toFixed(1)} s, median ${median.toFixed(1)} s; minimum ${minimumS} s (${(minimumS * marginOf({ durationMs: SMALL_INTERVAL_S * 1000 })).toFixed(1)} s with the pacing margin)`,
    },
    {
      scenario: s,
      metric: `big account (${BIG} invites at ${BIG_RATE}/s): rate`,
      value: bigRate,
      unit: '/s',
      ratio: bigRate / BIG_RATE,
      target: '≥ 0.9 × its limit',
      met: bigRate >= 0.9 * BIG_RATE,
      note: `${bigRateWhile.toFixed(1)}/s while the small accounts ran; the pacing margin keeps it ≤ ${(BIG_RATE / marginOf({ durationMs: 1000 })).toFixed(1)}/s`,
    },
  ];
}

/** Each account's time from its first invite enqueued to its last finished, s: worst, p99, median; and each one's last finish (epoch ms). */
function accountTimes(finished: Finished[], names: string[]): { worst: number; p99: number; median: number; last: Map<string, number> } {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  for (const f of finished) {
    first.set(f.account, Math.min(first.get(f.account) ?? Number.POSITIVE_INFINITY, f.enqueuedAt));
    last.set(f.account, Math.max(last.get(f.account) ?? 0, f.finishedAt));
  }
  const took = names.map((a) => ((last.get(a) as number) - (first.get(a) as number)) / 1000).sort((a, b) => a - b);
  return { worst: took[took.length - 1] as number, p99: percentile(took, 99), median: took[Math.floor(took.length / 2)] as number, last };
}

/** Heap per live account worker and its start time, 1,000 at once, in a child with --expose-gc. */
function workerCost(): Result[] {
  const out = execFileSync(process.execPath, ['--expose-gc', join(import.meta.dirname, '..', 'account-cost.ts'), '1000'], { encoding: 'utf8' });
  const m = /([\d.]+) KB of heap each; started in (\d+) µs each/.exec(out);
  const s = 'accounts: one live account worker';
  return [
    { scenario: s, metric: 'heap per live account worker (1,000 at once)', value: Number(m?.[1]), unit: 'KB' },
    { scenario: s, metric: 'start of an account worker', value: Number(m?.[2]), unit: 'µs' },
  ];
}

export async function accountsScenario(): Promise<Result[]> {
  const r = await redis();
  const provider = await startFakeServer(betterstackHandler(), { keepRequests: 1_000 });
  try {
    const results: Result[] = [...workerCost()];
    const singleRate = await singleAccountRate(r.url, provider.url);
    for (const n of SIZES) results.push(...(await sized(r.url, provider.url, n, singleRate)));
    if (process.env.BENCH_FAIRNESS !== '0') results.push(...(await fairness(r.url, provider.url)));
    return results;
  } finally {
    await provider.close();
    await r.stop();
  }
}
