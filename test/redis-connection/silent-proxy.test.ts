/** The silent-link proxy the fault tests and the bench use: what passes, what is dropped, what is held and delivered. */
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useCleanups } from '../support/cleanups.ts';
import { waitFor } from '../support/pipeline.ts';
import { useRedis } from '../support/redis.ts';
import { startSilentProxy } from '../support/silent-proxy.ts';

const redis = useRedis(import.meta.url);
const cleanups = useCleanups();

/** A raw socket to the proxy that collects whatever it is sent. */
async function rawClient(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let received = '';
  let closed = false;
  socket.on('data', (d) => {
    received += d.toString();
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  cleanups.push(() => socket.destroy());
  return {
    socket,
    send: (...args: string[]) => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
    received: () => received,
    closed: () => closed,
  };
}

async function proxy() {
  const p = await startSilentProxy(redis.url);
  cleanups.push(() => p.close());
  return p;
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('silent-link proxy', () => {
  it('passes traffic both ways until silenced', async () => {
    const p = await proxy();
    const c = await rawClient(p.port);
    c.send('PING');
    await waitFor(() => c.received() === '+PONG\r\n', 5_000, 'PONG');
  });

  it('drop: the sockets stay open, nothing passes either way, and what was sent meanwhile is lost', async () => {
    const p = await proxy();
    const c = await rawClient(p.port);
    const key = `${redis.prefix}:dropped`;
    c.send('PING');
    await waitFor(() => c.received() === '+PONG\r\n', 5_000, 'PONG');
    p.silence({ mode: 'drop' });
    c.send('SET', key, 'v');
    await pause(300);
    expect(c.received()).toBe('+PONG\r\n');
    expect(c.closed()).toBe(false);
    expect(await redis.admin.get(key)).toBe(null);
    p.resume();
    c.send('ECHO', 'after');
    await waitFor(() => c.received().endsWith('after\r\n'), 5_000, 'the echo');
    expect(c.received()).toBe('+PONG\r\n$5\r\nafter\r\n'); // the SET's answer never comes: it was lost
    expect(await redis.admin.get(key)).toBe(null);
    expect(p.stats().droppedBytes).toBeGreaterThan(0);
  });

  it('hold: what was sent is delivered on resume, to Redis even when the client closed meanwhile', async () => {
    const p = await proxy();
    const open = await rawClient(p.port);
    const gone = await rawClient(p.port);
    const [k1, k2] = [`${redis.prefix}:held-open`, `${redis.prefix}:held-gone`];
    p.silence({ mode: 'hold' });
    open.send('SET', k1, 'v1');
    gone.send('SET', k2, 'v2');
    await pause(300);
    expect(open.received()).toBe('');
    expect(await redis.admin.exists(k1, k2)).toBe(0);
    gone.socket.destroy();
    await pause(100);
    p.resume();
    await waitFor(() => open.received() === '+OK\r\n', 5_000, 'the held answer');
    await waitFor(async () => (await redis.admin.get(k2)) === 'v2', 5_000, 'the closed client\u2019s held command to run');
    expect(await redis.admin.get(k1)).toBe('v1');
  });

  it('a connection opened during a silence is accepted and silent; it reaches Redis on resume (or is refused when asked)', async () => {
    const p = await proxy();
    p.silence({ mode: 'hold' });
    const c = await rawClient(p.port);
    c.send('PING');
    await pause(300);
    expect(c.received()).toBe('');
    expect(c.closed()).toBe(false);
    expect(p.stats().acceptedSilent).toBe(1);
    p.resume();
    await waitFor(() => c.received() === '+PONG\r\n', 5_000, 'PONG after resume');

    p.silence({ mode: 'drop', newConnections: 'refuse' });
    const refused = await rawClient(p.port);
    await waitFor(() => refused.closed(), 5_000, 'the refused connection to close');
    p.resume();
  });
});
