/**
 * A dead link between a worker and Redis: the sockets stay open but nothing passes for 20 s, then traffic flows
 * again (test/support/silent-proxy.ts). Both kinds: the bytes dropped, and the bytes held back then delivered
 * (a partition that heals: what the worker sent meanwhile still runs). The worker must notice within 15 s (one
 * log line), reconnect once traffic flows, and finish every invite; the jobs its dead connection held are taken
 * back once their locks expire (the stalled check).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { jobCounts, waitFor } from '../support/pipeline.ts';
import { type SilenceMode, startSilentProxy } from '../support/silent-proxy.ts';
import { figure, ownRedis, startWorker, writeConfig } from './harness.ts';

const cleanups = useCleanups();
const N = 300;
const SILENCE_MS = 20_000;
/** The bound: a dead connection is noticed (and said) within this long. */
const DETECT_MS = 15_000;

/** The worker's log lines (pino JSON) at or after `since`, as objects. */
function logLines(output: string, since: number) {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; time: string; msg: string } & Record<string, unknown>)
    .filter((l) => Date.parse(l.time) >= since);
}

async function deadLink(mode: SilenceMode) {
  const redis = await ownRedis();
  cleanups.push(() => redis.destroy());
  const proxy = await startSilentProxy(redis.url);
  cleanups.push(() => proxy.close());
  const provider = await startFakeServer((req) => ({ ...betterstackHandler()(req), delayMs: 20 }));
  cleanups.push(() => provider.close());
  const raw = {
    redis: { url: proxy.url, prefix: `dead-${mode}` },
    // A dead worker's jobs are taken back seconds after their lock expires.
    worker: { lockDurationMs: 4_000, stalledIntervalMs: 2_000, maxStalledCount: 5, shutdownTimeoutMs: 5_000 },
    accounts: {
      acme: {
        provider: 'betterstack',
        baseUrl: provider.url,
        credentials: { token: { env: 'BS_TOKEN' } },
        concurrency: 8,
        rateLimit: { max: 25, durationMs: 1_000 },
      },
    },
  };
  // The test's own producer talks to Redis directly: it enqueues and watches while the worker's link is dead.
  const p = new Producer(parseConfig({ ...raw, redis: { ...raw.redis, url: redis.url } }));
  cleanups.push(() => p.close());
  const w = await startWorker(writeConfig(raw), { BS_TOKEN: 'bs-team-token' });
  cleanups.push(async () => {
    if (w.child.exitCode === null) {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  });
  await p.inviteMany(
    'acme',
    Array.from({ length: N }, (_, i) => ({ email: `d${i}@example.com` })),
  );
  await waitFor(() => provider.requests.length >= 60, 30_000, '60 calls before the silence');

  const silencedAt = Date.now();
  proxy.silence({ mode });
  const queue = p.queue('acme');
  const activeAtSilence = await queue.getActiveCount();
  const callsAtSilence = provider.requests.length;
  await new Promise((r) => setTimeout(r, SILENCE_MS));
  const resumedAt = Date.now();
  const callsDuringSilence = provider.requests.filter((r) => r.at > silencedAt + 1_000).length;
  proxy.resume();

  const inviteEvents = async () => (await p.events().read('-', 100_000)).filter((e) => e.fields.type?.startsWith('invite.'));
  const drained = await waitFor(
    async () => ((await inviteEvents()).length >= N ? Date.now() : undefined),
    25_000,
    `${N} invites terminal within 25 s of the link's return`,
  ).catch(() => undefined);

  const lines = logLines(w.output(), silencedAt);
  // One warning per connection lost, one line when it is back (src/redis-connection/liveness.ts).
  const lostLines = lines.filter((l) => l.level === 40 && /^Redis connection '.*' lost/.test(l.msg));
  const backLines = lines.filter((l) => l.level === 30 && /^Redis connection '.*' is back/.test(l.msg));
  const detectedMs = lostLines[0] === undefined ? undefined : Date.parse(lostLines[0].time) - silencedAt;
  const firstAfter = provider.requests.find((r) => r.at >= resumedAt);
  // A held command that lands late (a fetch the dead connection sent) can make a finished invite's job active again
  // with no worker holding it: its lock expires and the stalled check finishes it (lock 4 s + check every 2 s).
  const settled = await waitFor(
    async () => {
      const c = await jobCounts(queue, 'active', 'wait', 'completed', 'failed', 'delayed');
      return c.active === 0 && c.completed === N ? Date.now() : undefined;
    },
    15_000,
    'the queue to settle',
  ).catch(() => undefined);
  const counts = await jobCounts(queue, 'active', 'wait', 'completed', 'failed', 'delayed');
  const events = await inviteEvents();
  const perEmail = new Map<string, number>();
  for (const r of provider.requests)
    perEmail.set(String((r.json as { email: string }).email), (perEmail.get(String((r.json as { email: string }).email)) ?? 0) + 1);
  const duplicates = [...perEmail.values()].reduce((sum, n) => sum + n - 1, 0);
  figure(`dead link (${mode}, ${SILENCE_MS / 1000} s)`, {
    invites: N,
    callsBeforeSilence: callsAtSilence,
    activeAtSilence,
    callsDuringSilence,
    detectedS: detectedMs === undefined ? 'never' : (detectedMs / 1000).toFixed(1),
    silenceToFirstDeliveryS: firstAfter === undefined ? 'never' : ((firstAfter.at - silencedAt) / 1000).toFixed(1),
    resumeToFirstDeliveryS: firstAfter === undefined ? 'never' : ((firstAfter.at - resumedAt) / 1000).toFixed(1),
    resumeToDrainedS: drained === undefined ? 'not within 25' : ((drained - resumedAt) / 1000).toFixed(1),
    resumeToSettledS: settled === undefined ? 'not within 15 more' : ((settled - resumedAt) / 1000).toFixed(1),
    terminal: events.length,
    active: counts.active ?? 0,
    waiting: counts.wait ?? 0,
    deliveredTwice: duplicates,
    connectionsLost: lostLines.length,
    slowestDetectedS: lostLines.length === 0 ? 'never' : ((Math.max(...lostLines.map((l) => Date.parse(l.time))) - silencedAt) / 1000).toFixed(1),
    logLinesAfterSilence: lines.length,
  });
  w.child.kill('SIGTERM');
  const exit = await w.exited;

  expect(detectedMs, 'a log line saying the connection is lost, within 15 s').toBeDefined();
  expect(detectedMs).toBeLessThanOrEqual(DETECT_MS);
  const connections = lostLines.map((l) => String(l.connection));
  expect(new Set(connections).size).toBe(connections.length); // once each, however many reconnect attempts failed
  expect(backLines.map((l) => String(l.connection)).sort()).toEqual([...connections].sort());
  for (const l of lostLines) expect(Date.parse(l.time) - silencedAt, String(l.connection)).toBeLessThanOrEqual(DETECT_MS);
  // The recovery bound, from the moment the link works again.
  expect(firstAfter, 'a delivery after the link came back').toBeDefined();
  expect((firstAfter?.at ?? Number.POSITIVE_INFINITY) - resumedAt).toBeLessThanOrEqual(30_000);
  expect(events).toHaveLength(N);
  expect(events.every((e) => e.fields.type === 'invite.succeeded')).toBe(true);
  expect(new Set(events.map((e) => e.fields.inviteId)).size).toBe(N);
  expect(counts).toMatchObject({ active: 0, wait: 0, completed: N, failed: 0 });
  expect(perEmail.size).toBe(N);
  expect(duplicates).toBeLessThanOrEqual(activeAtSilence);
  expect(exit.code).toBe(0);
}

describe('a dead link between a worker and Redis (sockets open, nothing passes for 20 s)', () => {
  it('traffic dropped: noticed within 15 s, reconnected once it flows, every invite terminal, no job left active', { timeout: 60_000 }, () => deadLink('drop'));
  it('traffic held back then delivered: the same, and what the dead connection sent is harmless when it lands', { timeout: 60_000 }, () => deadLink('hold'));
});
