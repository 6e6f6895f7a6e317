/**
 * One worker process serves 2,000 accounts (issue 24): it starts under its shipped heap cap, holds a fixed number of
 * Redis connections, delivers to a sample of accounts and one busy account with exactly one completion event each,
 * and while idle sends Redis a number of commands that does not grow with the accounts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { startCountingProxy } from '../support/counting-proxy.ts';
import { inviteEventReader, invitesPerAccount, waitFor } from '../support/pipeline.ts';
import { startWorker, type WorkerProcess, writeConfigIn } from '../support/processes.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const ACCOUNTS = 2_000;
const name = (i: number) => `a${String(i).padStart(4, '0')}`;

/** Commands per second the worker sends over `ms`, counted at the proxy in front of Redis. */
async function commandRate(proxy: { commands: number }, ms: number): Promise<number> {
  const before = proxy.commands;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ((proxy.commands - before) * 1000) / ms;
}

/** The connections named after the prefix (invitebus names its own and BullMQ's `prefix:…`). */
async function namedConnections(prefix: string): Promise<number> {
  const list = (await redis.admin.client('LIST')) as string;
  return list.split('\n').filter((line) => new RegExp(` name=${prefix}:`).test(line)).length;
}

describe('one worker process with 2,000 accounts', () => {
  const dir = tempDir('many-accounts');
  let worker: WorkerProcess | undefined;
  afterAll(async () => {
    if (worker?.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });

  it('starts under its heap cap, uses ≤ 20 connections, delivers exactly once, idles at a bounded command rate', { timeout: 90_000 }, async () => {
    const fake = await startFakeServer(betterstackHandler());
    const proxy = await startCountingProxy(redis.url);
    const prefix = `${redis.prefix}-many`;
    const account = (max: number) => ({
      provider: 'betterstack',
      baseUrl: fake.url,
      credentials: { token: { env: 'T' } },
      rateLimit: { max, durationMs: 1000 },
    });
    const accounts: Record<string, unknown> = {};
    for (let i = 0; i < ACCOUNTS; i++) accounts[name(i)] = account(i === 0 ? 100 : 5);
    const settings = {
      redis: { url: proxy.url, prefix },
      // Short lock and stalled interval: an account's worker is released after lock + 2 × interval idle (4 s).
      worker: { lockDurationMs: 2_000, stalledIntervalMs: 1_000, shutdownTimeoutMs: 5_000 },
      log: { level: 'info' },
      accounts,
    };
    const configPath = writeConfigIn(dir, settings);
    worker = await startWorker(configPath, { T: 'bs-team-token' });

    // Connections: a fixed set, whatever the number of accounts (the old design: one or two per account).
    expect(proxy.connections).toBeLessThanOrEqual(20);
    expect(await namedConnections(prefix)).toBe(proxy.connections);
    // Idle: no per-account polling; the few commands are the shared wait, health PINGs and the sweeps.
    const idleBefore = await commandRate(proxy, 4_000);
    if (process.env.TEST_FIGURES) console.log({ connections: proxy.connections, idleBefore });
    expect(idleBefore).toBeLessThan(50);

    // Work: 5 invites to each of 200 accounts, 300 to the busy one, in one batch.
    const conn = redis.connect();
    const producer = new Producer(parseConfig({ ...settings, redis: { url: redis.url, prefix } }), { redis: conn });
    try {
      const items = invitesPerAccount(
        Array.from({ length: 200 }, (_, s) => name(1 + s * 9)),
        5,
      );
      for (let k = 0; k < 300; k++) items.push({ account: name(0), invite: { email: `busy${k}@example.com` }, index: items.length });
      const result = await producer.enqueue(items);
      expect(result.accepted).toBe(items.length);

      const read = inviteEventReader(producer.events());
      const terminal = await waitFor(
        async () => {
          const done = await read();
          return done.length >= items.length ? done : undefined;
        },
        60_000,
        `${items.length} completion events`,
      );
      // Exactly one event per invite, all delivered.
      expect(terminal).toHaveLength(items.length);
      expect(new Set(terminal.map((e) => e.inviteId)).size).toBe(items.length);
      expect(terminal.every((e) => e.type === 'invite.succeeded')).toBe(true);
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(items.length);

      // Still a fixed set of connections with 201 accounts working, and the process alive under its cap.
      expect(proxy.connections).toBeLessThanOrEqual(20);
      expect(worker.child.exitCode).toBeNull();

      // Idle again once the accounts' workers are released: the same bound as before any work. A worker is
      // released 4 s after its last fetch, and one started again by a late wake (a retry, the look at release) idles
      // 4 s more: on a busy CI machine some were still alive 6 s after the last event (90 commands/s there, ~5.5
      // when they are gone; a 1 s sample under 50 followed by 4 s at 62 failed CI once). So the process has up to
      // 30 s to become idle: a whole 4 s window under 50 commands/s.
      expect(worker.output()).not.toContain('heap is near its limit');
      const windows: number[] = [];
      const idleAfter = await waitFor(
        async () => {
          const rate = await commandRate(proxy, 4_000);
          windows.push(rate);
          return rate < 50 ? rate : undefined;
        },
        30_000,
        "a 4 s window under 50 commands/s (the accounts' workers released)",
      ).catch((err: Error) => {
        throw new Error(`${err.message}; 4 s windows: ${windows.map((r) => r.toFixed(1)).join(', ')} commands/s`);
      });
      if (process.env.TEST_FIGURES) console.log({ idleAfter, windows });
      expect(idleAfter).toBeLessThan(50);
    } finally {
      await producer.close();
      await conn.quit();
    }

    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
    await fake.close();
    await proxy.close();
  });
});
