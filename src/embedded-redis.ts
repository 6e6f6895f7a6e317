/**
 * Starts a redis-server of our own (from PATH) on a free port in a temporary directory: used by the demo
 * when no REDIS_URL is given, and by tests that need a Redis they can kill and restart.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A redis-server of the test's own, on a free port in a temporary directory. */
export interface OwnRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops the server with the given signal and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and directory (data survives when persistence is on). */
  start(): Promise<void>;
  /** Stops and removes its directory. */
  destroy(): Promise<void>;
}

async function waitForPing(url: string, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') {
        // With AOF on, wait for the load to finish.
        const info = await client.info('persistence');
        if (!/loading:1/.test(info)) return;
      }
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > until) throw new Error(`redis-server at ${url} did not answer within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startOwnRedis(options: { appendonly?: boolean; appendfsync?: 'always' | 'everysec'; maxmemoryPolicy?: string } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'invitebus-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--maxmemory-policy',
    options.maxmemoryPolicy ?? 'noeviction',
  ];
  const handle: OwnRedis = {
    url,
    port,
    dir,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await waitForPing(url);
    },
    async stop(signal = 'SIGTERM') {
      const c = child;
      if (c === undefined || c.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once('exit', () => resolve());
        c.kill(signal);
      });
      child = undefined;
    },
    async destroy() {
      await handle.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
