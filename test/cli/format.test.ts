import { describe, expect, it } from 'vitest';
import { accountRate, accountState, formatAccounts, formatFound, formatStats, formatWebhook } from '../../src/cli/format.ts';

const stats = { account: 'acme', provider: 'betterstack', waiting: 3, active: 1, delayed: 0, completed: 10, failed: 2, rateLimitWaitMs: 0, oldestWaitingMs: 0 };
const hook = {
  name: 'hr',
  url: 'https://hr.example/hook',
  events: ['invite.failed'],
  disabled: false,
  waiting: 0,
  delayed: 0,
  active: 0,
  failed: 0,
  completed: 4,
  pending: 0,
  notStarted: 0,
};

describe('the CLI output', () => {
  it('stats: a header and one aligned line per account, its state last', () => {
    const lines = formatStats(
      [
        stats,
        { ...stats, account: 'beta', paused: true, pausedReason: 'auth_failed', pausedMessage: '401' },
        { ...stats, account: 'gamma', paused: false, rateLimitWaitMs: 1500 },
      ].map((s) => ({ paused: false, ...s })),
    );
    expect(lines[0]).toMatch(/^account\s+provider\s+waiting\s+active\s+delayed\s+completed\s+failed\s+state$/);
    expect(lines[1]).toMatch(/^acme\s+betterstack\s+3\s+1\s+0\s+10\s+2\s+running$/);
    expect(lines[2]).toMatch(/paused \(auth_failed: 401\)$/);
    expect(lines[3]).toMatch(/rate-limited 1\.5 s$/);
  });

  it('accounts: state first in words, the paced rate against the limit, counts right-aligned', () => {
    const now = Date.UTC(2026, 0, 5, 14, 2, 0);
    const base = { ...stats, paused: false };
    const lines = formatAccounts(
      [
        { ...base, rateLimit: { max: 2, durationMs: 1000 }, pacedRate: 0.5 },
        { ...base, account: 'beta', waiting: 0, active: 0, paused: true, pausedReason: 'auth_failed', pausedMessage: '401' },
        { ...base, account: 'gamma-with-a-long-name', rateLimitWaitMs: 31_000 },
        { ...base, account: 'old', provider: 'sutro', waiting: 4, delayed: 1, active: 0, removed: true },
      ],
      now,
    );
    expect(lines[0]).toMatch(/^account\s+provider\s+state\s+rate\s+waiting\s+active\s+delayed\s+failed$/);
    expect(lines[1]).toMatch(/^acme\s+betterstack\s+sending\s+0\.5\/s of 2\/s\s+3\s+1\s+0\s+2$/);
    expect(lines[2]).toMatch(/^beta\s+betterstack\s+paused \(auth_failed: 401\)\s+-\s+0\s+0\s+0\s+2$/);
    expect(lines[3]).toContain('held by a rate limit until 14:02:31 UTC');
    expect(lines[4]).toMatch(/^old\s+sutro\s+removed \(5 waiting\)/);
    // Aligned: each row's state starts under the header's.
    expect(lines[1]?.indexOf('sending')).toBe(lines[0]?.indexOf('state'));
    expect(lines[4]?.indexOf('removed')).toBe(lines[0]?.indexOf('state'));
  });

  it('accounts: idle when nothing waits; the limit alone when the paced rate is at it', () => {
    const idle = { ...stats, paused: false, waiting: 0, active: 0, failed: 0 };
    expect(accountState(idle)).toBe('idle');
    expect(accountState({ ...idle, delayed: 2 })).toBe('delayed (scheduled or retrying)');
    expect(accountRate({ ...idle, rateLimit: { max: 10, durationMs: 1000 }, pacedRate: 10 })).toBe('10/s');
    expect(accountRate({ ...idle, rateLimit: { max: 100, durationMs: 60_000 } })).toBe('100 / 60 s');
  });

  it('webhooks: health first, then the counts', () => {
    expect(formatWebhook(hook)).toBe(
      'hr: https://hr.example/hook (invite.failed) ok; last answer -; waiting 0, delayed 0, failed 0, delivered 4, not yet delivered or queued 0',
    );
    expect(formatWebhook({ ...hook, notStarted: 2 })).toContain('failing: 2 deliveries could not be started');
    expect(formatWebhook({ ...hook, disabled: true, disabledAt: 0 })).toContain('DISABLED since 1970-01-01T00:00:00.000Z');
  });

  it('find: one readable line, with nothing that acts on the terminal', () => {
    const line = formatFound({
      inviteId: 'x',
      account: 'acme',
      email: 'ann@example.com',
      state: 'failed',
      outcome: 'rejected',
      reason: 'rejected',
      attempts: 1,
      status: 422,
      requestId: 'r-1',
      message: 'bad \x1b[2Jrole',
      at: '',
      finishedAt: Date.UTC(2026, 10, 25),
    } as never);
    expect(line).toBe('acme: failed (rejected, reason rejected, attempts 1, HTTP 422, request r-1) finished 2026-11-25T00:00:00.000Z — bad role');
    const waiting = formatFound({
      inviteId: 'y',
      account: 'acme',
      email: 'bob@example.com',
      state: 'waiting',
      outcome: '',
      reason: '',
      attempts: 0,
      status: '',
      requestId: '',
      message: '',
      at: '',
      enqueuedAt: Date.UTC(2026, 10, 25),
    } as never);
    expect(waiting).toBe('acme: waiting (attempts 0) queued 2026-11-25T00:00:00.000Z');
    const cancelled = formatFound({
      inviteId: 'z',
      account: 'acme',
      email: 'cy@example.com',
      state: 'cancelled',
      outcome: 'cancelled',
      reason: '',
      attempts: 0,
      status: '',
      requestId: '',
      message: 'cancelled (withdrawn hire; it was delayed; by cli)',
      at: '',
      finishedAt: Date.UTC(2026, 10, 26),
    } as never);
    expect(cancelled).toBe('acme: cancelled 2026-11-26T00:00:00.000Z — cancelled (withdrawn hire; it was delayed; by cli)');
  });
});
