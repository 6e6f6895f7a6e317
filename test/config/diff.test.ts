import { describe, expect, it } from 'vitest';
import { describeDiff, diffConfig } from '../../src/config/diff.ts';
import { parseConfig } from '../../src/config/load.ts';

const bs = (extra: Record<string, unknown> = {}) => ({
  provider: 'betterstack',
  baseUrl: 'http://127.0.0.1:1',
  credentials: { token: { env: 'BS_TOKEN' } },
  ...extra,
});

const config = (accounts: Record<string, unknown>, rest: Record<string, unknown> = {}) =>
  parseConfig({ redis: { url: 'redis://127.0.0.1:6379', prefix: 'ib' }, ...rest, accounts });

describe('config reload diff', () => {
  it('sorts accounts into added, removed, changed and unchanged', () => {
    const before = config({ keep: bs(), gone: bs(), faster: bs({ rateLimit: { max: 1, durationMs: 1000 } }) });
    const after = config({ keep: bs(), faster: bs({ rateLimit: { max: 5, durationMs: 1000 } }), fresh: bs() });
    expect(diffConfig(before, after)).toEqual({ added: ['fresh'], removed: ['gone'], changed: ['faster'], unchanged: ['keep'], needsRestart: [] });
  });

  it('counts a changed default as a change of every account that takes it, and of no other', () => {
    const own = { retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 10, healthAware: true } };
    const before = config({ a: bs(), b: bs(own) });
    const after = config({ a: bs(), b: bs(own) }, { defaults: { retry: { attempts: 2 } } });
    const diff = diffConfig(before, after);
    expect(diff.changed).toEqual(['a']);
    expect(diff.unchanged).toEqual(['b']);
  });

  it('counts a credential whose value changed behind the same reference (a rotated file) as a change', () => {
    const same = config({ a: bs(), b: bs() });
    const credentials = {
      current: new Map([
        ['a', { token: 'old' }],
        ['b', { token: 'same' }],
      ]),
      next: new Map([
        ['a', { token: 'new' }],
        ['b', { token: 'same' }],
      ]),
    };
    expect(diffConfig(same, same, { credentials })).toMatchObject({ changed: ['a'], unchanged: ['b'] });
  });

  it('looks only at the accounts a worker started with --account serves', () => {
    const before = config({ a: bs(), b: bs() });
    const after = config({ a: bs({ concurrency: 9 }), c: bs() });
    expect(diffConfig(before, after, { accounts: ['a', 'b'] })).toMatchObject({ added: [], removed: ['b'], changed: ['a'], unchanged: [] });
  });

  it('says which Redis keys changed and that they need a restart, without their values', () => {
    const before = config({ a: bs() });
    const after = parseConfig({ redis: { url: 'redis://user:s3cret@10.0.0.9:6379', prefix: 'other' }, accounts: { a: bs() } });
    const [problem, ...more] = diffConfig(before, after).needsRestart;
    expect(more).toEqual([]);
    expect(problem).toMatch(/^redis\.prefix, redis\.url changed, which needs a restart/);
    expect(problem).not.toContain('s3cret');
    expect(problem).not.toContain('10.0.0.9');
  });

  it('applies profiles and intake live; worker, api, retention and the log level need a restart', () => {
    const before = config({ a: bs() });
    const live = config({ a: bs() }, { profiles: { eng: { a: {} } }, intake: { timeZone: 'Europe/Berlin' } });
    expect(diffConfig(before, live).needsRestart).toEqual([]);
    const restart = config({ a: bs() }, { worker: { lockDurationMs: 1000 }, api: { port: 9 }, retention: { completedAgeSec: 60 }, log: { level: 'debug' } });
    expect(diffConfig(before, restart).needsRestart.map((p) => p.split(' ')[0])).toEqual([
      'api.port',
      'log.level',
      'retention.completedAgeSec',
      'worker.lockDurationMs',
    ]);
  });

  it('describes a reload by account names only', () => {
    expect(describeDiff({ added: ['x'], removed: [], changed: ['y', 'z'], unchanged: ['u'] })).toBe('added x; changed y, z (1 unchanged)');
    expect(describeDiff({ added: [], removed: [], changed: [], unchanged: ['u', 'v'] })).toBe('no account changed (2 unchanged)');
  });
});
