/**
 * A TCP proxy in front of Redis that counts what one process sends: its connections open now and the commands it
 * has sent (RESP arrays, parsed as they stream). For the bench too (no vitest here): commands a process sends, on a
 * Redis shared with others, where INFO's totals count everyone's.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface CountingProxy {
  /** `redis://127.0.0.1:PORT`, pointing at the proxy. */
  url: string;
  /** Connections open through it now. */
  readonly connections: number;
  /** Commands sent through it so far (a script call is one, whatever it runs inside Redis). */
  readonly commands: number;
  close(): Promise<void>;
}

/** Counts the top-level RESP arrays (`*N` then N bulk strings) in a client's byte stream. */
function commandCounter(onCommand: () => void): (data: Buffer) => void {
  let buffer: Buffer = Buffer.alloc(0);
  let argsLeft = 0;
  return (data) => {
    buffer = buffer.length === 0 ? data : Buffer.concat([buffer, data]);
    let at = 0;
    for (;;) {
      const eol = buffer.indexOf('\r\n', at);
      if (eol < 0) break;
      const head = buffer[at];
      const n = Number(buffer.toString('latin1', at + 1, eol));
      if (argsLeft === 0) {
        // An inline command (no `*`) is one command on one line.
        if (head !== 0x2a) {
          onCommand();
          at = eol + 2;
          continue;
        }
        argsLeft = n;
        onCommand();
        at = eol + 2;
        continue;
      }
      // `$len\r\n` + len bytes + `\r\n`
      if (eol + 2 + n + 2 > buffer.length) break;
      at = eol + 2 + n + 2;
      argsLeft -= 1;
    }
    buffer = buffer.subarray(at);
  };
}

export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  let connections = 0;
  let commands = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    connections += 1;
    sockets.add(client);
    sockets.add(upstream);
    let dropped = false;
    const drop = () => {
      if (!dropped) connections -= 1;
      dropped = true;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
    const count = commandCounter(() => {
      commands += 1;
    });
    client.on('data', (data: Buffer) => {
      count(data);
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => client.write(data));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get commands() {
      return commands;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
