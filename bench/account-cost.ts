/**
 * Heap per live account worker (issue 24): N accounts' BullMQ workers started at once in this process (engine.run),
 * heap after GC before and after. Run: npx node --expose-gc bench/account-cost.ts [N ...]; the bench scenario
 * `accounts` runs it too (its heap figure needs --expose-gc: `npm run bench` passes it).
 */
import { getHeapStatistics } from 'node:v8';
import { EventStream } from '../src/events/stream.ts';
import { connectRedis } from '../src/redis-connection/factory.ts';
import { AccountEngine } from '../src/worker/account-engine.ts';
import { betterstack, config, redis, silent } from './lib.ts';

const gc = (globalThis as { gc?: () => void }).gc;
async function heapMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
  return getHeapStatistics().used_heap_size / 2 ** 20;
}

/** Heap (KB) per live account worker and start time (µs) per worker, with `n` started at once in this process. */
export async function accountWorkerCost(url: string, n: number): Promise<{ kbPerAccount: number; usPerStart: number }> {
  if (gc === undefined) return { kbPerAccount: Number.NaN, usPerStart: Number.NaN };
  {
    const accounts: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) accounts[`a${i}`] = betterstack('http://127.0.0.1:9', { rateLimit: { max: 5, durationMs: 1000 } });
    const cfg = config(url, accounts);
    const conn = connectRedis(cfg, 'worker', { env: { BENCH_TOKEN: 't' } });
    const events = new EventStream(conn, cfg.redis.prefix, 1000);
    // No bound here: every worker alive at once is what is measured.
    const engine = new AccountEngine({ config: cfg, redis: conn, events, logger: silent, engine: { idleMs: 600_000, maxWorkers: n } });
    await engine.start(Object.values(cfg.accounts).map((account) => ({ account, credentials: { token: 't' } })));
    const before = await heapMb();
    const t0 = performance.now();
    await Promise.all(Object.keys(accounts).map((a) => engine.run(a)));
    const startMs = performance.now() - t0;
    await new Promise((res) => setTimeout(res, 500));
    const after = await heapMb();
    await engine.close(5_000);
    await conn.quit();
    return { kbPerAccount: ((after - before) * 1024) / n, usPerStart: (startMs / n) * 1000 };
  }
}

if (process.argv[1] === import.meta.filename) {
  const r = await redis();
  try {
    for (const n of (process.argv.slice(2).length ? process.argv.slice(2) : ['100', '1000']).map(Number)) {
      const { kbPerAccount, usPerStart } = await accountWorkerCost(r.url, n);
      console.log(`${n} live account workers: ${kbPerAccount.toFixed(1)} KB of heap each; started in ${usPerStart.toFixed(0)} µs each`);
    }
  } finally {
    await r.stop();
  }
  process.exit(0);
}
