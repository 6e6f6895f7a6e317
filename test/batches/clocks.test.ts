/**
 * Time is Redis's (issue: exactly once … client clocks). Writer heartbeats and batch checks are judged in Redis
 * time, so processes whose clocks are off by a minute (run under libfaketime) neither complete a batch early nor
 * leave it incomplete for good.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { DEFAULT_CHUNK_SIZE, Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { useCli } from '../support/cli.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

/** libfaketime, from Debian's `faketime` package (installed by .ci/run). */
const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'].find((f) => existsSync(f));
if (LIBFAKETIME === undefined) throw new Error('libfaketime is missing: apt-get install faketime (these tests run processes with skewed clocks)');
const skewed = (offset: string) => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' });

const redis = useRedis(import.meta.url);
const dir = tempDir('ib-clocks-');
const configFile = join(dir, 'invitebus.config.json');
const { start } = useCli({ BS_TOKEN: 'bs-team-token', INVITEBUS_CONFIG: configFile });
let fake: FakeServer;
let producer: Producer;
const conn = redis.connect();

beforeAll(async () => {
  fake = await startFakeServer(betterstackHandler());
  const raw = {
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, concurrency: 32, credentials: { token: { env: 'BS_TOKEN' } } } },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  producer = new Producer(parseConfig(raw), { redis: conn });
});

afterAll(async () => {
  await producer.close();
  await conn.quit();
  await fake.close();
});

const rows = (from: number, to: number, tag: string) => Array.from({ length: to - from }, (_, i) => `${tag}${from + i}@example.com\n`).join('');
const status = (batch: string) => batchStatus(conn, redis.prefix, batch);
const completions = async (batch: string) =>
  (await producer.events().read('-', 1_000_000)).filter((e) => e.fields.type === 'batch.completed' && e.fields.batchId === batch).map((e) => e.fields);

/** A CSV fed through a named pipe: the enqueue reading it runs as long as the test keeps writing. */
async function pipeFile(name: string) {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return { path, open: () => open(path, 'w') };
}

describe('processes with skewed clocks', () => {
  it('an enqueue whose clock is a minute slow does not let its sealed batch complete while it still runs', async () => {
    const worker = start(['worker']);
    await producer.inviteMany('acme', [{ email: 'first@example.com' }], { batchId: 'slow-writer' });
    await waitFor(async () => (await completions('slow-writer')).length === 1, 30_000, 'round 1');
    const fifo = await pipeFile('slow.csv');
    const enqueue = start(['enqueue', '--account', 'acme', '--file', fifo.path, '--batch', 'slow-writer'], skewed('-60s'));
    const file = await fifo.open();
    await file.write(`email\n${rows(0, DEFAULT_CHUNK_SIZE, 'slow')}`);
    // Its first chunk is queued and delivered while the enqueue still reads.
    await waitFor(async () => (await status('slow-writer'))?.done === DEFAULT_CHUNK_SIZE + 1, 60_000, 'the first chunk delivered');
    expect((await completions('slow-writer')).map((e) => [e.round, e.total])).toEqual([['1', '1']]);
    await file.write(rows(DEFAULT_CHUNK_SIZE, 2 * DEFAULT_CHUNK_SIZE, 'slow'));
    await file.close();
    expect((await enqueue.done).code).toBe(0);
    await waitFor(async () => (await completions('slow-writer')).length === 2, 60_000, 'round 2');
    expect((await completions('slow-writer')).map((e) => [e.round, e.total])).toEqual([
      ['1', '1'],
      ['2', String(2 * DEFAULT_CHUNK_SIZE + 1)],
    ]);
    worker.child.kill('SIGTERM');
    await worker.done;
  }, 120_000);

  it('a worker whose clock is a minute fast still completes a batch whose other writer was killed', async () => {
    const worker = start(['worker'], skewed('+60s'));
    const fifo = await pipeFile('killed.csv');
    const enqueue = start(['enqueue', '--account', 'acme', '--file', fifo.path, '--batch', 'killed-writer']);
    const file = await fifo.open();
    await file.write(`email\n${rows(0, DEFAULT_CHUNK_SIZE, 'killed')}`);
    await waitFor(async () => (await status('killed-writer'))?.total === DEFAULT_CHUNK_SIZE, 60_000, 'the first chunk queued');
    // kill -9 of the process that writes (the CLI re-runs itself with its heap flags: the child is the writer).
    execFileSync('pkill', ['-KILL', '-P', String(enqueue.child.pid)]);
    enqueue.child.kill('SIGKILL');
    await enqueue.done;
    await file.close().catch(() => undefined);
    // Another enqueue of the same batch (a rerun) finishes and seals it while the killed one's heartbeat is live.
    const people = Array.from({ length: 1_500 }, (_, i) => ({ email: `killed${i}@example.com` }));
    await producer.inviteMany('acme', people, { batchId: 'killed-writer' });
    await waitFor(async () => (await completions('killed-writer')).length === 1, 60_000, 'completion after the killed writer expired');
    expect(await status('killed-writer')).toMatchObject({ total: 1_500, done: 1_500, succeeded: 1_500, complete: true });
    expect((await completions('killed-writer')).map((e) => [e.round, e.total])).toEqual([['1', '1500']]);
    worker.child.kill('SIGTERM');
    await worker.done;
  }, 120_000);
});
