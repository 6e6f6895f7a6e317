/**
 * The provider HTTP client (src/providers/http.ts) and keep-alive: a server closes an idle connection (Node's
 * default after 5 s, most providers' load balancers after tens of seconds) just as the client reuses it for the next
 * request. The request dies with ECONNRESET ("socket hang up") without the server having read it. Bench `accounts`
 * (10,000 accounts at 1 call per 40 s, one HTTP pool) saw three invites fail that way at once; each retry then waited
 * for the account's next call slot: 40 s late. Node's documented answer (`request.reusedSocket`): such a request is
 * sent again at once, on a fresh connection, within the same call.
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/providers/http.ts';

/**
 * A keep-alive HTTP server on raw TCP: it answers the first request of each connection (keep-alive), and when a
 * second request arrives on the same connection it closes it unread, as a server whose idle timeout fired does.
 * `resetFirst`: it closes every connection at its first request instead (a server dying mid-request).
 */
async function closingServer(options: { resetFirst?: boolean } = {}) {
  const requests: Array<{ connection: number; request: number }> = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    const connection = ++connections;
    let served = 0;
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      while (buffer.includes('\r\n\r\n')) {
        const end = buffer.indexOf('\r\n\r\n');
        const head = buffer.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        buffer = buffer.slice(end + 4 + length);
        served += 1;
        requests.push({ connection, request: served });
        if (served > 1 || options.resetFirst) {
          socket.destroy();
          return;
        }
        const body = '{"ok":true}';
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: keep-alive\r\n\r\n${body}`);
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the provider HTTP client and keep-alive', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  it('a request reset on a reused keep-alive connection is sent again at once on a fresh one', async () => {
    const server = await closingServer();
    close = server.close;
    const client = createHttpClient({ timeoutMs: 5_000 });
    try {
      const request = {
        method: 'POST' as const,
        url: `${server.url}/invite`,
        headers: { 'content-type': 'application/json' },
        body: '{"email":"a@example.com"}',
      };
      const first = await client.send(request);
      expect(first.status).toBe(200);
      // Idle long enough for a server's idle timeout to be a cause (a connection reused at once is not resent).
      await new Promise((r) => setTimeout(r, 1_100));
      let written = 0;
      const second = await client.send(request, { onWritten: () => (written += 1) });
      // The reused connection was closed unread; the request went again on a new connection and was answered.
      expect(second.status).toBe(200);
      expect(server.requests).toEqual([
        { connection: 1, request: 1 },
        { connection: 1, request: 2 },
        { connection: 2, request: 1 },
      ]);
      // Each write is reported: the call gate records the call's start at the last one.
      expect(written).toBe(2);
    } finally {
      client.close();
    }
  });

  it('a request reset on a connection reused at once is not sent again: its server read it', async () => {
    const server = await closingServer();
    close = server.close;
    const client = createHttpClient({ timeoutMs: 5_000 });
    try {
      const request = { method: 'POST' as const, url: `${server.url}/invite`, headers: {}, body: '{}' };
      expect((await client.send(request)).status).toBe(200);
      expect(await client.send(request)).toMatchObject({ status: undefined, code: 'ECONNRESET' });
      expect(server.requests).toHaveLength(2);
    } finally {
      client.close();
    }
  });

  it('a request reset on a fresh connection is not sent again: the server may have read it', async () => {
    const server = await closingServer({ resetFirst: true });
    close = server.close;
    const client = createHttpClient({ timeoutMs: 5_000 });
    try {
      const result = await client.send({ method: 'POST', url: `${server.url}/invite`, headers: {}, body: '{}' });
      // A network failure for the queue to retry (an attempt, paced as any call), never resent by the client.
      expect(result).toMatchObject({ status: undefined, code: 'ECONNRESET' });
      expect(server.requests).toEqual([{ connection: 1, request: 1 }]);
    } finally {
      client.close();
    }
  });
});
