/**
 * Failovers of the Redis production runs on (issue 22), with real processes on loopback: a Sentinel group whose
 * primary is SIGKILLed, a managed endpoint moved to a promoted replica, a Cluster that loses the owner of
 * invitebus's slot. In each, the worker process and `serve` carry on without a restart (a running `enqueue` rides the
 * failover out), and afterwards:
 * every invite terminal, the batch exact, duplicates at the provider no more than the calls that can be in flight,
 * nothing left active, every webhook event at the receiver, and deliveries again within 30 s of the fault.
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { freePort } from '../../src/embedded-redis.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackBodies, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { connectRedis } from '../../src/redis-connection/factory.ts';
import { type FakeAnswer, type FakeServer, type RecordedRequest, startFakeServer } from '../../src/sandbox/server.ts';
import { webhookQueueName } from '../../src/webhooks/payload.ts';
import { useCleanups } from '../support/cleanups.ts';
import { useCli } from '../support/cli.ts';
import { startEndpointProxy } from '../support/endpoint-proxy.ts';
import { jobCounts, waitFor } from '../support/pipeline.ts';
import { startRedisCluster, startReplicaPair, startSentinelGroup } from '../support/redis-topologies.ts';
import { tempDir } from '../support/temp-dir.ts';
import { figure, startWorker, type WorkerProcess, writeConfig } from './harness.ts';

const API_TOKEN = 'failover-api-token';
const ENV = {
  BS_TOKEN: 'bs-team-token',
  INVITEBUS_API_TOKEN: API_TOKEN,
  WH: `whsec_${Buffer.from('failover-webhook-secret-0123456').toString('base64')}`,
  REDIS_PASSWORD: 'data-node-secret',
  SENTINEL_PASSWORD: 'sentinel-secret',
};
const PEOPLE = 3_000;
/** Calls in flight per worker process (the account's concurrency): the most a fault can leave unrecorded. */
const CONCURRENCY = 10;
/** Calls per second the account is paced at: 3,000 invites take 10-15 s, so each fault lands mid-delivery. */
const FAST = 300;
const SUBSCRIBED = ['invite.succeeded', 'invite.failed', 'batch.completed'];
/** A call that reaches the provider this long after the fault passed its Redis call gate after the fault. */
const GATE_SLACK_MS = 250;

const cleanups = useCleanups();
const cli = useCli(ENV);

async function fake(handler: (req: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>): Promise<FakeServer> {
  const server = await startFakeServer(handler);
  cleanups.push(() => server.close());
  return server;
}

/**
 * Better Stack answering in 20 ms, as its documentation says; `refuse` names the invites it refuses besides (422,
 * a permanent failure of that invite: a role the team lacks, or an address refused on its side).
 */
async function provider(refuse: (email: string, role: string | undefined) => boolean = () => false): Promise<FakeServer> {
  const honest = betterstackHandler();
  return fake((req) => {
    const body = req.json as { email?: string; role?: string };
    if (refuse(String(body.email), body.role)) return { status: 422, body: betterstackBodies.invalidRole, delayMs: 20 };
    return { ...honest(req), delayMs: 20 };
  });
}

function configFor(redis: Record<string, unknown>, providerUrl: string, receiverUrl: string, callsPerSecond = FAST) {
  return {
    redis,
    // A call whose completion could not be written during the failover is retried once its lock expires.
    worker: { lockDurationMs: 5_000, stalledIntervalMs: 2_000, maxStalledCount: 5, shutdownTimeoutMs: 3_000 },
    accounts: {
      acme: {
        provider: 'betterstack',
        baseUrl: providerUrl,
        concurrency: CONCURRENCY,
        rateLimit: { max: callsPerSecond, durationMs: 1_000 },
        credentials: { token: { env: 'BS_TOKEN' } },
      },
    },
    webhooks: { hr: { url: `${receiverUrl}/hooks`, secret: { env: 'WH' }, events: SUBSCRIBED, concurrency: 4 } },
  };
}

async function worker(configPath: string): Promise<WorkerProcess> {
  const w = await startWorker(configPath, ENV);
  cleanups.push(async () => {
    if (w.child.exitCode === null) {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  });
  return w;
}

/** `invitebus serve` as a process of its own; resolves once /readyz answers 200. */
async function serve(configPath: string) {
  const port = await freePort();
  const proc = cli.start(['--config', configPath, 'serve', '--port', String(port)]);
  cleanups.push(() => proc.child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  let last = '';
  const ready = async () => {
    const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(3_000) }).catch((e: Error) => e);
    last = res instanceof Error ? res.message : `${res.status} ${await res.text()}`;
    return last.startsWith('200');
  };
  await waitFor(async () => (proc.child.exitCode !== null ? Promise.reject(new Error(`serve exited: ${proc.stderr()}`)) : ready()), 30_000, 'serve ready');
  const api = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` }, signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { proc, base, ready, api, last: () => last };
}

function producerFor(raw: Record<string, unknown>): Producer {
  const p = new Producer(parseConfig(raw), { env: { ...process.env, ...ENV } });
  cleanups.push(() => p.close());
  return p;
}

const csvRows = (from: number, to: number, role = 'member') => Array.from({ length: to - from }, (_, i) => `hire${from + i}@example.com,${role}\n`);

/**
 * A file the CLI reads while the test is still writing it (a FIFO): `invitebus enqueue` is running, its chunks
 * going to Redis as rows arrive, when the fault happens. Writes stop quietly if the reader has gone.
 */
function fifoFile(path: string) {
  execFileSync('mkfifo', [path]);
  const out = createWriteStream(path);
  let gone = false;
  let written = 0;
  out.on('error', () => {
    gone = true;
  });
  return {
    /** Lines written so far. */
    get written() {
      return written;
    },
    /** Writes `lines`, all at once or `perSecond`. */
    async write(lines: string[], perSecond = Number.POSITIVE_INFINITY): Promise<void> {
      const step = Number.isFinite(perSecond) ? Math.max(1, Math.round(perSecond / 20)) : lines.length;
      for (let i = 0; i < lines.length && !gone; i += step) {
        const part = lines.slice(i, i + step);
        if (!out.write(part.join(''))) await new Promise<void>((r) => out.once('drain', () => r()).once('close', () => r()));
        written += part.length;
        if (Number.isFinite(perSecond)) await new Promise((r) => setTimeout(r, 50));
      }
    },
    end: () => new Promise<void>((resolve) => (gone ? resolve() : out.end(() => resolve()))),
  };
}

/** Calls per address at the provider. */
function callsPerEmail(server: FakeServer): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of server.requests) {
    const email = (r.json as { email: string }).email;
    m.set(email, (m.get(email) ?? 0) + 1);
  }
  return m;
}

/** Kill → the first call that passed its Redis gate after the fault; the longest pause in calls around it. */
function recovery(server: FakeServer, faultAt: number) {
  const after = server.requests.find((r) => r.at > faultAt + GATE_SLACK_MS);
  const times = server.requests.map((r) => r.at).filter((t) => t >= faultAt - 1_000);
  let longestGapMs = 0;
  for (let i = 1; i < times.length; i += 1) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
  return { recoveryMs: after === undefined ? Number.POSITIVE_INFINITY : after.at - faultAt, longestGapMs };
}

/**
 * What every failover must leave: each invite terminal, the batch exact (or repaired by `batches check --repair`,
 * which is reported), nothing waiting or active in any queue, every subscribed event at the receiver at least once.
 * `check`: run `batches check` (the CLI) too.
 */
async function settled(
  p: Producer,
  configPath: string,
  batchId: string,
  expected: { total: number; succeeded: number },
  receiver: FakeServer,
  options: { check: boolean },
) {
  const { prefix } = p.config.redis;
  const queues = [p.queue('acme'), new Queue(webhookQueueName('hr'), { connection: p.redis, prefix })];
  cleanups.push(() => queues[1]?.close());
  const idle = async () => {
    const counts = await Promise.all(queues.map((q) => jobCounts(q, 'active', 'wait', 'delayed', 'prioritized', 'completed', 'failed')));
    const quiet = counts.every((c) => c.active === 0 && c.wait === 0 && c.delayed === 0 && c.prioritized === 0);
    return quiet && (counts[0]?.completed ?? 0) + (counts[0]?.failed ?? 0) === expected.total;
  };
  const t0 = Date.now();
  await waitFor(idle, 40_000, 'every invite terminal, nothing waiting or active').catch(async (e: Error) => {
    const now = await batchStatus(p.redis, prefix, batchId).catch((x: Error) => x.message);
    const counts = await queues[0]?.getJobCounts().catch((x: Error) => x.message);
    throw new Error(`${e.message}: batch ${JSON.stringify(now)}; queue ${JSON.stringify(counts)}`);
  });

  const terminalMs = Date.now() - t0;
  let repaired = 0;
  if (options.check) {
    const check = await cli.run(['--config', configPath, 'batches', 'check', batchId, '--json']);
    const found = JSON.parse(check.stdout) as { drift: unknown[]; stranded: unknown[]; members: number };
    expect(found.members).toBe(expected.total);
    if (found.drift.length + found.stranded.length > 0) {
      const repair = await cli.run(['--config', configPath, 'batches', 'check', batchId, '--repair', '--json']);
      expect(repair.code, repair.stdout).toBe(0);
      repaired = found.drift.length + found.stranded.length;
      process.stdout.write(`fault figures: batch ${batchId} repaired by batches check: ${check.stdout}\n`);
    }
  }
  const status = await waitFor(
    async () => {
      const s = await batchStatus(p.redis, prefix, batchId);
      return s?.complete ? s : undefined;
    },
    10_000,
    `batch ${batchId} to complete`,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(await batchStatus(p.redis, prefix, batchId))}`);
  });
  expect(status).toMatchObject({ total: expected.total, done: expected.total, succeeded: expected.succeeded, failed: expected.total - expected.succeeded });
  const completeMs = Date.now() - t0;

  const events = (await p.events().read('-', 1_000_000)).filter((e) => SUBSCRIBED.includes(String(e.fields.type)));
  await waitFor(
    () => {
      const got = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])));
      return events.every((e) => got.has(e.id));
    },
    30_000,
    'every subscribed event at the receiver',
  );
  await waitFor(idle, 10_000, 'every webhook delivery finished');
  process.stdout.write(`fault figures: settling ${batchId}: allTerminalMs=${terminalMs} batchCompleteMs=${completeMs} webhooksDoneMs=${Date.now() - t0}\n`);
  return { status, repaired, events: events.length, completions: events.filter((e) => e.fields.type === 'batch.completed').length };
}

/**
 * A process's JSON log as the failover left it: lines at error level (there should be none: Redis away for a few
 * seconds is an outage, said once as a warning, not an error per connection and retry), how many times the outage
 * was said and its end. Apart: BullMQ's "Missing lock for job X" / "could not renew lock", which a command resent
 * after a cut connection can meet (its first send had completed the job); the dead-link branch says those once as
 * a warning.
 */
function logOf(output: string) {
  const lines = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg?: string; err?: { message?: string } });
  const lockLost = (l: { err?: { message?: string } }) => /^(Missing lock for job|could not renew lock for job)/.test(l.err?.message ?? '');
  const warned = (said: RegExp) => lines.filter((l) => l.level === 40 && said.test(l.msg ?? '')).length;
  const outages = warned(/is unreachable/);
  const answersAgain = lines.filter((l) => /answers again/.test(l.msg ?? '')).length;
  return {
    errors: lines.filter((l) => l.level >= 50 && !lockLost(l)).map((l) => JSON.stringify(l).slice(0, 300)),
    outages,
    answersAgain,
    /** The worker's log in a scenario's figures. */
    figures: {
      workerOutageWarnings: outages,
      workerAnswersAgain: answersAgain,
      // Jobs whose lock expired while Redis was away, and completions sent again after a reconnect that found their
      // job already finished: each said once as a warning (src/worker/account-worker.ts).
      workerLockLost: warned(/lost its lock/),
      workerResentCompletions: warned(/had already finished/),
    },
  };
}

describe('Redis failovers, real processes on loopback', () => {
  it('Sentinel: the primary SIGKILLed mid-delivery; the worker and serve go on, the running enqueue rides it out and finishes', async () => {
    const t0 = Date.now();
    const group = await startSentinelGroup({ dir: tempDir('ib-failover-sentinel-'), password: ENV.REDIS_PASSWORD, sentinelPassword: ENV.SENTINEL_PASSWORD });
    cleanups.push(() => group.destroy());
    const bs = await provider();
    const receiver = await fake(() => ({ status: 204, delayMs: 5 }));
    const raw = configFor(
      {
        sentinels: group.sentinelAddresses,
        name: group.name,
        password: { env: 'REDIS_PASSWORD' },
        sentinelPassword: { env: 'SENTINEL_PASSWORD' },
        prefix: 'sentinel',
      },
      bs.url,
      receiver.url,
    );
    const configPath = writeConfig(raw);
    const p = producerFor(raw);
    const w = await worker(configPath);
    const api = await serve(configPath);

    // The onboarding file arrives while `enqueue` runs: 1,000 rows at once, the rest at 500 rows/s. It sends rows to
    // Redis by the 1,000: the primary is killed 0.2 s before the second thousand is complete, so that chunk goes
    // out during the failover, while the first is being delivered.
    const dir = tempDir('ib-failover-file-');
    const enqueueArgs = (file: string) => ['--config', configPath, 'enqueue', '--account', 'acme', '--file', file, '--batch', 'onboarding'];
    const fifo = fifoFile(join(dir, 'people.csv'));
    const enqueue = cli.start(enqueueArgs(join(dir, 'people.csv')));
    await fifo.write(['email,role\n', ...csvRows(0, 1_000)]);
    // Invites and their webhooks flowing before the rest of the file comes (a busy CI machine once had delivered
    // invites but no webhook yet 1.8 s in, and the scenario was not the one described).
    await waitFor(() => bs.requests.length > 0 && receiver.requests.length > 0, 30_000, 'the first invites and webhooks');
    const feeding = fifo.write(csvRows(1_000, PEOPLE), 500).then(() => fifo.end());
    await waitFor(() => fifo.written >= 1 + 1_900, 30_000, '1,900 rows written');
    const inFlightAtKill = bs.inFlight();
    const deliveredBeforeKill = bs.requests.length;
    const old = group.primary;
    const killedAt = Date.now();
    await group.kill(old);
    const promoted = await group.waitForFailover();
    const switchedMs = Date.now() - killedAt;
    expect(promoted).not.toBe(old);
    await waitFor(async () => (await api.ready()) || undefined, 30_000, 'serve ready again').catch((e) => {
      throw new Error(`${e.message}: ${api.last()}\n${api.proc.stdout()}\n${api.proc.stderr()}`);
    });
    const serveReadyMs = Date.now() - killedAt;
    await feeding;

    // The running enqueue rides the failover out (it waits out an outage of up to 20 s: src/cli/context.ts) and
    // finishes by itself: every row accepted once, no rerun needed.
    const first = await enqueue.done;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`${PEOPLE} rows, accepted ${PEOPLE}`);
    // serve answers for the batch through the new primary.
    const viaApi = await waitFor(
      async () => {
        const r = await api.api('/v1/batches/onboarding');
        return r.status === 200 && r.body.complete === true ? r.body : undefined;
      },
      40_000,
      'serve to report the batch complete',
    );
    expect(viaApi.total).toBe(PEOPLE);
    const end = await settled(p, configPath, 'onboarding', { total: PEOPLE, succeeded: PEOPLE }, receiver, { check: true });

    const calls = callsPerEmail(bs);
    const duplicates = [...calls.values()].reduce((sum, n) => sum + n - 1, 0);
    const { recoveryMs, longestGapMs } = recovery(bs, killedAt);
    const serveLog = logOf(api.proc.stdout());
    const workerLog = logOf(w.output());
    figure('failover sentinel', {
      killToSwitchMs: switchedMs,
      killToFirstInviteMs: recoveryMs,
      longestPauseMs: longestGapMs,
      serveReadyAgainMs: serveReadyMs,
      serveOutageWarnings: serveLog.outages,
      inFlightAtKill,
      deliveredBeforeKill,
      deliveredTwice: duplicates,
      enqueue: 'finished',
      batchRepaired: end.repaired,
      webhookEvents: end.events,
      ...workerLog.figures,
      totalS: ((Date.now() - t0) / 1000).toFixed(1),
    });
    expect(calls.size).toBe(PEOPLE);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    expect(recoveryMs).toBeLessThanOrEqual(30_000);
    expect(w.child.exitCode).toBeNull();
    expect(api.proc.child.exitCode).toBeNull();
    expect(serveLog.errors).toEqual([]);
    expect(workerLog.errors).toEqual([]);
  });

  it('Sentinel: a connection asking a slow sentinel for the primary when the failover is announced reconnects all the same', async () => {
    const group = await startSentinelGroup({ dir: tempDir('ib-failover-slow-'), password: ENV.REDIS_PASSWORD, sentinelPassword: ENV.SENTINEL_PASSWORD });
    cleanups.push(() => group.destroy());
    const slow = await startEndpointProxy(group.sentinelAddresses[0]!);
    cleanups.push(() => slow.close());
    const redis = {
      sentinels: [{ host: '127.0.0.1', port: slow.port }, ...group.sentinelAddresses.slice(1)],
      name: group.name,
      password: { env: 'REDIS_PASSWORD' },
      sentinelPassword: { env: 'SENTINEL_PASSWORD' },
      prefix: 'slow',
    };
    const client = connectRedis(parseConfig(configFor(redis, 'http://127.0.0.1:9', 'http://127.0.0.1:9')), 'worker', { env: { ...process.env, ...ENV } });
    client.on('error', () => undefined);
    cleanups.push(() => client.disconnect());
    let ended = 0;
    client.on('end', () => {
      ended += 1;
    });
    expect(await client.set('slow:k', 'before')).toBe('OK');
    // From now on the first sentinel answers 2.5 s late: the reconnect that asks it is still waiting for its answer
    // when the other sentinels announce the failover.
    slow.replyDelayMs = 2_500;
    const killedAt = Date.now();
    await group.kill(group.primary);
    await group.waitForFailover();
    const switchedMs = Date.now() - killedAt;
    expect(await client.set('slow:k', 'after')).toBe('OK');
    const firstWriteMs = Date.now() - killedAt;
    expect(ended).toBe(0);

    // Its watch on the sentinels (+switch-master) lives as long as its connection: quit() leaves nothing open
    // (an open subscription would keep a process that closed everything from exiting).
    const subscriptions = async () => {
      let n = 0;
      for (const address of group.sentinelAddresses) {
        const admin = new Redis({ ...address, password: ENV.SENTINEL_PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => null });
        admin.on('error', () => undefined);
        const list = String(await admin.call('CLIENT', 'LIST').finally(() => admin.disconnect()));
        n += list.split('\n').filter((line) => / flags=\S*P/.test(line)).length;
      }
      return n;
    };
    await waitFor(async () => (await subscriptions()) > 0, 5_000, 'the failover watch of the new connection');
    await client.quit();
    await waitFor(async () => (await subscriptions()) === 0, 5_000, 'no subscription left on the sentinels after quit()');
    figure('failover sentinel, slow sentinel', { killToSwitchMs: switchedMs, killToFirstWriteMs: firstWriteMs });
  });

  it('endpoint failover: the replica promoted, the endpoint moved to it, the old primary SIGKILLed 6 s later; 3,000/3,000, the batch exact', async () => {
    const t0 = Date.now();
    const pair = await startReplicaPair({ dir: tempDir('ib-failover-pair-'), password: ENV.REDIS_PASSWORD });
    cleanups.push(() => pair.destroy());
    const endpoint = await startEndpointProxy(pair.primary);
    cleanups.push(() => endpoint.close());
    const bs = await provider();
    const receiver = await fake(() => ({ status: 204, delayMs: 5 }));
    // 200 invites/s through one worker (the harness ran 100/s).
    const raw = configFor({ url: endpoint.url, password: { env: 'REDIS_PASSWORD' }, prefix: 'endpoint' }, bs.url, receiver.url, 200);
    const configPath = writeConfig(raw);
    const p = producerFor(raw);
    const enqueued = await p.inviteMany(
      'acme',
      Array.from({ length: PEOPLE }, (_, i) => ({ email: `hire${i}@example.com`, role: 'member' })),
      { batchId: 'endpoint' },
    );
    expect(enqueued.accepted).toBe(PEOPLE);
    const w = await worker(configPath);

    await waitFor(() => bs.requests.length >= 800, 30_000, '800 invites delivered');
    const inFlightAtFailover = bs.inFlight();
    // The endpoint's failover, as a managed service does it without losing an acknowledged write: the endpoint
    // stops taking connections (those open are cut), the replica is promoted once it has everything the primary
    // acknowledged, and the endpoint points at it. (Promoting first while clients still write through the endpoint
    // to the old primary loses those writes: some invites' recorded results, which only `batches check --repair`
    // then finds.)
    // (pair.promote() waits for the replica to have everything the primary acknowledged.)
    const failoverAt = Date.now();
    endpoint.hold();
    await pair.promote();
    endpoint.pointTo(pair.replica);
    const movedMs = Date.now() - failoverAt;
    await new Promise((r) => setTimeout(r, 6_000 - movedMs));
    const inFlightAtKill = bs.inFlight();
    const killedAt = Date.now();
    await pair.kill(pair.primary);

    const end = await settled(p, configPath, 'endpoint', { total: PEOPLE, succeeded: PEOPLE }, receiver, { check: true });
    const calls = callsPerEmail(bs);
    const duplicates = [...calls.values()].reduce((sum, n) => sum + n - 1, 0);
    const fromFailover = recovery(bs, failoverAt);
    const fromKill = recovery(bs, killedAt);
    const workerLog = logOf(w.output());
    figure('failover endpoint', {
      failoverToFirstInviteMs: fromFailover.recoveryMs,
      killToFirstInviteMs: fromKill.recoveryMs,
      longestPauseMs: Math.max(fromFailover.longestGapMs, fromKill.longestGapMs),
      inFlightAtFailover,
      inFlightAtKill,
      deliveredTwice: duplicates,
      batchRepaired: end.repaired,
      endpointMovedMs: movedMs,
      endpointConnections: endpoint.accepted,
      webhookEvents: end.events,
      ...workerLog.figures,
      totalS: ((Date.now() - t0) / 1000).toFixed(1),
    });
    expect(end.repaired).toBe(0); // exact, not repaired
    expect(calls.size).toBe(PEOPLE);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    expect(fromFailover.recoveryMs).toBeLessThanOrEqual(30_000);
    expect(fromKill.recoveryMs).toBeLessThanOrEqual(30_000);
    expect(w.child.exitCode).toBeNull();
    expect(workerLog.errors).toEqual([]);
  });

  it('Cluster: enqueue, delivery through the slot owner SIGKILLed, the same enqueue again, corrections, a replay, webhooks, batches check: all exact', async () => {
    const t0 = Date.now();
    const cluster = await startRedisCluster({ dir: tempDir('ib-failover-cluster-'), primaries: 3, replicasPerPrimary: 1, password: ENV.REDIS_PASSWORD });
    cleanups.push(() => cluster.destroy());
    // Five people get a role this team lacks (rejected: corrected later); ten are refused until the team is fixed
    // on the provider's side (rejected: replayed later).
    const wrongRole = new Set(Array.from({ length: 5 }, (_, i) => `hire${i}@example.com`));
    const refused = new Set(Array.from({ length: 10 }, (_, i) => `hire${5 + i}@example.com`));
    let refusing = true;
    const bs = await provider((email, role) => role === 'billing_admin' || (refusing && refused.has(email)));
    const receiver = await fake(() => ({ status: 204, delayMs: 5 }));
    const prefix = '{ibc}';
    const raw = configFor({ cluster: { nodes: cluster.startupNodes }, password: { env: 'REDIS_PASSWORD' }, prefix }, bs.url, receiver.url);
    const configPath = writeConfig(raw);
    const p = producerFor(raw);
    const w = await worker(configPath);

    const dir = tempDir('ib-failover-files-');
    const file = join(dir, 'cohort.csv');
    const rows = csvRows(0, PEOPLE).map((row, i) => (i < wrongRole.size ? row.replace(',member', ',billing_admin') : row));
    writeFileSync(file, ['email,role\n', ...rows].join(''));
    const enqueueArgs = (f: string) => ['--config', configPath, 'enqueue', '--account', 'acme', '--file', f, '--batch', 'cohort'];
    const first = await cli.run(enqueueArgs(file));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`${PEOPLE} rows, accepted ${PEOPLE}, duplicates 0, rejected 0`);

    await waitFor(() => bs.requests.length >= 800, 30_000, '800 invites delivered').catch((e: Error) => {
      throw new Error(`${e.message}: ${bs.requests.length} calls; worker: ${w.output().slice(-3000)}`);
    });
    const inFlightAtKill = bs.inFlight();
    const killedAt = Date.now();
    const { node: owner, slot } = await cluster.killOwnerOf(`${prefix}:any`);
    await cluster.waitForFailover(slot, { from: owner });
    const slotMovedMs = Date.now() - killedAt;

    const failures = wrongRole.size + refused.size;
    await settled(p, configPath, 'cohort', { total: PEOPLE, succeeded: PEOPLE - failures }, receiver, { check: false });
    const { recoveryMs, longestGapMs } = recovery(bs, killedAt);
    expect(recoveryMs).toBeLessThanOrEqual(30_000);

    // The same enqueue again: nobody queued or counted twice.
    const again = await cli.run(enqueueArgs(file));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`accepted 0, already in this batch ${PEOPLE}`);
    expect(await batchStatus(p.redis, prefix, 'cohort')).toMatchObject({ total: PEOPLE, done: PEOPLE, failed: failures });

    // Corrections: the five rows fixed, one step each.
    const fixed = join(dir, 'fixed.csv');
    writeFileSync(fixed, ['email,role\n', ...csvRows(0, wrongRole.size)].join(''));
    const correction = await cli.run(enqueueArgs(fixed));
    expect(correction.code, correction.stderr).toBe(0);
    expect(correction.stdout).toContain(`corrections replacing failed invites: ${wrongRole.size}`);
    // The provider's side fixed: a replay sends the other ten again.
    refusing = false;
    const replay = await cli.run(['--config', configPath, 'replay', '--batch', 'cohort']);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`^replayed ${refused.size} failed invites`));

    const end = await settled(p, configPath, 'cohort', { total: PEOPLE, succeeded: PEOPLE }, receiver, { check: true });
    // Each person called once, the fifteen refused once more; beyond that only what the failover left in flight.
    const calls = callsPerEmail(bs);
    const duplicates = [...calls].reduce((sum, [email, n]) => sum + n - (wrongRole.has(email) || refused.has(email) ? 2 : 1), 0);
    const workerLog = logOf(w.output());
    figure('failover cluster', {
      killToSlotMovedMs: slotMovedMs,
      killToFirstInviteMs: recoveryMs,
      longestPauseMs: longestGapMs,
      inFlightAtKill,
      deliveredTwice: duplicates,
      batchRepaired: end.repaired,
      batchCompletedEvents: end.completions,
      webhookEvents: end.events,
      ...workerLog.figures,
      totalS: ((Date.now() - t0) / 1000).toFixed(1),
    });
    expect(calls.size).toBe(PEOPLE);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    for (const email of [...wrongRole, ...refused]) expect(calls.get(email)).toBeGreaterThanOrEqual(2);
    expect(w.child.exitCode).toBeNull();
    // The outage the worker said is said to be over, too (a Cluster client stays 'ready': its nodes say it).
    expect(workerLog.answersAgain).toBeGreaterThanOrEqual(Math.min(workerLog.outages, 1));
    expect(workerLog.errors).toEqual([]);
  });
});
