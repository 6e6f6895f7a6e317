/**
 * Provider messages come from outside: `find` and `report` print them without the escape sequences and control
 * characters that would act on the operator's terminal (issue 20, case 8).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalJson, terminalText, terminalValues } from '../../src/cli/terminal-text.ts';
import { csvLine } from '../../src/csv.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { useCli } from '../support/cli.ts';
import { startPipeline } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { tempDir } from '../support/temp-dir.ts';

const LINK = '\x1b]8;;http://evil\x07click here\x1b]8;;\x07';
const HOSTILE = `Invalid role ${LINK} \x1b[2J\x1b[H\u009b2J\x1b]0;pwned\x1b\\\rrewritten\x00\x7f done`;
/** Any control character but tab and newline: what must never reach the terminal. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('terminalText', () => {
  it('removes escape sequences whole and every other control character but tab and newline', () => {
    expect(terminalText(`a ${LINK} b`)).toBe('a click here b');
    expect(terminalText('x\x1b[2Jy\x1b[31mred\x1b[0m')).toBe('xyred');
    expect(terminalText('title\x1b]0;pwned\x1b\\ end')).toBe('title end');
    expect(terminalText('c1\u009b2J \u009d8;;http://evil\u009c ok')).not.toMatch(CONTROL);
    expect(terminalText('line one\r\n\tline two\x07\b\x00')).toBe('line one\n\tline two');
    expect(terminalText('Ünïcødé — 日本語 ✓')).toBe('Ünïcødé — 日本語 ✓');
    expect(terminalText(HOSTILE)).not.toMatch(CONTROL);
  });

  it('terminalValues cleans a record before CSV, so the formula guard sees what will be printed', () => {
    const row = terminalValues({ message: '\x1b[0m=HYPERLINK("http://evil","x")', nested: { cell: 'ok\x1b[2J' }, n: 3 });
    expect(row).toEqual({ message: '=HYPERLINK("http://evil","x")', nested: { cell: 'ok' }, n: 3 });
    expect(csvLine(row, ['message'])).toBe('"\'=HYPERLINK(""http://evil"",""x"")"\n');
  });

  it('terminalJson keeps every character of the data, escaped', () => {
    const value = { message: HOSTILE };
    const line = terminalJson(value);
    expect(line).not.toMatch(CONTROL);
    expect(JSON.parse(line)).toEqual(value);
  });
});

const redis = useRedis(import.meta.url);
let fake: FakeServer;
let pipeline: Awaited<ReturnType<typeof startPipeline>>;
const dir = tempDir('ib-term-');
const configFile = join(dir, 'invitebus.config.json');
const { start } = useCli({ INVITEBUS_CONFIG: configFile });
const cli = (...args: string[]) => start(args).done;

beforeAll(async () => {
  fake = await startFakeServer(() => ({ status: 422, body: { errors: HOSTILE } }));
  const acme = { provider: 'betterstack', baseUrl: fake.url, retry: { attempts: 1 }, credentials: { token: { env: 'T' } } };
  pipeline = await startPipeline(redis, { acme }, { env: { T: 'bs-team-token' } });
  writeFileSync(configFile, JSON.stringify({ redis: { url: redis.url, prefix: pipeline.config.redis.prefix }, accounts: { acme } }));
  await pipeline.producer.inviteMany('acme', [{ email: 'mallory@example.com' }], { batchId: 'hostile' });
  await pipeline.waitForInviteEvents(1);
});
afterAll(async () => {
  await pipeline?.close();
  await fake?.close();
});

describe('find and report print provider messages', () => {
  it.each(['find mallory@example.com', 'find mallory@example.com --json', 'report hostile', 'report hostile --format json', 'report hostile --by person'])(
    'invitebus %s: no control character reaches the terminal',
    async (command) => {
      const run = await cli(...command.split(' '));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/Invalid role|rejected|needs attention/);
      expect(run.stdout).not.toMatch(CONTROL);
    },
  );

  it('find shows the message readable, the link text kept and its target gone', async () => {
    const run = await cli('find', 'mallory@example.com');
    expect(run.stdout).toContain('Invalid role click here');
    expect(run.stdout).not.toContain('http://evil');
  });
});
