/** The worker warns when its heap nears the cap it runs with (bin/invitebus.js caps the old generation). */
import { describe, expect, it } from 'vitest';
import { watchHeap } from '../../src/worker/heap-watch.ts';
import { captureLogs } from '../support/log-capture.ts';

const MB = 2 ** 20;

describe('heap watch', () => {
  it('warns above 85% of the limit, at most once per ten minutes, and not below', () => {
    const { lines, logger } = captureLogs('info');
    let used = 100 * MB;
    let t = 0;
    const w = watchHeap(logger, { read: () => ({ used_heap_size: used, heap_size_limit: 128 * MB }), now: () => t });
    try {
      w.check(); // 78%: quiet
      expect(lines).toHaveLength(0);
      used = 115 * MB; // 90%
      w.check();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 40, usedMB: 115, limitMB: 128, msg: expect.stringContaining('INVITEBUS_HEAP_MB') });
      t = 599_000;
      w.check(); // still high, but warned 10 minutes ago at most
      expect(lines).toHaveLength(1);
      t = 600_000;
      w.check();
      expect(lines).toHaveLength(2);
    } finally {
      w.stop();
    }
  });
});
