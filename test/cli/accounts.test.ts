/**
 * `invitebus accounts` as users run it (a real process, a real Redis, no worker): each account's state from
 * Redis, the paced rate against its limit, and an account removed from the config whose invites still wait.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Invitebus } from '../../src/core/invitebus.ts';
import { Producer } from '../../src/producer.ts';
import { invitebusKeys } from '../../src/redis.ts';
import { useCli } from '../support/cli.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const configFile = join(tempDir('ib-accounts-'), 'invitebus.config.json');
const { run } = useCli({ BS_TOKEN: 'bs-team-token', INVITEBUS_CONFIG: configFile });
const conn = redis.connect();
let producer: Producer;

const account = (extra: Record<string, unknown> = {}) => ({
  provider: 'betterstack',
  baseUrl: 'http://127.0.0.1:9',
  credentials: { token: { env: 'BS_TOKEN' } },
  ...extra,
});

beforeAll(async () => {
  const accounts = { acme: account({ rateLimit: { max: 2, durationMs: 1000 } }), beta: account(), gamma: account(), quiet: account() };
  const before = { redis: { url: redis.url, prefix: redis.prefix }, accounts: { ...accounts, old: account() } };
  // Invites queued while `old` was configured; then `old` leaves the file with two still waiting.
  producer = new Producer(parseConfig(before), { redis: conn });
  await producer.inviteMany('old', [{ email: 'o1@example.com' }, { email: 'o2@example.com' }]);
  await producer.invite('acme', { email: 'a1@example.com' });
  writeFileSync(configFile, JSON.stringify({ ...before, accounts }));
  const ib = Invitebus.over(producer);
  await ib.accounts.pause('beta');
  // As a worker leaves them: a 429's hold on gamma, acme's rate adapted down to 0.5/s after one.
  await producer.queue('gamma').rateLimit(120_000);
  await conn.set(invitebusKeys(redis.prefix).pacedRate('acme'), '0.500');
});
afterAll(async () => {
  await producer.close();
  await conn.quit();
});

describe('invitebus accounts', () => {
  it('lists every account with its state, rate and counts, then the removed one whose invites wait', async () => {
    const { code, stdout, stderr } = await run(['accounts']);
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^account\s+provider\s+state\s+rate\s+waiting\s+active\s+delayed\s+failed$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['acme', 'betterstack', 'waiting', '0.5/s of 2/s'],
      ['beta', 'betterstack', 'paused (operator)', '-'],
      ['gamma', 'betterstack', expect.stringMatching(/^held by a rate limit until \d\d:\d\d:\d\d UTC$/), '-'],
      ['quiet', 'betterstack', 'idle', '-'],
      ['old', 'betterstack', 'removed (2 waiting)', '-'],
    ]);
  });

  it('--json: the stats of each account with its state', async () => {
    const { code, stdout } = await run(['accounts', '--json']);
    expect(code).toBe(0);
    const accounts = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(accounts.map((a) => [a.account, a.state])).toEqual([
      ['acme', 'waiting'],
      ['beta', 'paused (operator)'],
      ['gamma', expect.stringMatching(/^held by a rate limit until/)],
      ['quiet', 'idle'],
      ['old', 'removed (2 waiting)'],
    ]);
    expect(accounts[0]).toMatchObject({ waiting: 1, rateLimit: { max: 2, durationMs: 1000 }, pacedRate: 0.5 });
    expect(accounts[1]).toMatchObject({ paused: true, pausedReason: 'operator', pausedAt: expect.any(Number) });
    expect(accounts[4]).toMatchObject({ removed: true, waiting: 2, provider: 'betterstack' });
  });
});
