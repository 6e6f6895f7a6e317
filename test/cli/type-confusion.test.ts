import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { Producer } from '../../src/producer.ts';
import { SANDBOX_CLOSIENT_ORG } from '../../src/providers/closient/sandbox.ts';
import { useCli } from '../support/cli.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

/**
 * Type confusion at the CLI door (issue 20, case 7): a JSONL field that is an object, an array, a number or
 * null is refused as `line N: field: expected a string, got ...`, and the valid lines of the file are queued.
 */
const redis = useRedis(import.meta.url);
const dir = tempDir('ib-types-');
const configFile = join(dir, 'invitebus.config.json');
const { run } = useCli({ CL_KEY: 'sandbox-closient-key', INVITEBUS_CONFIG: configFile });
const conn = redis.connect();
let producer: Producer;

beforeAll(() => {
  const raw = {
    redis: { url: redis.url, prefix: redis.prefix },
    accounts: { cl: { provider: 'closient', orgId: SANDBOX_CLOSIENT_ORG, credentials: { apiKey: { env: 'CL_KEY' } } } },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  producer = new Producer(parseConfig(raw), { redis: conn });
});
afterAll(async () => {
  await producer.close();
  await conn.quit();
});

describe('invitebus enqueue with fields of the wrong type', () => {
  it('JSONL: names the line and field of each wrong type and queues the valid lines (was: exit 2 "Cannot convert object to primitive value", nothing queued)', async () => {
    const file = join(dir, 'hostile.jsonl');
    const lines: Array<Record<string, unknown>> = [
      { email: 'j-ok1@example.com', role: 'manager' },
      { email: 'j-bad1@example.com', role: { toString: 'x' } },
      { email: { valueOf: 'x' } },
      { email: 'j-bad3@example.com', role: ['editor'] },
      { email: 'j-bad4@example.com', role: 7 },
      { email: 'j-bad5@example.com', role: null },
      { email: 'j-ok2@example.com', constructor: 'x', toString: { a: 1 } },
      { email: 'j-bad7@example.com', profile: [{ toString: 'x' }] },
      { email: 'j-ok3@example.com' },
    ];
    writeFileSync(
      file,
      `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"email":"j-bad10@example.com","__proto__":{"role":"owner"},"role":{}}\nnull\n["j-bad12@example.com"]\n`,
    );
    const cli = await run(['enqueue', '--account', 'cl', '--file', file, '--batch', 'types-jsonl']);
    expect(cli.stderr).not.toMatch(/Cannot convert|\[object/);
    expect(cli.code, cli.stderr).toBe(1);
    // Line 8's profile is not read: --account gives the tools.
    expect(cli.stdout).toMatch(/accepted 4\b/);
    for (const [line, field, type] of [
      [2, 'role', 'an object'],
      [3, 'email', 'an object'],
      [4, 'role', 'an array'],
      [5, 'role', 'a number'],
      [6, 'role', 'null'],
      [10, 'role', 'an object'],
    ] as const) {
      expect(cli.stderr).toContain(`line ${line}: ${field}: expected a string, got ${type}\n`);
    }
    expect(cli.stderr).not.toContain('line 8:');
    expect(cli.stderr).toContain('line 11: (row): each line must be a JSON object of fields, got null\n');
    expect(cli.stderr).toContain('line 12: (row): each line must be a JSON object of fields, got an array\n');
    expect(await producer.queue('cl').getWaitingCount()).toBe(4);
  });

  it('CSV: cells are text, so a cell that spells an object is refused by its value, never by a crash', async () => {
    const file = join(dir, 'hostile.csv');
    writeFileSync(file, 'email,role\nc-ok@example.com,editor\nc-bad@example.com,"{""toString"":""x""}"\nc-ok2@example.com,[object Object]\n');
    const cli = await run(['enqueue', '--account', 'cl', '--file', file, '--batch', 'types-csv']);
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stdout).toMatch(/accepted 1\b/);
    expect(cli.stderr).toContain(`line 3: role: role '{"toString":"x"}' is not allowed for closient`);
    expect(cli.stderr).toContain("line 4: role: role '[object Object]' is not allowed for closient");
  });

  it('replay --set with a JSON value of the wrong type is refused naming the field (was: "Cannot convert object to primitive value")', async () => {
    for (const [value, type] of [
      ['{"toString":"x"}', 'an object'],
      ['["editor"]', 'an array'],
    ] as const) {
      const cli = await run(['replay', '--account', 'cl', '--set', `role=${value}`]);
      expect(cli.code).toBe(2);
      expect(cli.stderr).toBe(`replay refused, nothing was moved: cl: role: expected a string, got ${type}\n`);
    }
  });
});
