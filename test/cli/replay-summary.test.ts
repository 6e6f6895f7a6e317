import { describe, expect, it } from 'vitest';
import { replaySummary } from '../../src/cli/replay-summary.ts';

const result = (skipped: Partial<Record<'not_failed' | 'failed_since_start' | 'not_recorded', number>> = {}) => ({
  matched: 5,
  replayed: 3,
  byAccount: { acme: 3 },
  skipped: { not_failed: 0, failed_since_start: 0, not_recorded: 0, ...skipped },
});

describe('the replay summary', () => {
  it('says what moved per account', () => {
    expect(replaySummary(result(), false)).toBe('replayed 3 failed invites (acme 3)');
  });
  it('says what a dry run would move', () => {
    expect(replaySummary(result(), true)).toBe('would replay 5 failed invites (acme 3)');
  });
  it('says why matched failures were left to another action', () => {
    expect(replaySummary(result({ not_failed: 1, failed_since_start: 1 }), false)).toBe(
      'replayed 3 failed invites (acme 3); left: 1 already moved by another replay or correction, 1 failed again after another replay that ran at the same time moved them',
    );
  });
});
