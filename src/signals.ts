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
 * SIGHUP reloads the config of a long-running command (worker, serve) instead of ending it. `reloader` gives
 * undefined until the process has started (a SIGHUP before then is said and ignored: the config read at start
 * stands). The reload's outcome is logged by the reloader itself.
 */
export function reloadOnSignal(reloader: () => { reload(): Promise<unknown> } | undefined, logger: { warn(obj: object, msg: string): void }): void {
  process.on('SIGHUP', () => {
    const current = reloader();
    if (current === undefined) logger.warn({}, 'SIGHUP before start-up finished: ignored; send it again to reload the config');
    else current.reload().catch(() => undefined);
  });
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

/**
 * Ctrl-C (SIGINT) or SIGTERM during a command that can stop cleanly (an enqueue): the first aborts `signal`
 * (its reason: the signal's name), so the command lets what is in flight finish and says what it did. If the
 * command has not ended `deadlineMs` later, `onLate` says what is known and the process exits (130, or 143 for
 * SIGTERM). Later signals change nothing: a terminal's Ctrl-C reaches both the CLI's wrapper process, which
 * forwards it, and this one. `dispose` restores the default handling.
 */
export function stopOnSignal(options: { deadlineMs: number; onLate: () => void }): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let late: NodeJS.Timeout | undefined;
  const stop = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    controller.abort(name);
    late = setTimeout(() => {
      options.onLate();
      process.exit(name === 'SIGTERM' ? 143 : 130);
    }, options.deadlineMs);
    late.unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(late);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
