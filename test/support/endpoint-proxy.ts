/**
 * A managed Redis endpoint on loopback: one address clients keep, forwarded to whichever node it points at. Moving
 * it (`pointTo`) cuts every connection made through it, as a managed service's failover does; new connections go
 * to the new node. No vitest here, so `node bench/run.ts` can import it too.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface EndpointProxy {
  /** `redis://127.0.0.1:PORT`: what clients are configured with. */
  readonly url: string;
  readonly port: number;
  /** Every reply from the node is held back this long (a slow link or a node that answers late), in order. */
  replyDelayMs: number;
  /** Connections accepted so far (a reconnect is a new one). */
  readonly accepted: number;
  /** Cuts every connection now open and refuses new ones until `pointTo` (the endpoint is between nodes). */
  hold(): void;
  /** Cuts every connection now open and forwards new ones to `target`. */
  pointTo(target: { host: string; port: number }): void;
  close(): Promise<void>;
}

/** Starts the endpoint on a free loopback port, forwarding to `initial`. */
export async function startEndpointProxy(initial: { host: string; port: number }): Promise<EndpointProxy> {
  let target = initial;
  let accepted = 0;
  let held = false;
  const sockets = new Set<Socket>();
  const cutAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  const server: Server = createServer((client) => {
    if (held) {
      client.destroy();
      return;
    }
    accepted += 1;
    const upstream = connect(target.port, target.host);
    const pair = [client, upstream];
    for (const s of pair) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('error', () => undefined);
      s.on('close', () => {
        for (const x of pair) {
          x.destroy();
          sockets.delete(x);
        }
      });
    }
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      if (proxy.replyDelayMs === 0) client.write(data);
      else setTimeout(() => client.writable && client.write(data), proxy.replyDelayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const proxy: EndpointProxy = {
    replyDelayMs: 0,
    url: `redis://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    hold() {
      held = true;
      cutAll();
    },
    pointTo(next) {
      target = next;
      held = false;
      cutAll();
    },
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
