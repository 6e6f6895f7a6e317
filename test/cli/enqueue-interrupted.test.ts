/**
 * Issue 20, case 5: an honest enqueue. Redis lost exactly at the seal (a TCP proxy cut when the seal script is
 * sent) says that every invite is queued and how to close the batch; Ctrl-C says what was confirmed and that a
 * rerun is safe; people already in the batch (a rerun, two identical enqueues at once) are "already in this
 * batch" in the output, the counters, status, report and batch.completed, never duplicates.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { scriptSha } from '../../src/redis-scripts/index.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { useCli } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();
const dir = tempDir('ib-enqueue-');
const configFile = join(dir, 'invitebus.config.json');
const ENV = { BS_TOKEN: 'bs-team-token' };
const { start } = useCli({ ...ENV, INVITEBUS_CONFIG: configFile });
const cli = (...args: string[]) => start(args).done;
const conn = redis.connect();
let fake: FakeServer;
let producer: Producer;
let raw: Record<string, unknown>;

beforeAll(async () => {
  fake = await startFakeServer(betterstackHandler());
  raw = {
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: {
      acme: { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'BS_TOKEN' } } },
      // Its own queue: the workers of the last test need not go through the other tests' invites first.
      twin: { provider: 'betterstack', baseUrl: fake.url, concurrency: 32, credentials: { token: { env: 'BS_TOKEN' } } },
    },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  producer = new Producer(parseConfig(raw), { redis: conn });
});

afterAll(async () => {
  await producer.close();
  await conn.quit();
  await fake.close();
});

/** A CSV of `rows` distinct people (tagged, so files do not share people). */
function csv(rows: number, tag: string): string {
  const path = join(dir, `${tag}.csv`);
  const lines = ['email,role'];
  for (let i = 0; i < rows; i++) lines.push(`${tag}${i}@example.com,member`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
const status = (batch: string) => batchStatus(conn, redis.prefix, batch);

describe('invitebus enqueue, told honestly', () => {
  it('Redis lost at the seal: "all N queued", exit 3, not "cannot reach Redis"; the same command then closes the batch', async () => {
    const file = csv(3_000, 'seal');
    const proxy = await startTcpProxy(redis.url);
    // ioredis sends a script's text (EVAL) the first time on a connection, its SHA1 (EVALSHA) after.
    const cut = proxy.cutWhen(scriptSha('sealBatch'), '-- seal-batch:');
    const args = ['--redis-url', proxy.url, 'enqueue', '--account', 'acme', '--file', file, '--batch', 'seal-outage'];
    const run = await cli(...args);
    await cut; // the outage hit the seal, and nothing before it
    expect(run.stderr).not.toMatch(/cannot reach Redis|start Redis there/);
    expect(run.stderr).toMatch(
      /^batch seal-outage: all 3000 queued \(3000 new; 0 duplicates, 0 rejected\), but Redis failed while closing the batch.*; run the same command again to close the batch/m,
    );
    expect(run.code).toBe(3);
    expect(await status('seal-outage')).toMatchObject({ total: 3_000, sealed: false });

    proxy.restore();
    const again = await cli(...args);
    expect(again.stdout).toMatch(/^batch seal-outage: 3000 rows, accepted 0, already in this batch 3000, duplicates 0, rejected 0 \(nothing new to queue\)$/m);
    expect(again.code).toBe(0);
    expect(await status('seal-outage')).toMatchObject({ total: 3_000, sealed: true, duplicates: 0, alreadyInBatch: 3_000 });
  });

  it('Ctrl-C: one line of what was confirmed and that a rerun is safe; the rerun queues exactly the rest, printing no line per person', async () => {
    const rows = 100_000;
    const file = csv(rows, 'ctrlc');
    const args = ['enqueue', '--account', 'acme', '--file', file, '--batch', 'ctrl-c'];
    const child = start(args);
    await waitFor(() => /^10000 rows read/m.test(child.stderr()), 60_000, 'the enqueue to be under way');
    child.child.kill('SIGINT');
    const run = await child.done;
    expect(run.code).toBe(130);
    const said = run.stderr.split('\n').filter((l) => l !== '' && !/^\d+ rows read/.test(l));
    expect(said).toHaveLength(1);
    const confirmed = Number(/^stopped: batch ctrl-c: (\d+) invites confirmed queued/.exec(said[0] ?? '')?.[1]);
    expect(said[0]).toMatch(/of \d+ read\. Running the same command again is safe: it queues the rest, and nothing is counted or sent twice$/);
    expect(confirmed).toBeGreaterThan(0);
    expect(confirmed).toBeLessThan(rows);
    expect((await status('ctrl-c'))?.total).toBe(confirmed);

    const again = await cli(...args);
    expect(again.stdout).toMatch(
      new RegExp(`^batch ctrl-c: ${rows} rows, accepted ${rows - confirmed}, already in this batch ${confirmed}, duplicates 0, rejected 0 \\(queued\\)$`, 'm'),
    );
    expect(again.stderr).not.toMatch(/duplicate/);
    expect(again.code).toBe(0);
    expect(await status('ctrl-c')).toMatchObject({ total: rows, sealed: true, duplicates: 0, alreadyInBatch: confirmed });
  }, 120_000);

  it('two identical enqueues at once: each person queued once, already in this batch in status, report and batch.completed', async () => {
    const file = csv(5_000, 'twice');
    const args = ['enqueue', '--account', 'twin', '--file', file, '--batch', 'twice'];
    const [a, b] = await Promise.all([cli(...args), cli(...args)]);
    const counts = [a, b].map(
      (r) =>
        /accepted (\d+)(?:, already in this batch (\d+))?, duplicates (\d+)/
          .exec(r.stdout)
          ?.slice(1)
          .map((v) => Number(v ?? 0)) ?? [],
    );
    expect(counts.map(([accepted = 0, again = 0]) => accepted + again)).toEqual([5_000, 5_000]);
    expect(counts.map(([accepted = 0]) => accepted).reduce((x, y) => x + y)).toBe(5_000);
    expect(counts.map(([, , duplicates]) => duplicates)).toEqual([0, 0]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.stderr, b.stderr].join('\n')).not.toMatch(/duplicate/);

    const workerConn = redis.connect();
    const workers = await runWorkers(parseConfig(raw), { env: ENV, logger: pino({ level: 'silent' }), redis: workerConn, accounts: ['twin'] });
    cleanups.push(async () => {
      await workers.close();
      await workerConn.quit();
    });
    await waitFor(async () => (await status('twice'))?.complete, 60_000, 'the batch to complete');
    expect(await status('twice')).toMatchObject({ total: 5_000, succeeded: 5_000, duplicates: 0, alreadyInBatch: 5_000 });
    const shown = await cli('status', 'twice');
    expect(shown.stdout).toMatch(/rows already in this batch \(reruns\): 5000/);
    expect(shown.stdout).not.toMatch(/duplicates/);
    const report = (await cli('report', 'twice')).stdout.trim().split('\n');
    expect(report).toHaveLength(1 + 5_000);
    expect(report.filter((l) => l.includes('duplicate'))).toEqual([]);
    const completed = (await producer.events().read('-', 1_000_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === 'twice');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.fields).toMatchObject({ total: '5000', duplicates: '0', alreadyInBatch: '5000' });
  }, 120_000);
});
