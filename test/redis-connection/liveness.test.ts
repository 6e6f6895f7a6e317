/**
 * Dead connections found and replaced (src/redis-connection/liveness.ts): against a link whose sockets stay open
 * while nothing passes, an idle, a busy and a blocking connection are found lost within the 15 s, said
 * once each, and back once traffic flows; a READONLY answer from a demoted primary reconnects and resends.
 */
import { Worker } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startOwnRedis } from '../../src/embedded-redis.ts';
import { boundBlocking, ConnectionHealth, livenessOptions, MAX_BLOCK_S } from '../../src/redis-connection/liveness.ts';
import { figure } from '../faults/harness.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startSilentProxy } from '../support/silent-proxy.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();
/** The bound. */
const DETECT_MS = 15_000;

function capture() {
  const lines: Array<{ level: 'warn' | 'info'; obj: Record<string, unknown>; msg: string }> = [];
  return {
    lines,
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
  };
}

function client(url: string, options: RedisOptions = {}): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 200, ...options });
  c.on('error', () => undefined);
  cleanups.push(() => c.disconnect());
  return c;
}

describe('dead connections', () => {
  it('finds idle, busy and blocking connections on a silent link lost within 15 s, says so once each, and says when they are back', {
    timeout: 45_000,
  }, async () => {
    const proxy = await startSilentProxy(redis.url);
    cleanups.push(() => proxy.close());
    const health = new ConnectionHealth();
    const log = capture();
    health.useLog(log);
    const key = `${redis.prefix}:busy`;
    await redis.admin.set(key, 'the value');

    const idle = health.track(client(proxy.url, livenessOptions()), 'idle');
    const busy = health.track(client(proxy.url, livenessOptions()), 'busy');
    // Without the socket timeout, only the health PING can find it.
    const pingOnly = health.track(client(proxy.url), 'ping-only');
    // A BullMQ worker: its jobs' connection (this one, idle here) and the blocking one it duplicates.
    const bull = health.track(client(proxy.url, livenessOptions()), 'bull');
    const worker = boundBlocking(new Worker('liveness', async () => 'done', { connection: bull, prefix: redis.prefix, drainDelay: MAX_BLOCK_S }));
    worker.on('error', () => undefined);
    cleanups.push(() => worker.close(true).catch(() => undefined));
    await worker.waitUntilReady();
    await Promise.all([idle.ping(), busy.ping(), pingOnly.ping()]);
    await waitFor(() => health.size === 5, 5_000, 'five connections followed');
    expect(health.up()).toBe(true);

    const silencedAt = Date.now();
    proxy.silence({ mode: 'hold' });
    const answer = busy.get(key);
    const foundAt = new Map<string, number>();
    await waitFor(
      () => {
        for (const name of health.lost()) if (!foundAt.has(name)) foundAt.set(name, Date.now() - silencedAt);
        return foundAt.size === 5;
      },
      DETECT_MS + 2_000,
      'every connection found lost',
    ).catch(() => undefined);
    const names = [...foundAt.keys()].sort();
    expect(names).toEqual(['bull', `bull/1 (blocking, queue liveness)`, 'busy', 'idle', 'ping-only']);
    for (const [name, ms] of foundAt) expect(ms, name).toBeLessThanOrEqual(DETECT_MS);
    expect(health.up()).toBe(false);

    const resumedAt = Date.now();
    proxy.resume();
    await waitFor(() => health.up(), 10_000, 'every connection back');
    // The command in flight was resent on the new connection and got its own answer.
    expect(await answer).toBe('the value');
    expect(await idle.ping()).toBe('PONG');
    const lost = log.lines.filter((l) => l.level === 'warn').map((l) => String(l.obj.connection));
    const back = log.lines.filter((l) => l.level === 'info').map((l) => String(l.obj.connection));
    expect(lost.sort()).toEqual(names);
    expect(back.sort()).toEqual(names);
    figure('silent link, found lost after (s)', {
      ...Object.fromEntries([...foundAt].map(([n, ms]) => [n.split(' ')[0], (ms / 1000).toFixed(1)])),
      backAfterResumeS: ((Date.now() - resumedAt) / 1000).toFixed(1),
    });
  });

  it('a READONLY answer (a client still on the demoted primary) reconnects to where the endpoint points and resends', { timeout: 30_000 }, async () => {
    const [a, b] = await Promise.all([startOwnRedis(), startOwnRedis()]);
    cleanups.push(
      () => a.destroy(),
      () => b.destroy(),
    );
    const admin = (url: string) => client(url);
    const [adminA, adminB] = [admin(a.url), admin(b.url)];
    await adminB.replicaof('127.0.0.1', a.port);
    // The managed endpoint: a proxy to the primary.
    const endpoint = await startSilentProxy(a.url);
    cleanups.push(() => endpoint.close());
    const withLiveness = client(endpoint.url, livenessOptions());
    const without = client(endpoint.url);
    expect(await withLiveness.set('k', 'before')).toBe('OK');
    expect(await without.set('k', 'before')).toBe('OK');

    // Failover: B promoted, A demoted to its replica, the endpoint moved to B. Open connections still reach A.
    await adminB.replicaof('NO', 'ONE');
    await adminA.replicaof('127.0.0.1', b.port);
    endpoint.moveTo(b.url);

    await expect(without.set('k', 'lost')).rejects.toThrow(/READONLY/);
    expect(await withLiveness.set('k', 'after')).toBe('OK');
    expect(await adminB.get('k')).toBe('after');
  });
});
