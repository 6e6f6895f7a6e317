/** `invitebus cancel` as users run it (a real process, a real Redis): one person, a file of them, usage errors. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchStatus } from '../../src/batches.ts';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { useCli } from '../support/cli.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const dir = tempDir('ib-cancel-');
const configFile = join(dir, 'invitebus.config.json');
const { run } = useCli({ BS_TOKEN: 'bs-team-token', INVITEBUS_CONFIG: configFile });
const conn = redis.connect();
let producer: Producer;

beforeAll(async () => {
  // No worker runs: every invite stays waiting until it is cancelled.
  const raw = {
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: {
      acme: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'BS_TOKEN' } } },
      beta: { provider: 'betterstack', baseUrl: 'http://127.0.0.1:9', credentials: { token: { env: 'BS_TOKEN' } } },
    },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  producer = new Producer(parseConfig(raw), { redis: conn });
  for (const account of ['acme', 'beta'])
    await producer.inviteMany(
      account,
      ['ada', 'bob', 'cy', 'dee'].map((n) => ({ email: `${n}@example.com` })),
      { batchId: 'spring' },
    );
});
afterAll(async () => {
  await producer.close();
  await conn.quit();
});

describe('invitebus cancel', () => {
  it('cancels one person in every account, then says there is nothing left to cancel', async () => {
    const first = await run(['cancel', 'ada@example.com']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(
      'ada@example.com: 2 pending invites cancelled\n  acme (betterstack)  cancelled (it was waiting)\n  beta (betterstack)  cancelled (it was waiting)\n',
    );
    const again = await run(['cancel', 'ada@example.com', '--batch', 'spring']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^ada@example.com: nothing to cancel\n {2}acme \(betterstack\) {2}already cancelled on .* UTC: nothing to do\n/);
    const nobody = await run(['cancel', 'nobody@example.com']);
    expect(nobody.code).toBe(1);
    expect(nobody.stdout).toBe('nobody@example.com: no invite in any account (never queued, or removed after retention)\n');
  });

  it('cancels a file of withdrawn hires in one batch: bad rows named, the rest cancelled, a summary', async () => {
    const file = join(dir, 'withdrawn.csv');
    writeFileSync(file, 'Email;Name\r\nbob@example.com;Bob\r\nnot-an-address;X\r\nCY@example.com;Cy\r\nbob@example.com;Bob again\r\n');
    const dry = await run(['cancel', '--batch', 'spring', '--file', file, '--dry-run']);
    expect(dry.stdout).toContain('bob@example.com: 2 pending invites would be cancelled (dry run)');
    expect((await batchStatus(conn, redis.prefix, 'spring'))?.cancelled).toBe(2);

    const done = await run(['cancel', '--batch', 'spring', '--file', file]);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/withdrawn\.csv line 3: email: .*; skipped/);
    expect(done.stdout).toContain('bob@example.com: 2 pending invites cancelled');
    expect(done.stdout).toContain('CY@example.com: 2 pending invites cancelled');
    expect(done.stdout).toMatch(/withdrawn\.csv: 2 people, 4 invites cancelled in batch spring, 1 rows refused\n$/);
    expect(await batchStatus(conn, redis.prefix, 'spring')).toMatchObject({ total: 8, done: 6, cancelled: 6, complete: false });
  });

  it('answers in JSON lines with --json', async () => {
    const r = await run(['cancel', 'dee@example.com', '--json']);
    const line = JSON.parse(r.stdout) as { email: string; cancelled: number; invites: Array<{ account: string; status: string; previous: string }> };
    expect(line).toMatchObject({ email: 'dee@example.com', cancelled: 2, dryRun: false });
    expect(line.invites.map((l) => [l.account, l.status, l.previous])).toEqual([
      ['acme', 'cancelled', 'waiting'],
      ['beta', 'cancelled', 'waiting'],
    ]);
    expect(await batchStatus(conn, redis.prefix, 'spring')).toMatchObject({ total: 8, done: 8, cancelled: 8, complete: true });
    const status = await run(['status', 'spring']);
    expect(status.stdout).toContain('batch spring: 8/8 done (100%), complete\n  succeeded 0, failed 0, cancelled 8, pending 0');
    expect(status.stdout).toContain('  acme: 4/4 done, succeeded 0, failed 0, cancelled 4 (cancelled 4)');
  });

  it('refuses a file without --batch, and neither an address nor a file, as usage errors', async () => {
    const noBatch = await run(['cancel', '--file', join(dir, 'withdrawn.csv')]);
    expect(noBatch.code).toBe(2);
    expect(noBatch.stderr).toContain('--file needs --batch ID');
    const nothing = await run(['cancel']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('give one address, or --file PATH with --batch ID');
    const bad = await run(['cancel', 'not-an-address']);
    expect(bad.code).toBe(2);
  });
});
