import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/config/credentials.ts';
import { duplicateKeys } from '../../src/config/duplicate-keys.ts';
import { configPath, loadConfig, parseConfig } from '../../src/config/load.ts';
import { InvitebusError } from '../../src/errors.ts';
import { tempDir } from '../support/temp-dir.ts';

const valid = {
  redis: { url: 'redis://127.0.0.1:6379', prefix: 'invitebus' },
  accounts: {
    'acme-uptime': {
      provider: 'betterstack',
      baseUrl: 'https://betterstack.com',
      credentials: { token: { env: 'ACME_BETTERSTACK_TOKEN' } },
      teamName: 'Acme',
      rateLimit: { max: 5, durationMs: 1000 },
      concurrency: 4,
      timeoutMs: 10000,
    },
  },
};

function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvitebusError);
    expect((error as InvitebusError).code).toBe('CONFIG_INVALID');
    return [...(error as InvitebusError).details];
  }
  throw new Error('expected the config to be refused');
}

describe('configuration', () => {
  it('accepts the documented example and fills defaults', () => {
    const config = parseConfig(valid);
    const account = config.accounts['acme-uptime'];
    expect(account?.settings).toMatchObject({ teamName: 'Acme' });
    expect(account?.retry).toEqual({ attempts: 8, baseDelayMs: 60_000, maxDelayMs: 1_800_000, healthAware: true });
    expect(config.retention).toEqual({ completedAgeSec: 604_800, failedAgeSec: 2_592_000 });
    expect(config.worker.shutdownTimeoutMs).toBe(30_000);
  });

  it('is frozen after parsing', () => {
    const config = parseConfig(valid);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.accounts['acme-uptime']?.rateLimit)).toBe(true);
    expect(() => {
      (config.redis as { url: string }).url = 'redis://evil';
    }).toThrow();
  });

  it('lists every problem at once, each with its path', () => {
    const found = problems({
      redis: { url: 'http://nope' },
      accounts: {
        a: { provider: 'betterstack', credentials: { token: 'literal-secret' }, concurrency: 0 },
        b: { provider: 'nosuch', credentials: {} },
        'bad name!': { provider: 'betterstack', credentials: { token: { env: 'X' } } },
      },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^redis\.url: must be a redis/),
        expect.stringMatching(/^accounts\.a\.credentials\.token: a literal secret is not allowed/),
        expect.stringMatching(/^accounts\.a\.concurrency: /),
        expect.stringMatching(/^accounts\.b\.provider: unknown provider 'nosuch'/),
        expect.stringMatching(/^accounts\.bad name!: .bad name!. is not a valid account name: 1-128 letters/),
      ]),
    );
    expect(found.length).toBeGreaterThanOrEqual(5);
  });

  it('checks provider-specific fields with the provider schema', () => {
    const found = problems({ accounts: { a: { provider: 'betterstack', credentials: {}, teamName: '' } } });
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^accounts\.a\.teamName: /), expect.stringMatching(/^accounts\.a\.credentials\.token: /)]),
    );
  });

  it('refuses unknown top-level keys (typos do not pass silently)', () => {
    expect(problems({ ...valid, retentoin: {} })).toEqual([expect.stringContaining('retentoin')]);
  });

  it('reads the path from --config, else INVITEBUS_CONFIG, else ./invitebus.config.json', () => {
    expect(configPath('/a.json', { INVITEBUS_CONFIG: '/b.json' })).toBe('/a.json');
    expect(configPath(undefined, { INVITEBUS_CONFIG: '/b.json' })).toBe('/b.json');
    expect(configPath(undefined, {})).toBe(join(process.cwd(), 'invitebus.config.json'));
  });

  it('says which file is missing or not JSON', () => {
    expect(() => loadConfig('/nonexistent/invitebus.json')).toThrow(/cannot read config file \/nonexistent\/invitebus.json/);
    const dir = tempDir('ib-cfg-');
    writeFileSync(join(dir, 'c.json'), '{ nope');
    expect(() => loadConfig(join(dir, 'c.json'))).toThrow(/is not valid JSON/);
  });

  it('refuses a key given twice in one object (JSON would keep the last silently: a pasted second "intake" dropped the first)', () => {
    const dir = tempDir('ib-cfg-');
    const text = [
      '{',
      '  "accounts": { "a": { "provider": "sutro", "credentials": { "token": { "env": "T" } } } },',
      '  "intake": { "timeZone": "Europe/Berlin", "values": { "profile": { "R&D": "eng" } } },',
      '  "profiles": { "eng": { "a": {} } },',
      '  "intake": { "columns": { "Work Email": "email" } }',
      '}',
    ].join('\n');
    writeFileSync(join(dir, 'c.json'), text);
    expect(() => loadConfig(join(dir, 'c.json'))).toThrow(/intake: given twice in one object \(line 5\): JSON keeps only the last; merge the two/);
    // The same key in different objects, strings holding braces and escaped quotes, and arrays are no duplicates.
    expect(duplicateKeys('{"a": {"k": 1}, "b": {"k": "{\\"k\\": }"}, "c": [{"k": 1}, {"k": [1, {"k": 2}]}], "d": true}')).toEqual([]);
    expect(duplicateKeys('{"a": [{"k": 1, "k": 2}]}')).toEqual([{ path: 'a.0.k', line: 1 }]);
  });
});

describe('credentials', () => {
  it('reads env and file references; files relative to the config directory', () => {
    const dir = tempDir('ib-cred-');
    writeFileSync(join(dir, 'token.txt'), 'file-secret\n');
    const { values, problems } = resolveCredentials('acme', { a: { env: 'TOK' }, b: { file: 'token.txt' } }, { TOK: 'env-secret' }, dir);
    expect(problems).toEqual([]);
    expect(values).toEqual({ a: 'env-secret', b: 'file-secret' });
  });

  it('names every missing credential with the fix', () => {
    const { problems } = resolveCredentials('acme', { token: { env: 'ACME_TOKEN' }, key: { file: '/nope/key' } }, {}, '/');
    expect(problems).toEqual([
      "account 'acme' has no credentials.token: set the environment variable ACME_TOKEN",
      "account 'acme' credentials.key: cannot read file /nope/key (ENOENT)",
    ]);
  });
});
