import { describe, expect, it } from 'vitest';
import { formatBatchCheck } from '../../src/cli/batch-check.ts';

describe('the batches check output', () => {
  it('says a clean batch is clean in one line', () => {
    expect(formatBatchCheck({ batchId: 'b', members: 5, drift: [], stranded: [], repaired: false })).toBe(
      'batch b: 5 invites, counters and results agree with the jobs',
    );
  });
  it('lists each drifted counter and stranded invite, and how to repair', () => {
    const text = formatBatchCheck({
      batchId: 'b',
      members: 5,
      drift: [{ field: 'done', stored: 3, expected: 5 }],
      stranded: [{ ref: 'acme/x', state: 'failed' }],
      repaired: false,
    });
    expect(text.split('\n')).toEqual([
      'batch b: 5 invites, 1 counters drifted, 1 finished invites without a recorded result (run again with --repair to fix)',
      '  done: stored 3, from the jobs 5',
      '  acme/x: failed, result never recorded',
    ]);
  });
});
