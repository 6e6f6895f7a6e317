/**
 * ioredis's Sentinel connector, with its failover detector kept to the life of the connection it watches.
 *
 * With `failoverDetector`, a Sentinel client subscribes to `+switch-master` on the sentinels once it has connected
 * to the primary, and disconnects to reconnect when a failover is announced. ioredis 6.0.0 keeps that subscription
 * after the connection to the primary has closed, with two effects:
 * - a primary that dies drops its connection before the sentinels announce the failover; the announcement then
 *   reaches a client that is already reconnecting, and if that client is asking a sentinel where the primary is at
 *   that moment, its reconnect throws 'Connection is closed.' and it ends for good: status 'end', every later
 *   command fails, nothing reconnects it (the failover fault test lost `serve`'s connection this way under load;
 *   the slow-sentinel test in test/faults/failover.test.ts reproduces it every time);
 * - `quit()` leaves the subscriptions open: a process that closed its connections does not exit, and each one
 *   reconnects to a sentinel that went away, printing "[ioredis] Unhandled error event" every minute.
 * Here the subscription ends when the connection to the primary closes; the next connection subscribes afresh (as
 * ioredis does on every connect), and a reconnect asks the sentinels anyway.
 */
import { type SentinelConnectionOptions, SentinelConnector } from 'ioredis';

/** The part of ioredis's SentinelConnector (private in its types) this relies on. */
interface Internals {
  failoverDetector: { cleanup(): void } | null;
}

export class PrimaryScopedSentinelConnector extends SentinelConnector {
  /** ioredis hands a `Connector` the client's options (sentinels, name, role, ...). */
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override async connect(eventEmitter: Parameters<SentinelConnector['connect']>[0]): ReturnType<SentinelConnector['connect']> {
    const stream = await super.connect(eventEmitter);
    // The detector is made once this stream connects (ioredis's initFailoverDetector), and ends with it.
    stream.once('close', () => {
      const self = this as unknown as Internals;
      self.failoverDetector?.cleanup();
      self.failoverDetector = null;
    });
    return stream;
  }
}
