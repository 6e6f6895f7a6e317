/**
 * Exact accounting under a real Redis outage (issue: exact accounting): Redis is killed with SIGKILL (AOF
 * `always`) in the middle of an enqueue, the same enqueue is run again, and the batch's numbers must be exact;
 * `serve --with-workers` must survive a bulk POST during an outage and serve again afterwards.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { freePort } from '../../src/embedded-redis.ts';
import { EnqueueInterruptedError, Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { BIN } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { figure, ownRedis, startWorker, writeConfig } from './harness.ts';

const ENV = { BS_TOKEN: 'bs-team-token', INVITEBUS_API_TOKEN: 'api-token' };
const cleanups = useCleanups();

const people = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `hire${i}@example.com` }));

describe('accounting through a Redis outage', () => {
  it('Redis killed mid-enqueue, the same enqueue run again: total exact, every invite delivered, one batch.completed', async () => {
    const redis = await ownRedis({ appendonly: true, appendfsync: 'always' });
    cleanups.push(() => redis.destroy());
    const fake = await startFakeServer(betterstackHandler());
    cleanups.push(() => fake.close());
    const raw = {
      redis: { url: redis.url, prefix: 'acct' },
      worker: { lockDurationMs: 2_000, stalledIntervalMs: 1_000, shutdownTimeoutMs: 3_000 },
      accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, concurrency: 16, credentials: { token: { env: 'BS_TOKEN' } } } },
    };
    const list = people(5_000);

    // A producer whose commands give up quickly, so the outage interrupts it instead of being waited out.
    const first = new Producer(parseConfig(raw), { redisOptions: { maxRetriesPerRequest: 1 } });
    let progress = 0;
    const running = first.inviteMany('acme', list, { batchId: 'outage', chunkSize: 100, onProgress: (p) => (progress = p.accepted) });
    await waitFor(() => progress >= 500, 20_000, 'part of the enqueue');
    await redis.stop('SIGKILL');
    const error = await running.then(
      () => undefined,
      (e: unknown) => e,
    );
    first.close().catch(() => undefined);
    expect(error).toBeInstanceOf(EnqueueInterruptedError);
    const confirmed = (error as EnqueueInterruptedError).result.accepted;
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThan(5_000);
    await redis.start();

    const producer = new Producer(parseConfig(raw));
    cleanups.push(() => producer.close());
    const rerun = await producer.inviteMany('acme', list, { batchId: 'outage', chunkSize: 100 });
    const mid = await batchStatus(producer.redis, 'acct', 'outage');
    expect(mid?.total).toBe(5_000);
    // Run twice more: still 5,000.
    await producer.inviteMany('acme', list, { batchId: 'outage', chunkSize: 1_000 });
    expect((await batchStatus(producer.redis, 'acct', 'outage'))?.total).toBe(5_000);

    const worker = await startWorker(writeConfig(raw), ENV);
    cleanups.push(async () => {
      worker.child.kill('SIGKILL');
      await worker.exited;
    });
    const done = await waitFor(
      async () => {
        const s = await batchStatus(producer.redis, 'acct', 'outage');
        return s?.complete ? s : undefined;
      },
      90_000,
      'the batch to complete',
    );
    expect(done).toMatchObject({ total: 5_000, done: 5_000, succeeded: 5_000 });
    const events = await producer.events().read('-', 1_000_000);
    const completions = events.filter((e) => e.fields.type === 'batch.completed');
    expect(completions).toHaveLength(1);
    expect(completions[0]?.fields.total).toBe('5000');
    const inviteEvents = events.filter((e) => e.fields.type === 'invite.succeeded');
    expect(new Set(inviteEvents.map((e) => e.fields.inviteId)).size).toBe(5_000);
    const delivered = new Set(fake.requests.map((r) => (r.json as { email: string }).email));
    expect(delivered.size).toBe(5_000);
    figure('Redis killed mid-enqueue, enqueue rerun', {
      confirmedBeforeKill: confirmed,
      acceptedByRerun: rerun.accepted,
      batchTotal: done.total,
      delivered: delivered.size,
      events: inviteEvents.length,
      batchCompleted: completions.length,
    });
  });

  it('serve --with-workers survives a bulk POST during an outage (503 with the facts) and serves again after', async () => {
    const redis = await ownRedis();
    cleanups.push(() => redis.destroy());
    const fake = await startFakeServer(betterstackHandler());
    cleanups.push(() => fake.close());
    const port = await freePort();
    const config = writeConfig({
      redis: { url: redis.url, prefix: 'serve' },
      worker: { shutdownTimeoutMs: 2_000 },
      accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } } } },
    });
    const { REDIS_URL: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, [BIN, '--config', config, 'serve', '--with-workers', '--port', String(port)], {
      env: { ...env, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 20_000, 'serve ready');
    const post = async () => {
      const res = await fetch(`${base}/v1/invites`, {
        method: 'POST',
        headers: { authorization: 'Bearer api-token', 'content-type': 'application/json' },
        body: JSON.stringify({ account: 'acme', batchId: 'bulk', invites: people(5_000) }),
        signal: AbortSignal.timeout(60_000),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    await redis.stop('SIGKILL');
    const during = await post();
    expect(during.status).toBe(503);
    expect(String(during.body.message)).toMatch(/unreachable|Running the same enqueue again is safe/);
    expect(child.exitCode).toBeNull();

    await redis.start();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 20_000, 'ready again');
    const after = await post();
    expect(after.status).toBe(202);
    const status = await waitFor(
      async () => {
        const res = await fetch(`${base}/v1/batches/bulk`, { headers: { authorization: 'Bearer api-token' } });
        const s = (await res.json()) as { total: number; complete: boolean };
        return s.complete ? s : undefined;
      },
      60_000,
      'the bulk batch to complete',
    );
    expect(status.total).toBe(5_000);
    expect(out).not.toMatch(/Unhandled|unhandled promise rejection/);
    child.kill('SIGTERM');
    figure('serve during an outage', { duringStatus: during.status, afterStatus: after.status, batchTotal: status.total });
  });
});
