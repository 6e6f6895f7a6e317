/**
 * The one place where long-running commands (worker, serve, sandbox) handle SIGTERM and SIGINT: stop
 * gracefully, then exit 0. A close that has not finished by `deadlineMs` (a connection stuck reconnecting,
 * a call that hangs) is abandoned and the process exits anyway: BullMQ's locks make that safe (an active
 * job is taken over by another worker once its lock expires).
 */
export function exitOnSignal(close: () => Promise<unknown>, options: { deadlineMs: number; onLate?: () => void }): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      options.onLate?.();
      process.exit(0);
    }, options.deadlineMs).unref();
    await close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

/**
 * A long-running process (serve, worker) never dies of a promise nobody awaited: the rejection is logged as an
 * error and the process keeps serving. (Invariants do not depend on it: every path that writes to Redis is
 * awaited; this is the net under a bug, not a way of handling errors.)
 */
export function logUnhandledRejections(logger: { error(obj: object, msg: string): void }): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason }, 'unhandled promise rejection (kept running)');
  });
}
