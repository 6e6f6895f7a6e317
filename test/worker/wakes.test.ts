/**
 * No account's work waits for the slow sweep (issue 24): a job added while its account's worker is busy, closing,
 * giving its slot back or waiting in line is found through the shared marker wait, never through the sweeps. The
 * sweeps are switched off here (one look every 10 minutes), so an invite whose wake was lost would wait that long.
 * Jobs arrive one by one at random accounts while 40 accounts take turns in 2 worker slots, each call 30 ms at
 * the provider, so arrivals land in every state an account's worker passes through. (Removing the engine's
 * re-wake on release, or dropping wakes that come while a worker is busy, does not fail it: BullMQ's own loop
 * fetches again after each job, so those paths are a second line; it fails when an idle account's wake is lost.)
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import { startFakeServer } from '../../src/sandbox/server.ts';
import { runWorkers } from '../../src/worker/run.ts';
import { useCleanups } from '../support/cleanups.ts';
import { inviteEventReader, waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();

const ACCOUNTS = 40;
const INVITES = 240;

describe('wakes of accounts that take turns', () => {
  it('delivers every invite added while workers start, run, give their slots back and close, without the sweeps', { timeout: 60_000 }, async () => {
    const fake = await startFakeServer((req) => ({ ...betterstackHandler()(req), delayMs: 30 }));
    cleanups.push(() => fake.close());
    const accounts: Record<string, unknown> = {};
    for (let i = 0; i < ACCOUNTS; i++) {
      // Some accounts paced (their next call often over the engine's 1 s: they give their slot back), some not.
      const rateLimit = i % 3 === 0 ? { rateLimit: { max: 1, durationMs: 1_200 } } : {};
      accounts[`a${i}`] = { provider: 'betterstack', baseUrl: fake.url, credentials: { token: { env: 'T' } }, concurrency: 2, ...rateLimit };
    }
    const config = parseConfig({
      redis: { url: redis.url, prefix: redis.prefix },
      worker: { shutdownTimeoutMs: 2_000, maxAccountWorkers: 2 },
      accounts,
    });
    const connection = redis.connect();
    const running = await runWorkers(config, {
      env: { T: 'bs-team-token' },
      logger: pino({ level: 'silent' }),
      redis: connection,
      // The sweeps off: a lost wake would leave its invite waiting 10 minutes. Idle workers released after 300 ms.
      engine: { recentSweepMs: 600_000, idleMs: 300 },
    });
    cleanups.push(async () => {
      await running.close();
      await connection.quit().catch(() => connection.disconnect());
    });
    const producer = new Producer(config);
    cleanups.push(() => producer.close());

    // One invite at a time at a random account, 0-10 ms apart: each lands wherever its account's worker is.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let k = 0; k < INVITES; k++) {
      const account = `a${Math.floor(random() * ACCOUNTS)}`;
      await producer.invite(account, { email: `p${k}@example.com` });
      await new Promise((resolve) => setTimeout(resolve, random() * 10));
    }
    const read = inviteEventReader(producer.events());
    let finished: Array<Record<string, string>> = [];
    // Paced accounts hold at most ~INVITES / ACCOUNTS invites each at 1 per 1.26 s: well inside 30 s; a lost wake: 10 min.
    await waitFor(
      async () => {
        finished = await read();
        return finished.length >= INVITES;
      },
      30_000,
      `every invite delivered (a lost wake waits for the sweep: 10 minutes)`,
    );
    expect(finished).toHaveLength(INVITES);
    expect(new Set(finished.map((e) => e.inviteId)).size).toBe(INVITES);
    expect(finished.every((e) => e.type === 'invite.succeeded')).toBe(true);
  });
});
