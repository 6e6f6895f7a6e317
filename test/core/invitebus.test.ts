/**
 * The operations core as the library's users call it (issue: one operations core): built once from a config, every
 * operation on it, its own connection closed by close().
 */

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createInvitebus, replayFilter } from '../../src/core/invitebus.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups('test');

describe('createInvitebus', () => {
  it('enqueues, reports, pauses and resumes, replays and finds through one object, then closes its connection', async () => {
    const fake = await startFakeServer(betterstackHandler());
    cleanups.push(() => fake.close());
    fake.script({ status: 422, body: B.invalidEmail });
    const config = parseConfig({
      redis: { url: redis.url, prefix: `${redis.prefix}-core` },
      accounts: { acme: { provider: 'betterstack', baseUrl: fake.url, retry: { attempts: 1 }, credentials: { token: { env: 'T' } } } },
    });
    const workerRedis = redis.connect();
    const workers = await runWorkers(config, { env: { T: 'bs-team-token' }, logger: pino({ level: 'silent' }), redis: workerRedis });
    cleanups.push(async () => {
      await workers.close();
      await workerRedis.quit();
    });
    const ib = await createInvitebus(config);
    const r = await ib.enqueue('acme', [{ email: 'ann@example.com' }, { email: 'bob@example.com' }], { batchId: 'core' });
    expect(r).toMatchObject({ accepted: 2 });
    const done = await waitFor(async () => {
      const s = await ib.batches.status('core');
      return s?.complete ? s : undefined;
    });
    expect(done).toMatchObject({ total: 2, done: 2, succeeded: 1, failed: 1 });
    expect(await ib.batches.check('core')).toMatchObject({ drift: [], stranded: [] });
    expect(await ib.accounts.pause('acme')).toBe(true);
    expect((await ib.accounts.list()).find((a) => a.account === 'acme')?.paused).toBe(true);
    expect(await ib.accounts.resume('acme', 'library')).toBe(true);
    const replayed = await ib.replay(replayFilter({ batchId: 'core', accounts: [] }));
    expect(replayed).toMatchObject({ matched: 1, replayed: 1 });
    await waitFor(async () => (await ib.batches.status('core'))?.succeeded === 2, 15_000, 'the replay to succeed');
    const found = await ib.find('ann@example.com');
    expect(found.map((f) => f.state)).toEqual(['completed']);
    const lines = [];
    for await (const line of ib.batches.report('core')) lines.push(line.email);
    expect(lines.sort()).toEqual(['ann@example.com', 'bob@example.com']);
    const connection = ib.redis;
    await ib.close();
    await waitFor(() => connection.status === 'end', 5_000, 'its connection closed');
  });
});
