import { getHeapStatistics } from 'node:v8';
import type { Logger } from '../logger.ts';

/** Share of the heap limit from which the worker warns. */
export const HEAP_WARN_SHARE = 0.85;
/** At most one warning per this long. */
export const HEAP_WARN_EVERY_MS = 600_000;

/**
 * The worker runs with its old generation capped (bin/invitebus.js, INVITEBUS_HEAP_MB): says so, once per ten
 * minutes, while the heap is above 85% of its limit, before V8 would stop the process for want of memory.
 * Returns a function that checks once (the timer calls it every `intervalMs`) and one that stops the timer.
 */
export function watchHeap(
  logger: Logger,
  options: { intervalMs?: number; read?: () => { used_heap_size: number; heap_size_limit: number }; now?: () => number } = {},
): { check(): void; stop(): void } {
  const read = options.read ?? getHeapStatistics;
  const now = options.now ?? Date.now;
  let warnedAt = Number.NEGATIVE_INFINITY;
  const check = () => {
    const { used_heap_size: used, heap_size_limit: limit } = read();
    if (used / limit < HEAP_WARN_SHARE || now() - warnedAt < HEAP_WARN_EVERY_MS) return;
    warnedAt = now();
    logger.warn(
      { usedMB: Math.round(used / 2 ** 20), limitMB: Math.round(limit / 2 ** 20) },
      'the heap is near its limit: raise INVITEBUS_HEAP_MB (or --max-old-space-size in NODE_OPTIONS)',
    );
  };
  const timer = setInterval(check, options.intervalMs ?? 30_000);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
