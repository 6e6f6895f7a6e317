import type { Queue } from 'bullmq';
import type { EventStream } from './events/stream.ts';

/**
 * Pauses an account's queue (globally, every worker process), remembers why for `stats`, and says why on
 * the event stream. Jobs stay waiting; nothing is failed. Of concurrent pauses (two workers seeing the same
 * 401, an operator) exactly one publishes: the claim of the account's state is atomic.
 */
export async function pauseAccount(
  queue: Queue,
  events: EventStream,
  info: { account: string; provider: string; reason: string; message?: string },
): Promise<boolean> {
  const first = await events.claimPause(info.account, { reason: info.reason, message: info.message ?? '', at: String(Date.now()) });
  // Pausing is idempotent: a claim left by a process that died before pausing is completed here, quietly.
  if (first || !(await queue.isPaused())) await queue.pause();
  if (first) await events.publishAccount({ type: 'account.paused', ...info, at: Date.now() });
  return first;
}

/** Resumes a paused account; its waiting jobs are delivered again. */
export async function resumeAccount(queue: Queue, events: EventStream, info: { account: string; provider: string; by?: string }): Promise<boolean> {
  // Of concurrent resumes, the one that clears the pause record announces it.
  const first = await events.clearPause(info.account);
  const paused = await queue.isPaused();
  if (paused) await queue.resume();
  if (!first) return paused;
  await events.publishAccount({ type: 'account.resumed', account: info.account, provider: info.provider, reason: info.by ?? 'operator', at: Date.now() });
  return true;
}
