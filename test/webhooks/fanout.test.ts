/**
 * The fan-out's bookkeeping (issue 20, case 3): an event is acknowledged for an endpoint only once that
 * endpoint's delivery is recorded (delivered, queued for a retry, or refused). A delivery Redis refused to
 * record stays pending, `webhooks list` shows the endpoint failing, and the event is routed again after the
 * claim time to that endpoint only. These tests run on a redis-server of their own: they make it refuse
 * writes (`maxmemory` under `noeviction`: OOM), which would break every other test file on a shared one.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../src/config/load.ts';
import { type OwnRedis, startOwnRedis } from '../../src/embedded-redis.ts';
import { Producer } from '../../src/producer.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { type WebhookStatus, webhookStatus } from '../../src/webhooks/admin.ts';
import { idBefore } from '../../src/webhooks/groups.ts';
import { startWebhooks } from '../../src/webhooks/index.ts';
import { useCleanups } from '../support/cleanups.ts';
import { captureLogs } from '../support/log-capture.ts';
import { waitFor } from '../support/pipeline.ts';

const cleanups = useCleanups('test');
const SECRET = `whsec_${Buffer.from('invitebus-test-webhook-secret-32b').toString('base64')}`;
let own: OwnRedis;
let admin: Redis;
let run = 0;

beforeAll(async () => {
  own = await startOwnRedis({ maxmemoryPolicy: 'noeviction' });
  admin = new Redis(own.url, { maxRetriesPerRequest: 3 });
});
// A test that failed half-way leaves Redis accepting writes for the next (before its cleanups run).
afterEach(async () => {
  await acceptWrites();
});
afterAll(async () => {
  await admin.quit();
  await own.destroy();
});

/** Redis refuses every write that needs memory (OOM), as when queued retries fill it under `noeviction`. */
const refuseWrites = (tx: ReturnType<Redis['multi']>) => tx.call('CONFIG', 'SET', 'maxmemory', '1');
const acceptWrites = () => admin.call('CONFIG', 'SET', 'maxmemory', '0');

/** A receiver answering `status()` (after `delayMs`); counts, per webhook-id, every request and those answered 2xx. */
async function receiver(status: () => number, delayMs = 0) {
  const got = new Map<string, number>();
  const accepted = new Map<string, number>();
  const server = await startFakeServer((req) => {
    const id = String(req.headers['webhook-id']);
    const answer = status();
    got.set(id, (got.get(id) ?? 0) + 1);
    if (answer < 300) accepted.set(id, (accepted.get(id) ?? 0) + 1);
    return { status: answer, delayMs };
  });
  cleanups.push(() => server.close());
  return { url: server.url, got, accepted };
}

const hook = (url: string) => ({ url, secret: { env: 'WH' }, events: ['invite.succeeded'], retryScheduleMs: [200, 200, 200] });

/** A worker process's webhooks (fan-out and deliveries) on its own connection, with a short claim time. */
async function startHooks(config: Config, tuning: { claimIdleMs: number; maxInFlight?: number }, logger = captureLogs('silent').logger) {
  const connection = new Redis(own.url, { maxRetriesPerRequest: null });
  const hooks = startWebhooks({ config, env: { WH: SECRET }, connection, logger, tuning });
  if (hooks === undefined) throw new Error('no webhooks configured');
  await Promise.all(hooks.deliveries.map((d) => d.worker.waitUntilReady()));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await hooks.close();
    await connection.quit().catch(() => connection.disconnect());
  };
  cleanups.push(close);
  return { hooks, close };
}

function configFor(webhooks: Record<string, ReturnType<typeof hook>>): Config {
  run += 1;
  return parseConfig({
    redis: { url: own.url, prefix: `t-fanout-${process.pid}-${run}` },
    accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } },
    webhooks,
  });
}

/** `webhooks list` as an operator reads it, by endpoint name. */
async function statusOf(config: Config): Promise<Map<string, WebhookStatus>> {
  const connection = new Redis(own.url, { maxRetriesPerRequest: 3 });
  const producer = new Producer(config, { redis: connection });
  try {
    return new Map((await webhookStatus(producer)).map((s) => [s.name, s]));
  } finally {
    await producer.close();
    await connection.quit();
  }
}

/** What `webhooks list` calls healthy: not disabled, not failing, nothing it could not start. */
const healthy = (s: WebhookStatus | undefined) => s !== undefined && !s.disabled && s.failingSince === undefined && !(s.notStarted ?? 0);

/** Writes `n` invite.succeeded events; with `then`, in the same transaction (the fan-out reads them after it). */
async function writeEvents(config: Config, n: number, then?: (tx: ReturnType<Redis['multi']>) => unknown): Promise<string[]> {
  const stream = invitebusKeys(config.redis.prefix).events;
  const tx = admin.multi();
  for (let i = 0; i < n; i++) tx.xadd(stream, '*', 'type', 'invite.succeeded', 'account', 'acme', 'email', `p${i}@example.com`, 'attempts', '1');
  then?.(tx);
  const replies = (await tx.exec()) ?? [];
  return replies.slice(0, n).map(([err, id]) => {
    if (err) throw err;
    return String(id);
  });
}

/** Writes an event until both receivers have one: the fan-out reads the stream (its groups exist). */
async function warmUp(config: Config, ...receivers: Array<Awaited<ReturnType<typeof receiver>>>): Promise<void> {
  await waitFor(
    async () => {
      const [id = ''] = await writeEvents(config, 1);
      return waitFor(() => receivers.every((r) => r.accepted.has(id)), 1_000).catch(() => false);
    },
    15_000,
    'the fan-out to read the stream',
  );
}

/** Which of `ids` the fan-out still holds unacknowledged, in any of its consumer groups on the stream. */
async function unacknowledged(config: Config, ids: string[]): Promise<Set<string>> {
  const stream = invitebusKeys(config.redis.prefix).events;
  const groups = (await admin.xinfo('GROUPS', stream)) as string[][];
  const pending = new Set<string>();
  for (const g of groups) {
    const name = g[g.indexOf('name') + 1] as string;
    const entries = (await admin.xpending(stream, name, '-', '+', 10_000)) as Array<[string]>;
    for (const [id] of entries) if (ids.includes(id)) pending.add(id);
  }
  return pending;
}

const allOnce = (counts: Map<string, number>, ids: string[]) => ids.every((id) => counts.get(id) === 1);

describe('webhook fan-out bookkeeping', () => {
  it('acknowledges an event only once every endpoint has it; what Redis refused for one is routed again to that one only', async () => {
    let aStatus = 200;
    const a = await receiver(() => aStatus);
    // B answers after 150 ms: A's start fails before B's delivery settles (the order the issue reports).
    const b = await receiver(() => 200, 150);
    const config = configFor({ a: hook(a.url), b: hook(b.url) });
    const { hooks, close } = await startHooks(config, { claimIdleMs: 1_000 });
    await warmUp(config, a, b);

    // A fails its direct attempt, and its retry cannot be queued: Redis answers OOM. B's direct delivery succeeds.
    aStatus = 503;
    const ids = await writeEvents(config, 9, refuseWrites);
    await waitFor(() => allOnce(b.got, ids), 10_000, 'B to get the 9 events');
    await waitFor(() => ids.every((id) => a.got.has(id)), 10_000, "A's 9 attempts");
    // `webhooks list` shows A failing: its 9 deliveries could not be started. B is fine.
    const failing = await waitFor(
      async () => {
        const a = (await statusOf(config)).get('a');
        return a?.notStarted === 9 ? a : undefined;
      },
      5_000,
      "`webhooks list` to show A's 9 deliveries not started",
    );
    expect(healthy(failing)).toBe(false);
    expect(failing.pending).toBe(9);
    expect(healthy((await statusOf(config)).get('b'))).toBe(true);
    // Nothing acknowledged while A's deliveries are not recorded, though nothing is held in flight for them.
    await waitFor(() => hooks.inFlight() === 0, 5_000, "B's deliveries to settle");
    expect((await unacknowledged(config, ids)).size).toBe(9);

    // Redis accepts writes again and A answers: A gets every event after the claim, B nothing twice.
    aStatus = 200;
    await acceptWrites();
    await waitFor(() => ids.every((id) => a.accepted.has(id)), 20_000, 'A to get the 9 events');
    await waitFor(async () => (await unacknowledged(config, ids)).size === 0, 10_000, 'every event acknowledged');
    expect(allOnce(a.accepted, ids)).toBe(true);
    expect(allOnce(b.got, [...b.got.keys()])).toBe(true);
    await waitFor(async () => healthy((await statusOf(config)).get('a')), 5_000, 'A healthy again');
    // No in-flight entry leaked: close() waits for none.
    expect(hooks.inFlight()).toBe(0);
    const closing = Date.now();
    await close();
    expect(Date.now() - closing).toBeLessThan(5_000);
  }, 60_000);

  it('keeps reading when more deliveries than the in-flight limit cannot be started', async () => {
    let aStatus = 200;
    const a = await receiver(() => aStatus);
    const config = configFor({ a: hook(a.url) });
    await startHooks(config, { claimIdleMs: 1_000, maxInFlight: 4 });
    aStatus = 200;
    await warmUp(config, a);
    aStatus = 503;
    const ids = await writeEvents(config, 9, refuseWrites);
    await waitFor(() => ids.every((id) => a.got.has(id)), 10_000, "A's 9 attempts");
    aStatus = 200;
    await acceptWrites();
    const later = await writeEvents(config, 3);
    await waitFor(() => [...ids, ...later].every((id) => a.accepted.has(id)), 20_000, 'A to get all 12 events');
    expect(allOnce(a.accepted, [...ids, ...later])).toBe(true);
  }, 40_000);

  it('a process closed while Redis refuses acknowledges nothing it could not record; the next one delivers it', async () => {
    let aStatus = 200;
    const a = await receiver(() => aStatus);
    // B answers after 150 ms: A's start fails before B's delivery settles (the order the issue reports).
    const b = await receiver(() => 200, 150);
    const config = configFor({ a: hook(a.url), b: hook(b.url) });
    const first = await startHooks(config, { claimIdleMs: 1_000 });
    await warmUp(config, a, b);
    aStatus = 503;
    const ids = await writeEvents(config, 9, refuseWrites);
    await waitFor(() => allOnce(b.got, ids) && ids.every((id) => a.got.has(id)), 10_000, 'both attempts');
    const closing = Date.now();
    await first.close();
    expect(Date.now() - closing).toBeLessThan(5_000);
    expect((await unacknowledged(config, ids)).size).toBe(9);

    aStatus = 200;
    await acceptWrites();
    await startHooks(config, { claimIdleMs: 1_000 });
    await waitFor(() => ids.every((id) => a.accepted.has(id)), 20_000, 'A to get the 9 events from the next process');
    await waitFor(async () => (await unacknowledged(config, ids)).size === 0, 10_000, 'every event acknowledged');
    expect(allOnce(a.accepted, ids)).toBe(true);
    // B had them: the next process does not send them again.
    expect(allOnce(b.got, [...b.got.keys()])).toBe(true);
  }, 60_000);

  it('starts a group just before an id, across a millisecond boundary', () => {
    expect(idBefore('1700000000000-3')).toBe('1700000000000-2');
    expect(idBefore('1700000000000-0')).toBe('1699999999999-18446744073709551615');
    expect(idBefore('0-0')).toBe('0-0');
  });

  it('an upgrade from the shared group loses nothing: each endpoint starts at its oldest unacknowledged event', async () => {
    const a = await receiver(() => 200);
    const config = configFor({ a: hook(a.url) });
    const stream = invitebusKeys(config.redis.prefix).events;
    // As a worker of the shared group left it: the first event acknowledged, the second read and not, the third unread.
    await admin.xgroup('CREATE', stream, 'webhooks', '$', 'MKSTREAM');
    const [acked = '', held = ''] = await writeEvents(config, 2);
    await admin.xreadgroup('GROUP', 'webhooks', 'worker-old', 'COUNT', 10, 'STREAMS', stream, '>');
    await admin.xack(stream, 'webhooks', acked);
    const [unread = ''] = await writeEvents(config, 1);
    await startHooks(config, { claimIdleMs: 1_000 });
    await waitFor(() => a.accepted.has(held) && a.accepted.has(unread), 10_000, 'the held and the unread event');
    expect(a.got.has(acked)).toBe(false);
    const groups = ((await admin.xinfo('GROUPS', stream)) as string[][]).map((g) => g[g.indexOf('name') + 1]);
    expect(groups).toEqual(['webhook:a']);
  });

  it('a process started while Redis refuses writes delivers once Redis accepts them', async () => {
    const a = await receiver(() => 200);
    const config = configFor({ a: hook(a.url) });
    // No group yet (a first start, or a new endpoint) and Redis full: creating the group is refused.
    await refuseWrites(admin.multi()).exec();
    const { lines, logger } = captureLogs('info');
    await startHooks(config, { claimIdleMs: 1_000 }, logger);
    await waitFor(() => lines.some((l) => /webhook fan-out/.test(l) && /OOM/.test(l)), 10_000, 'the fan-out to meet the refusal');
    await acceptWrites();
    await warmUp(config, a);
  });
});
