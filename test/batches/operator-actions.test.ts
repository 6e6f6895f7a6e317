/**
 * Operator actions are atomic transitions (issue: exactly once when operators act together and Redis fails
 * mid-action). A replay moves each failure that existed when it started at most once, however many replays run
 * beside it; a replay whose Redis goes away at any point leaves every failure either untouched or moved, so the
 * next replay finishes the job and the batch completes with exact counts.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { replayFailed } from '../../src/replay.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { useCleanups } from '../support/cleanups.ts';
import { useCli } from '../support/cli.ts';
import { startCutProxy } from '../support/cut-proxy.ts';
import { startPipeline, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('file');
const { start } = useCli({ T: 'bs-team-token' });

/**
 * Better Stack accounts (`acme`, and `acme-0`… when `more` is given) whose first `failFirst` calls are refused for
 * good (422), then answer as documented.
 */
async function pipeline(failFirst: number, more = 0) {
  const fake = await startFakeServer(betterstackHandler());
  cleanups.push(() => fake.close());
  fake.script(...Array.from({ length: failFirst }, () => ({ status: 422, body: B.invalidEmail })));
  const account = {
    provider: 'betterstack',
    baseUrl: fake.url,
    concurrency: 16,
    retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
    credentials: { token: { env: 'T' } },
  };
  const accounts = Object.fromEntries([['acme', account], ...Array.from({ length: more }, (_, i) => [`acme-${i}`, account])]);
  const p = await startPipeline(redis, accounts, { env: { T: 'bs-team-token' } });
  cleanups.push(() => p.close());
  const status = (batch: string) => batchStatus(p.producer.redis, p.config.redis.prefix, batch);
  const settled = async (batch: string, account = 'acme') =>
    (await status(batch))?.complete === true && (await p.producer.queue(account).getActiveCount()) === 0;
  const completions = async (batch: string) =>
    (await p.events.read('-', 1_000_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === batch).map((e) => e.fields);
  /** Provider calls per address. */
  const calls = () => {
    const per = new Map<string, number>();
    for (const r of fake.requests) {
      const email = (r.json as { email?: string } | undefined)?.email;
      if (email !== undefined) per.set(email, (per.get(email) ?? 0) + 1);
    }
    return per;
  };
  return { p, fake, status, settled, completions, calls };
}

const people = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ email: `${tag}${i}@example.com` }));

describe('operator actions', () => {
  it('two replays at once move each failure once, even when the replayed invites fail again while the other runs', async () => {
    const n = 1_500;
    // Every first call and every first replayed call fails for good.
    const { p, fake, status, settled, completions, calls } = await pipeline(2 * n);
    await p.producer.inviteMany('acme', people(n, 'twice'), { batchId: 'twice' });
    await waitFor(() => settled('twice'), 60_000, 'first round');
    expect(await status('twice')).toMatchObject({ total: n, failed: n });

    const first = replayFailed(p.producer, { batchId: 'twice' });
    let firstDone = false;
    void first.then(() => (firstDone = true));
    // The second operator starts once some of the first's replays have already failed again.
    await waitFor(() => fake.requests.length >= n + 50, 30_000, 'replayed invites failing again');
    expect(firstDone).toBe(false);
    const [a, b] = await Promise.all([first, replayFailed(p.producer, { batchId: 'twice' })]);
    expect(a.replayed + b.replayed).toBe(n);
    await waitFor(async () => (await settled('twice')) && (await status('twice'))?.done === n, 60_000, 'second round');
    expect(await status('twice')).toMatchObject({ total: n, done: n, failed: n });
    expect([...calls().values()].filter((c) => c !== 2)).toEqual([]);
    expect((await completions('twice')).map((e) => e.round)).toEqual(['1', '2']);
  });

  it('a replay whose Redis goes away at any point leaves nothing half done: the next replay finishes, the batch completes', async () => {
    const cuts = 24;
    const { p, status, settled, completions, calls } = await pipeline(1_000, cuts);
    const target = new URL(redis.url);
    // Each run on an account of its own, so that every replay reads the same commands.
    const failedBatch = async (batch: string, account: string) => {
      await p.producer.inviteMany(account, people(3, `${batch}-`), { batchId: batch });
      await waitFor(() => settled(batch, account), 30_000, `${batch} failed`);
    };
    /** A replay of the batch by an operator whose Redis goes away before its command number `cutAt`. */
    const replayCut = async (batch: string, account: string, cutAt: number) => {
      const proxy = await startCutProxy({ host: target.hostname, port: Number(target.port) }, cutAt);
      const connection = new Redis(proxy.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, lazyConnect: true });
      connection.on('error', () => undefined);
      await connection.connect().catch(() => undefined);
      const operator = new Producer(p.config, { redis: connection });
      const outcome = await replayFailed(operator, { batchId: batch, accounts: [account] }).then(
        (r) => r,
        (e: Error) => e,
      );
      await operator.close().catch(() => undefined);
      connection.disconnect();
      await proxy.close();
      return { outcome, names: proxy.names };
    };
    // A whole replay, to learn its commands.
    await failedBatch('whole', 'acme');
    const whole = await replayCut('whole', 'acme', Number.POSITIVE_INFINITY);
    expect(whole.outcome).toMatchObject({ replayed: 3 });
    expect(whole.names.length).toBeLessThanOrEqual(cuts);
    // Every cut point at once, each on its own account and batch (a dead replay holds its batches for a heartbeat).
    await Promise.all(
      whole.names.map(async (name, cutAt) => {
        const batch = `cut-${cutAt}`;
        const account = `acme-${cutAt}`;
        await failedBatch(batch, account);
        const { outcome, names } = await replayCut(batch, account, cutAt);
        expect(names).toEqual(whole.names.slice(0, cutAt));
        // Cut before its last steps (releasing its batches), a replay that has moved everything says so.
        if (!(outcome instanceof Error)) expect(outcome.replayed).toBe(3);
        // Whatever the cut replay did, running it again moves the rest and the batch completes round 2.
        await replayFailed(p.producer, { batchId: batch, accounts: [account] });
        await waitFor(async () => (await completions(batch)).length === 2 && (await settled(batch, account)), 40_000, `${batch} round 2 (cut before ${name})`);
        expect(await status(batch)).toMatchObject({ total: 3, done: 3 });
        const sent = calls();
        expect(people(3, `${batch}-`).map((x) => sent.get(x.email))).toEqual([2, 2, 2]);
      }),
    );
  }, 120_000);

  it('the replay command whose Redis goes away says so and that a rerun is safe; the rerun completes the batch', async () => {
    const { p, fake, status, settled, completions, calls } = await pipeline(1_000);
    const target = new URL(redis.url);
    const dir = tempDir('ib-replay-cut-');
    // Cut where the replay has read its failures and moved the first (the 13th command: see the test above).
    await p.producer.inviteMany('acme', people(3, 'cli-'), { batchId: 'cli-cut' });
    await waitFor(() => settled('cli-cut'), 30_000, 'first round');
    const proxy = await startCutProxy({ host: target.hostname, port: Number(target.port) }, 13);
    cleanups.push(() => proxy.close());
    const config = (url: string) => {
      const file = join(dir, `${randomName()}.json`);
      const account = { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } } };
      writeFileSync(file, JSON.stringify({ redis: { url, prefix: p.config.redis.prefix }, accounts: { acme: account } }));
      return file;
    };
    const cut = await start(['replay', '--batch', 'cli-cut', '--config', config(proxy.url)]).done;
    expect(proxy.cut).toBe(true);
    expect(cut.code).toBe(2);
    expect(cut.stderr).not.toMatch(/unsettled top-level await/);
    expect(cut.stderr).toMatch(/cannot reach Redis/);
    expect(cut.stderr).toMatch(/run the same command again to replay the rest/);
    const again = await start(['replay', '--batch', 'cli-cut', '--config', config(redis.url)]).done;
    expect(again.code).toBe(0);
    await waitFor(async () => (await completions('cli-cut')).length === 2 && (await settled('cli-cut')), 40_000, 'round 2');
    expect(await status('cli-cut')).toMatchObject({ total: 3, done: 3 });
    const sent = calls();
    expect(people(3, 'cli-').map((x) => sent.get(x.email))).toEqual([2, 2, 2]);
  }, 90_000);
});

const randomName = () => `config-${randomUUID()}`;
