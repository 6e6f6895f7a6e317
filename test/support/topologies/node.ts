/**
 * One redis-server process of a test topology: its config file, its port, its life. No vitest here, so
 * `node bench/run.ts` can import it too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from '../../../src/embedded-redis.ts';
import { waitFor } from '../pipeline.ts';

export const HOST = '127.0.0.1';

/** One redis-server (data node or sentinel) of a topology. */
export interface RedisNode {
  /** `primary`, `replica`, `sentinel-2`, `node-4`, ... */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:PORT` (`rediss://` under TLS), without credentials. */
  readonly url: string;
  /** Its process id while it runs. */
  readonly pid: number | undefined;
  readonly alive: boolean;
}

/** What every topology hands back. */
export interface Topology {
  /** The folder it owns (configs, logs, data); removed by `destroy()`. */
  readonly dir: string;
  readonly nodes: readonly RedisNode[];
  /**
   * Sends `signal` (default SIGKILL) to a node and waits for it to exit; SIGSTOP and SIGCONT are sent without
   * waiting (a node that hangs with its sockets open, then comes back).
   */
  kill(node: RedisNode, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a node again with the config it has now (a sentinel or cluster node keeps what it rewrote). */
  restart(node: RedisNode): Promise<void>;
  /** Kills every node and removes `dir`. */
  destroy(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitGuard = false;

/** A topology's redis-server, started from a config file in a folder of its own. */
export class NodeProcess implements RedisNode {
  readonly name: string;
  readonly host = HOST;
  readonly port: number;
  readonly url: string;
  /** Client options that reach it (password, TLS), for readiness checks and admin commands. */
  readonly client: RedisOptions;
  readonly dir: string;
  readonly confPath: string;
  readonly #sentinel: boolean;
  #child: ChildProcess | undefined;

  constructor(o: { name: string; port: number; dir: string; conf: string[]; client?: RedisOptions; sentinel?: boolean; scheme?: string }) {
    this.name = o.name;
    this.port = o.port;
    this.url = `${o.scheme ?? 'redis'}://${HOST}:${o.port}`;
    this.client = o.client ?? {};
    this.#sentinel = o.sentinel ?? false;
    this.dir = join(o.dir, o.name);
    mkdirSync(this.dir, { recursive: true });
    this.confPath = join(this.dir, this.#sentinel ? 'sentinel.conf' : 'redis.conf');
    const conf = [`dir ${this.dir}`, `logfile ${join(this.dir, 'redis.log')}`, 'save ""', ...o.conf];
    writeFileSync(this.confPath, `${conf.join('\n')}\n`, { mode: 0o600 });
  }

  get pid(): number | undefined {
    return this.alive ? this.#child?.pid : undefined;
  }

  get alive(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts it and resolves once it answers PING (and has loaded its data). */
  async start(): Promise<void> {
    if (this.alive) return;
    guardExit();
    const child = spawn('redis-server', [this.confPath, ...(this.#sentinel ? ['--sentinel'] : [])], { stdio: 'ignore' });
    this.#child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
    await waitFor(
      async () => {
        if (!this.alive) throw new Error(`redis-server ${this.name} (port ${this.port}) exited at start:\n${this.logTail()}`);
        return this.answers();
      },
      15_000,
      `redis-server ${this.name} on port ${this.port} to answer`,
    );
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.alive) return;
    if (signal === 'SIGSTOP' || signal === 'SIGCONT' || signal === 'SIGTSTP') {
      child.kill(signal);
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    child.kill('SIGCONT'); // a stopped process acts on the signal only once it runs again
    await exited;
  }

  /** One command over a short-lived connection (no retries, no offline queue). */
  async call(...args: (string | number)[]): Promise<unknown> {
    return withClient(this.port, this.client, (c) => c.call(String(args[0]), ...args.slice(1).map(String)));
  }

  /** INFO `section` as a field map. */
  async info(section: string): Promise<Record<string, string>> {
    return parseInfo(String(await this.call('INFO', section)));
  }

  logTail(lines = 20): string {
    const log = join(this.dir, 'redis.log');
    return existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-lines).join('\n') : '(no log)';
  }

  async answers(): Promise<boolean> {
    try {
      if ((await this.call('PING')) !== 'PONG') return false;
      return this.#sentinel || (await this.info('persistence')).loading !== '1';
    } catch {
      return false;
    }
  }
}

/** Kills what is still running if the process ends without destroy() (a crashed test or bench). */
function guardExit(): void {
  if (exitGuard) return;
  exitGuard = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

export async function withClient<T>(port: number, options: RedisOptions, use: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({
    ...options,
    host: HOST,
    port,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await use(c);
  } finally {
    c.disconnect();
  }
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/**
 * `n` distinct ports nothing listens on, below the kernel's ephemeral range where it can: a port from
 * freePort() can be taken by any outgoing connection (a cluster bus link, another test's client) before the
 * redis-server that was meant to have it binds it, and with a dozen ports per topology that happens.
 */
export async function freePorts(n: number): Promise<number[]> {
  let low = 32_768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // not Linux: ports from the ephemeral range, as freePort() gives them
  }
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < n && tries < n * 20 && low > 11_024; tries += 1) {
      const port = 10_000 + Math.floor(Math.random() * (low - 11_024));
      if (ports.includes(port)) continue;
      const srv = await listening(port);
      if (srv === undefined) continue;
      held.push(srv);
      ports.push(port);
    }
    while (ports.length < n) {
      const port = await freePort();
      if (!ports.includes(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map((srv) => new Promise((r) => srv.close(r))));
  }
  return ports;
}

function listening(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, HOST, () => resolve(srv));
  });
}

/** The Topology methods over a set of node processes, with `dir` removed on destroy. */
export function topology(dir: string, nodes: NodeProcess[]): Topology {
  const own = (node: RedisNode): NodeProcess => {
    const found = nodes.find((n) => n === node || n.port === node.port);
    if (found === undefined) throw new Error(`node ${node.name} (port ${node.port}) is not part of this topology`);
    return found;
  };
  return {
    dir,
    nodes,
    kill: (node, signal) => own(node).kill(signal),
    restart: (node) => own(node).start(),
    async destroy() {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts every node at once; on a failure, kills the ones that did start and removes `dir`. */
export async function startAll(dir: string, nodes: NodeProcess[]): Promise<void> {
  try {
    await Promise.all(nodes.map((n) => n.start()));
  } catch (e) {
    await topology(dir, nodes).destroy();
    throw e;
  }
}
