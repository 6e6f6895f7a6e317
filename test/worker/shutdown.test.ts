import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { accountStats } from '../../src/stats.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const workerEntry = join(import.meta.dirname, '../../workers/invite-worker.ts');

function writeConfig(prefix: string, baseUrl: string, shutdownTimeoutMs: number): string {
  const dir = tempDir('ib-shutdown-');
  const path = join(dir, 'invitebus.config.json');
  writeFileSync(
    path,
    JSON.stringify({
      redis: { url: redis.url, prefix },
      worker: { shutdownTimeoutMs, lockDurationMs: 5000, stalledIntervalMs: 5000 },
      accounts: { acme: { provider: 'betterstack', baseUrl, credentials: { token: { env: 'BS_TOKEN' } }, concurrency: 10, timeoutMs: 30_000 } },
    }),
  );
  return path;
}

function startWorker(configPath: string): { child: ChildProcess; exit: Promise<{ code: number | null; ms: number }>; output: () => string } {
  const child = spawn(process.execPath, [workerEntry, '--config', configPath], {
    env: { ...process.env, BS_TOKEN: 'bs-team-token' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  let signalledAt = 0;
  child.on('spawn', () => undefined);
  const exit = new Promise<{ code: number | null; ms: number }>((resolve) => child.on('exit', (code) => resolve({ code, ms: Date.now() - signalledAt })));
  const origKill = child.kill.bind(child);
  child.kill = (signal?: NodeJS.Signals | number) => {
    signalledAt = Date.now();
    return origKill(signal);
  };
  return { child, exit, output: () => out };
}

const cleanups = useCleanups('file');

/** A fake provider, a producer in this process and a worker process with the given shutdown deadline. */
async function setup(name: string, handler: Parameters<typeof startFakeServer>[0], shutdownTimeoutMs: number) {
  const fake = await startFakeServer(handler);
  cleanups.push(() => fake.close());
  const prefix = `${redis.prefix}-${name}`;
  const config = parseConfig({
    redis: { url: redis.url, prefix },
    accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'X' } } } },
  });
  const connection = redis.connect();
  const producer = new Producer(config, { redis: connection });
  cleanups.push(() => producer.close().then(() => connection.quit()));
  return { fake, producer, worker: startWorker(writeConfig(prefix, fake.url, shutdownTimeoutMs)) };
}

describe('worker process shutdown', () => {
  it('on SIGTERM lets in-flight calls finish, leaves nothing active, exits 0', async () => {
    const { fake, producer, worker } = await setup('graceful', (req) => ({ ...betterstackHandler()(req), delayMs: 1500 }), 10_000);
    await producer.inviteMany(
      'acme',
      Array.from({ length: 8 }, (_, i) => ({ email: `s${i}@example.com` })),
    );
    await waitFor(() => fake.requests.length >= 8, 15_000, '8 calls in flight');

    worker.child.kill('SIGTERM');
    const { code, ms } = await worker.exit;
    expect(code, worker.output()).toBe(0);
    expect(ms).toBeLessThan(10_000);
    const [counts] = await accountStats(producer, ['acme']);
    expect(counts).toMatchObject({ active: 0, completed: 8, waiting: 0, failed: 0 });
    expect(fake.requests).toHaveLength(8);
    const events = await producer.events().read();
    expect(events.filter((e) => e.fields.type === 'invite.succeeded')).toHaveLength(8);
    expect(worker.output()).toContain('"clean":true');
  });

  it('exits 0 at the deadline when a call hangs; the job stays recoverable', async () => {
    const { fake, producer, worker } = await setup('deadline', () => ({ hang: true }), 1000);
    const { id } = await producer.invite('acme', { email: 'hang@example.com' });
    await waitFor(() => fake.requests.length >= 1, 15_000, 'the call to arrive');

    worker.child.kill('SIGTERM');
    const { code, ms } = await worker.exit;
    expect(code, worker.output()).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5_000);
    expect(worker.output()).toContain('"clean":false');
    // Not lost: still active with an expiring lock, so the stalled check of the next worker retries it.
    expect(await (await producer.queue('acme').getJob(id))?.getState()).toBe('active');
  });
});
