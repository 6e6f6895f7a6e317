/**
 * A TCP proxy in front of a real Redis whose link can go silent: the sockets stay open, nothing passes, nobody is
 * told. No vitest here, so `node bench/run.ts` can import it too: the caller closes it.
 *
 * - `drop`: bytes both ways are discarded (a black hole). A side that closes meanwhile is not seen by the other
 *   until `resume()` (a FIN is a packet too).
 * - `hold`: bytes both ways are kept and delivered on `resume()` (a partition that heals: TCP retransmits), also
 *   towards Redis when the client has closed meanwhile (its commands then run with nobody to read the answers).
 *
 * A connection opened during a silence is accepted and silent (a partition: the client's connect succeeds at its
 * end, nothing more); its Redis side is opened on `resume()`, unless `newConnections: 'refuse'` refuses it.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type SilenceMode = 'drop' | 'hold';

export interface SilentProxy {
  /** `redis://127.0.0.1:PORT` (the target's scheme), pointing at the proxy. */
  url: string;
  port: number;
  /** Nothing passes from now on until `resume()`; the sockets stay open. */
  silence(options: { mode: SilenceMode; newConnections?: 'silent' | 'refuse' }): void;
  /** Traffic flows again: held bytes are delivered, closes seen meanwhile are passed on. */
  resume(): void;
  /**
   * New connections go to `target` from now on; open ones stay where they are (a managed endpoint moved to the
   * promoted replica: clients still connected talk to the old primary).
   */
  moveTo(target: string | { host: string; port: number }): void;
  /** The current silence, if any. */
  readonly silent: SilenceMode | undefined;
  /** What the proxy saw: connections accepted (in all, during silences), bytes dropped and held back. */
  stats(): { accepted: number; acceptedSilent: number; open: number; droppedBytes: number; heldBytes: number };
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket | undefined;
  /** Client → Redis bytes held back (mode hold). */
  up: Buffer[];
  /** Redis → client bytes held back (mode hold). */
  down: Buffer[];
  clientGone: boolean;
  upstreamGone: boolean;
}

function parseTarget(target: string | { host: string; port: number }) {
  if (typeof target !== 'string') return { ...target, scheme: 'redis:' };
  const u = new URL(target);
  return { host: u.hostname, port: Number(u.port || 6379), scheme: u.protocol };
}

/** Starts a silent-link proxy to `target` (`redis://host:port`, or host and port). */
export async function startSilentProxy(target: string | { host: string; port: number }): Promise<SilentProxy> {
  const { scheme } = parseTarget(target);
  let to = parseTarget(target);
  const pairs = new Set<Pair>();
  let silent: SilenceMode | undefined;
  let refuseNew = false;
  const stats = { accepted: 0, acceptedSilent: 0, droppedBytes: 0, heldBytes: 0 };

  const forget = (pair: Pair) => {
    if (pair.clientGone && (pair.upstreamGone || pair.upstream === undefined)) pairs.delete(pair);
  };

  const openUpstream = (pair: Pair) => {
    const upstream = connect(to.port, to.host);
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => undefined);
    upstream.on('data', (data: Buffer) => {
      if (silent === 'drop') stats.droppedBytes += data.length;
      else if (silent === 'hold') {
        stats.heldBytes += data.length;
        pair.down.push(data);
      } else if (!pair.clientGone) pair.client.write(data);
    });
    upstream.on('close', () => {
      pair.upstreamGone = true;
      // Redis closed its end: the client hears of it once traffic flows.
      if (silent === undefined) pair.client.destroy();
      forget(pair);
    });
  };

  const server: Server = createServer((client) => {
    if (silent !== undefined && refuseNew) {
      client.destroy();
      return;
    }
    stats.accepted += 1;
    if (silent !== undefined) stats.acceptedSilent += 1;
    client.setNoDelay(true);
    const pair: Pair = { client, upstream: undefined, up: [], down: [], clientGone: false, upstreamGone: false };
    pairs.add(pair);
    if (silent === undefined) openUpstream(pair);
    client.on('error', () => undefined);
    client.on('data', (data: Buffer) => {
      if (silent === 'drop') stats.droppedBytes += data.length;
      else if (silent === 'hold' || pair.upstream === undefined) {
        stats.heldBytes += data.length;
        pair.up.push(data);
      } else pair.upstream.write(data);
    });
    client.on('close', () => {
      pair.clientGone = true;
      // The client closed its end: Redis hears of it once traffic flows (after the held bytes, in mode hold).
      if (silent === undefined) pair.upstream?.end();
      forget(pair);
    });
  });

  function resume(): void {
    if (silent === undefined) return;
    const mode = silent;
    silent = undefined;
    for (const pair of [...pairs]) {
      const up = mode === 'hold' ? Buffer.concat(pair.up) : Buffer.alloc(0);
      const down = mode === 'hold' ? Buffer.concat(pair.down) : Buffer.alloc(0);
      pair.up = [];
      pair.down = [];
      // A connection accepted during the silence reaches Redis now (with what it sent, in mode hold), if it is
      // still open or has something to deliver.
      if (pair.upstream === undefined) {
        if (pair.clientGone && up.length === 0) {
          pairs.delete(pair);
          continue;
        }
        openUpstream(pair);
      }
      const upstream = pair.upstream as Socket;
      if (up.length > 0 && !pair.upstreamGone) upstream.write(up);
      if (pair.clientGone) upstream.end();
      if (down.length > 0 && !pair.clientGone) pair.client.write(down);
      if (pair.upstreamGone) pair.client.destroy();
      forget(pair);
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `${scheme}//127.0.0.1:${port}`,
    port,
    silence(options) {
      silent = options.mode;
      refuseNew = options.newConnections === 'refuse';
    },
    resume,
    moveTo(next) {
      to = parseTarget(next);
    },
    get silent() {
      return silent;
    },
    stats: () => ({ ...stats, open: pairs.size }),
    close: () =>
      new Promise<void>((resolve) => {
        silent = undefined;
        for (const pair of pairs) {
          pair.client.destroy();
          pair.upstream?.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
}
