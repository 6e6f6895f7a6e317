import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real Redis that cuts every connection just before the client's command number
 * `cutAt` (counted over all connections, RESP-parsed) reaches Redis, and refuses connections from then on: the
 * client's Redis "goes away" at a chosen point of an operation. `cutAt` Infinity never cuts. With `reconnect`,
 * the cut is a drop: connections made after it pass again (the client's reconnect succeeds).
 *
 * With `loseReplyOf`, the first command it matches reaches Redis (which runs it) but its connection is cut before
 * the reply comes back: the client, reconnected, sends it again (ioredis resends unanswered commands).
 */
export async function startCutProxy(
  target: { host: string; port: number },
  cutAt: number,
  options: { reconnect?: boolean; loseReplyOf?: (command: string) => boolean } = {},
) {
  let commands = 0;
  let cut = false;
  let replyLost = false;
  /** The name of every command forwarded, in order. */
  const names: string[] = [];
  const sockets = new Set<Socket>();
  let dropped = false;
  const server: Server = createServer((client) => {
    if (cut && options.reconnect && dropped) cut = false;
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    upstream.connect(target.port, target.host);
    let pending = Buffer.alloc(0);
    let swallow = false;
    client.on('data', (chunk: Buffer) => {
      if (cut || swallow) return;
      pending = Buffer.concat([pending, chunk]);
      // Forward whole commands only, one by one, until the cut point.
      for (;;) {
        const end = commandEnd(pending);
        if (end < 0) break;
        if (commands >= cutAt) {
          cutAll();
          return;
        }
        commands += 1;
        names.push(commandName(pending.subarray(0, end)));
        const command = pending.subarray(0, end);
        upstream.write(command);
        pending = pending.subarray(end);
        if (!replyLost && options.loseReplyOf?.(command.toString('latin1'))) {
          // Redis gets the command; the client never gets its answer (nor any later one on this connection).
          replyLost = true;
          swallow = true;
          setTimeout(() => {
            client.destroy();
            upstream.destroy();
          }, 100);
          return;
        }
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!cut && !swallow) client.write(chunk);
    });
    for (const s of [client, upstream]) {
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        (s === client ? upstream : client).destroy();
      });
    }
  });
  function cutAll() {
    cut = true;
    for (const s of sockets) s.destroy();
    // A drop happens once: from the next connection on, commands pass (and are not counted towards a cut).
    if (options.reconnect) {
      dropped = true;
      cutAt = Number.POSITIVE_INFINITY;
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    get commands() {
      return commands;
    },
    names,
    get cut() {
      return cut;
    },
    /** Whether a command matched `loseReplyOf` and lost its reply. */
    get replyLost() {
      return replyLost;
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Byte length of the first complete RESP command in `buf` (an array of bulk strings, or an inline line), or -1. */
function commandEnd(buf: Buffer): number {
  if (buf.length === 0) return -1;
  const lineEnd = (from: number) => buf.indexOf('\r\n', from);
  if (buf[0] !== 0x2a /* '*' */) {
    const e = lineEnd(0);
    return e < 0 ? -1 : e + 2;
  }
  let e = lineEnd(0);
  if (e < 0) return -1;
  const n = Number(buf.subarray(1, e).toString());
  let at = e + 2;
  for (let i = 0; i < n; i++) {
    e = lineEnd(at);
    if (e < 0) return -1;
    const len = Number(buf.subarray(at + 1, e).toString());
    at = e + 2 + len + 2;
    if (at > buf.length) return -1;
  }
  return at;
}

/** The (upper-cased) name of one RESP command. */
function commandName(command: Buffer): string {
  const text = command.toString('latin1');
  const m = /^\*\d+\r\n\$\d+\r\n([^\r]+)/.exec(text) ?? /^(\S+)/.exec(text);
  return (m?.[1] ?? '').toUpperCase();
}
