import type { Queue } from 'bullmq';
import type { EventStream } from './events/stream.ts';

/**
 * Pauses an account's queue (globally, every worker process), remembers why for `stats`, and says why on
 * the event stream. Jobs stay waiting; nothing is failed. Pausing a paused account publishes nothing.
 */
export async function pauseAccount(
  queue: Queue,
  events: EventStream,
  info: { account: string; provider: string; reason: string; message?: string },
): Promise<boolean> {
  if (await queue.isPaused()) return false;
  await queue.pause();
  await events.setAccountState(info.account, { reason: info.reason, message: info.message ?? '', at: String(Date.now()) });
  await events.publishAccount({ type: 'account.paused', ...info, at: Date.now() });
  return true;
}

/** Resumes a paused account; its waiting jobs are delivered again. */
export async function resumeAccount(queue: Queue, events: EventStream, info: { account: string; provider: string; by?: string }): Promise<boolean> {
  if (!(await queue.isPaused())) return false;
  await queue.resume();
  await events.setAccountState(info.account, undefined);
  await events.publishAccount({ type: 'account.resumed', account: info.account, provider: info.provider, reason: info.by ?? 'operator', at: Date.now() });
  return true;
}
