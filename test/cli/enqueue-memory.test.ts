/**
 * Issue 20, case 6: intake of any size. Nothing of an enqueue grows with its rows (the in-file duplicate check
 * lives in Redis for the run; rows not queued are streamed, never kept), so a file far larger than the heap
 * passes through a small one. Behavioural, not timed: with a 40 MB old generation, 200,000 rows kept the old
 * in-heap check (~110 bytes a row) out of memory ("JavaScript heap out of memory" at about 150,000 rows).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCli } from '../support/cli.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const redis = useRedis(import.meta.url);
const dir = tempDir('ib-enqueue-memory-');
const configFile = join(dir, 'invitebus.config.json');
writeFileSync(
  configFile,
  JSON.stringify({ redis: { url: redis.url, prefix: redis.prefix }, accounts: { acme: { provider: 'betterstack', credentials: { token: { env: 'T' } } } } }),
);
const { run } = useCli({ T: 'token', INVITEBUS_CONFIG: configFile });

describe('an enqueue of any size', () => {
  it('dry-runs 200,000 rows (duplicates across the whole file found) in a 40 MB heap', async () => {
    const rows = 200_000;
    const lines = ['email,role'];
    for (let i = 0; i < rows; i++) lines.push(`${i % 50_000 === 49_999 ? 'big0' : `big${i}`}@example.com,member`);
    const file = join(dir, 'big.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const enqueue = () => run(['enqueue', '--account', 'acme', '--file', file, '--dry-run'], { INVITEBUS_HEAP_MB: '40' });
    let result = await enqueue();
    // Node 24 itself segfaults now and then in this small heap on a machine this busy (CI: 2 runs of 4 beside three
    // copies of this test and two CPU hogs, at this commit and at the one before issue 24 alike): a crash of the
    // runtime, not an out-of-memory, which says "heap out of memory" and fails below. Run once more, and say so.
    if (result.signal === 'SIGSEGV') {
      console.warn('enqueue-memory: the CLI died of SIGSEGV (Node itself); running it once more');
      // The crashed run's duplicate check stays for its TTL (nobody was left to delete it): not the rerun's.
      const left = await redis.admin.keys(`${redis.prefix}:_invitebus:run:*`);
      if (left.length > 0) await redis.admin.del(...left);
      result = await enqueue();
    }
    expect(result.stderr).not.toMatch(/heap out of memory/);
    expect(result.stdout, `exit ${result.code} ${result.signal}; stderr: ${result.stderr.slice(-1500)}`).toMatch(
      /^batch \S+: 200000 rows, accepted 199996, duplicates 4, rejected 0 \(dry run, nothing queued\)$/m,
    );
    expect(result.stderr.match(/^line \d+: duplicate of line 2 \(same address\)$/gm)).toHaveLength(4);
    expect(result.code).toBe(0);
    // The run's duplicate check is gone with it, and a dry run queued nothing.
    expect(await redis.admin.keys(`${redis.prefix}:_invitebus:run:*`)).toEqual([]);
    expect(await redis.admin.exists(`${redis.prefix}:acme:id`)).toBe(0);
  }, 120_000);
});
