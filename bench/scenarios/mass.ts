import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { batchStatus } from '../../src/batches.ts';
import { freePort } from '../../src/embedded-redis.ts';
import { Producer } from '../../src/producer.ts';
import { adapterOf, type ProviderId } from '../../src/providers/index.ts';
import { SANDBOX_CREDENTIALS, startSandbox } from '../../src/sandbox/index.ts';
import { startWorker } from '../../test/support/processes.ts';
import { maxInWindow } from '../../test/support/timing.ts';
import { config, type Result, redis, treeRss, until, writeConfig } from '../lib.ts';

const TOTAL = Number(process.env.BENCH_MASS_INVITES ?? 100_000);

/** Realistic limits (calls/s): Closient's documented 300/min, UniBee under its 50/s qps, the rest 100/s. */
const LIMITS: Record<string, { rate: number; fields: Record<string, unknown> }> = {
  'sandbox-betterstack': { rate: 100, fields: { role: 'member' } },
  'sandbox-stellas': { rate: 100, fields: { memberRoleId: 'role_def456' } },
  'sandbox-unibee': { rate: 45, fields: { roleIds: ['1'] } },
  'sandbox-closient': { rate: 5, fields: { role: 'editor' } },
  'sandbox-sutro': { rate: 100, fields: {} },
};

async function usedMemory(redisUrl: string): Promise<number> {
  const c = new Redis(redisUrl);
  const info = await c.info('memory');
  await c.quit();
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function massScenario(): Promise<Result[]> {
  const r = await redis();
  const sandbox = await startSandbox({ keepRequests: TOTAL + 1_000 });
  try {
    const totalRate = Object.values(LIMITS).reduce((a, l) => a + l.rate, 0);
    // Each account gets a share proportional to its limit, so all could finish together at the theoretical minimum.
    const shares = Object.fromEntries(Object.entries(LIMITS).map(([a, l]) => [a, Math.round((TOTAL * l.rate) / totalRate)]));
    // The limits count calls: Sutro's carry several addresses (its adapter says how many).
    const perCall = (a: string) => {
      const acc = sandbox.accounts[a] as { provider: ProviderId };
      const adapter = adapterOf(acc.provider);
      return adapter.batching?.invitesPerCall(adapter.settingsSchema.parse(acc)) ?? 1;
    };
    const minimumOf = (a: string) => Math.ceil((shares[a] ?? 0) / perCall(a)) / (LIMITS[a]?.rate ?? 1);
    const minimumS = Math.max(...Object.keys(shares).map(minimumOf));
    const accounts = Object.fromEntries(
      Object.entries(sandbox.accounts).map(([name, acc]) => [name, { ...acc, concurrency: 8, rateLimit: { max: LIMITS[name]?.rate ?? 1, durationMs: 1000 } }]),
    );
    const cfg = config(r.url, accounts);
    const before = await usedMemory(r.url);
    const producer = new Producer(cfg);
    for (const [account, n] of Object.entries(shares)) {
      await producer.inviteMany(
        account,
        Array.from({ length: n }, (_, i) => ({ email: `m${i}@example.com`, ...LIMITS[account]?.fields })),
        { batchId: `mass-${account}` },
      );
    }
    const total = Object.values(shares).reduce((a, n) => a + n, 0);
    const path = writeConfig({ redis: cfg.redis, log: { level: 'info' }, accounts });
    const started = Date.now();
    // The fakes run in this process: a stall here bunches the arrival times they record.
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const metricsPort = await freePort();
    const worker = await startWorker(path, { ...SANDBOX_CREDENTIALS }, ['--metrics-port', String(metricsPort)]);
    const pid = worker.child.pid as number;
    const startRss = treeRss(pid)?.rssMB ?? 0;
    let peak = startRss;
    const sampler = setInterval(() => {
      const s = treeRss(pid);
      if (s) peak = Math.max(peak, s.peakMB);
    }, 500);
    // Where the time goes: when each account finished, against its own minimum.
    const finishedAt: Record<string, number> = {};
    // The worker's RSS once the first tenth of the work is done: the "after the first 10,000".
    let tenthRss = 0;
    await until(
      async () => {
        let done = 0;
        for (const account of Object.keys(shares)) {
          // Succeeded invites leave no completed job (their sent record is kept): the batch counts them.
          const completed = (await batchStatus(producer.redis, cfg.redis.prefix, `mass-${account}`))?.succeeded ?? 0;
          if (completed >= (shares[account] ?? 0)) finishedAt[account] ??= Date.now();
          done += completed;
        }
        if (tenthRss === 0 && done >= total / 10) tenthRss = treeRss(pid)?.rssMB ?? 0;
        return done >= total;
      },
      3_600_000,
      'every invite',
    );
    const elapsedS = (Date.now() - started) / 1000;
    const endRss = treeRss(pid)?.rssMB ?? 0;
    // How late the worker started its paced calls after their slots (its own histogram): a late call's start is
    // recorded again when written, so lateness costs rate, not limit.
    const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const bucket = (le: string) =>
      [...scrape.matchAll(new RegExp(`invitebus_call_slot_lateness_seconds_bucket\\{le="${le}",account="[^"]+"\\} (\\d+)`, 'g'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    const paced = bucket('\\+Inf');
    const lateness = `worker: ${paced} paced calls, ${paced - bucket('0.01')} started over 10 ms late, ${paced - bucket('0.05')} over 50 ms`;
    clearInterval(sampler);
    const after = await usedMemory(r.url);
    worker.child.kill('SIGTERM');
    await worker.exited;
    await producer.close();
    // Sliding seconds over each account's limit at its provider (every window starting at a call).
    let overLimit = 0;
    let worstShare = 0;
    const perAccount = Object.keys(shares).map((account) => {
      const id = account.replace('sandbox-', '') as keyof typeof sandbox.servers;
      const times = sandbox.servers[id].requests.map((q) => q.at);
      const limit = LIMITS[account]?.rate ?? 1;
      const sorted = [...times].sort((a, b) => a - b);
      for (let i = limit; i < sorted.length; i++) if ((sorted[i] as number) - (sorted[i - limit] as number) < 1000) overLimit += 1;
      worstShare = Math.max(worstShare, maxInWindow(times, 1000) / limit);
      const tookS = ((finishedAt[account] ?? Date.now()) - started) / 1000;
      const minS = minimumOf(account);
      return `${id} ${tookS.toFixed(1)} s of ${minS.toFixed(1)} s minimum (${(tookS / minS).toFixed(3)} ×), worst sliding second ${maxInWindow(times, 1000)} calls (limit ${LIMITS[account]?.rate})`;
    });
    lag.disable();
    console.log(`  per account: ${perAccount.join('; ')}`);
    console.log(`  ${lateness}`);
    console.log(
      `  the fakes' process (arrival times): event-loop delay p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(0)} ms, ${lag.count} samples`,
    );
    const name = `5. mass onboarding (${total} invites across 5 sandbox accounts at realistic limits, one worker process)`;
    return [
      {
        scenario: name,
        metric: 'total time',
        value: elapsedS,
        unit: 's',
        baseline: { name: 'theoretical minimum set by the limits', value: minimumS },
        ratio: elapsedS / minimumS,
        // The pacing margin (JITTER_MARGIN, 5%) is spent by design: slots 1.05 / rate apart.
        target: '<= 1.1 × minimum (the 5% pacing margin included)',
        met: elapsedS / minimumS <= 1.1,
        note: 'per account: see the lines above',
      },
      {
        scenario: name,
        metric: 'sliding seconds over an account limit at its provider',
        value: overLimit,
        unit: 'windows',
        target: '0',
        met: overLimit === 0,
        note: `worst sliding second at ${(worstShare * 100).toFixed(0)}% of its account's limit; the fakes run in this process (their stalls bunch what they record)`,
      },
      {
        scenario: name,
        metric: 'worker RSS at the end',
        value: endRss,
        unit: 'MB',
        baseline: { name: `worker RSS after the first ${Math.round(total / 10)} invites`, value: tenthRss },
        ratio: endRss / tenthRss,
        target: '≤ 1.2 × and ≤ 250 MB',
        met: endRss <= 1.2 * tenthRss && endRss <= 250,
        note: `start ${startRss.toFixed(0)} MB, after a tenth ${tenthRss.toFixed(0)} MB, peak ${peak.toFixed(0)} MB, end ${endRss.toFixed(0)} MB`,
      },
      {
        scenario: name,
        metric: 'Redis memory per finished invite',
        value: (after - before) / total,
        unit: 'bytes',
        target: '≤ 1,024',
        met: (after - before) / total <= 1024,
        note: `${((after - before) / 2 ** 20).toFixed(0)} MB for ${total} finished invites with their sent records, events and batch lists`,
      },
    ];
  } finally {
    await sandbox.close();
    await r.destroy();
  }
}
