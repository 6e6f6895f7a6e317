import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll } from 'vitest';

/** A TCP proxy a test can cut: an outage of the server behind it, at a chosen moment, that nothing else sees. */
export interface TcpProxy {
  /** `redis://127.0.0.1:PORT` (or whatever scheme the target had), pointing at the proxy. */
  url: string;
  /**
   * Cuts every connection the moment a client sends bytes containing one of `markers` (that write is not
   * forwarded), and refuses connections from then on until `restore()`. Resolves when it has cut.
   */
  cutWhen(...markers: string[]): Promise<void>;
  /** Cuts now, as cutWhen does. */
  cut(): void;
  /** Accepts and forwards again. */
  restore(): void;
  /** Whether it is cut. */
  readonly down: boolean;
  close(): Promise<void>;
}

/** Starts a proxy to `targetUrl` (host and port taken from it) for one test file; closed when the file ends. */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let down = false;
  let armed: { markers: Buffer[]; cutDone: () => void } | undefined;

  const cut = () => {
    down = true;
    for (const s of sockets) s.destroy();
    sockets.clear();
  };

  const server: Server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('data', (data: Buffer) => {
      if (armed?.markers.some((m) => data.includes(m))) {
        const done = armed?.cutDone ?? (() => undefined);
        armed = undefined;
        cut();
        done();
        return;
      }
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => client.write(data));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const close = () =>
    new Promise<void>((resolve) => {
      cut();
      server.close(() => resolve());
    });
  afterAll(close);
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    cutWhen: (...markers) =>
      new Promise<void>((resolve) => {
        armed = { markers: markers.map((m) => Buffer.from(m)), cutDone: resolve };
      }),
    cut,
    restore: () => {
      down = false;
      armed = undefined;
    },
    get down() {
      return down;
    },
    close,
  };
}
