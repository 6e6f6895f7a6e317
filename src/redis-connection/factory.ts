/**
 * Every Redis connection invitebus makes — BullMQ's, the event writer's, the webhook readers', the API's, a
 * command's — comes from here, so the whole process reaches Redis the same way: one URL (a standalone server or a
 * managed primary endpoint), a Sentinel group or a Cluster, with TLS and ACL credentials read from the environment
 * or files (never from the config itself), and the same dead-connection detection on every link.
 */

import type { ConnectionOptions } from 'node:tls';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { type CredentialRef, readSecret } from '../config/credentials.ts';
import type { Config } from '../config/load.ts';
import { InvitebusError } from '../errors.ts';
import { redisUnavailable, safeRedisUrl, settleStrandedCommands } from '../redis.ts';
import { livenessOptions, trackConnection } from './liveness.ts';
import { PrimaryScopedSentinelConnector } from './sentinel-connector.ts';

/** A connection to Redis: a plain client (standalone, managed endpoint, Sentinel group) or a Cluster client. */
export type RedisClient = Redis | Cluster;

/**
 * What a connection is for. `worker`: retries every command through any outage (BullMQ's blocking connections
 * require it). `producer`: waits through a short outage, then fails the command, so nothing is reported queued
 * that is not.
 */
export type ConnectionRole = 'worker' | 'producer';

/** The Redis used when nothing says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

type RedisSettings = Config['redis'];
/** The part of the config a connection needs: `redis`, and where relative secret files are. */
export type RedisConfig = Pick<Config, 'redis' | 'baseDir'>;

/** Where the config points, in words safe to print (no password). */
export function describeRedis(redis: RedisSettings): string {
  const nodes = (list: ReadonlyArray<{ host: string; port: number }>) => list.map((n) => `${n.host}:${n.port}`).join(', ');
  if (redis.sentinels !== undefined) return `Sentinel group '${redis.name}' (${nodes(redis.sentinels)})`;
  if (redis.cluster !== undefined) return `Redis Cluster (${nodes(redis.cluster.nodes)})`;
  return safeRedisUrl(redis.url ?? DEFAULT_REDIS_URL);
}

/** The options every node connection shares: credentials and TLS, read from where the config points. */
interface Resolved {
  node: RedisOptions;
  tls: ConnectionOptions | undefined;
  sentinelPassword: string | undefined;
}

/** Reads the secrets `redis` refers to. Every problem is listed (field and fix); the secrets never appear. */
export function redisSecretProblems(config: RedisConfig, env: NodeJS.ProcessEnv = process.env): string[] {
  return resolve(config, env).problems;
}

function resolve(config: RedisConfig, env: NodeJS.ProcessEnv): { resolved: Resolved; problems: string[] } {
  const redis = config.redis;
  const problems: string[] = [];
  const read = (field: string, ref: CredentialRef | undefined): string | undefined => {
    if (ref === undefined) return undefined;
    const result = readSecret(ref, env, config.baseDir);
    if ('value' in result) return result.value;
    problems.push(`redis.${field}: ${result.problem}`);
    return undefined;
  };
  const password = read('password', redis.password);
  const sentinelPassword = read('sentinelPassword', redis.sentinelPassword);
  let tls: ConnectionOptions | undefined;
  if (redis.tls !== undefined) {
    const ca = read('tls.ca', redis.tls.ca);
    const cert = read('tls.cert', redis.tls.cert);
    const key = read('tls.key', redis.tls.key);
    tls = {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(redis.tls.servername === undefined ? {} : { servername: redis.tls.servername }),
    };
  } else if (redis.url?.startsWith('rediss://')) {
    tls = {};
  }
  const node: RedisOptions = {
    ...(redis.username === undefined ? {} : { username: redis.username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls }),
  };
  return { resolved: { node, tls, sentinelPassword }, problems };
}

function resolved(config: RedisConfig, env: NodeJS.ProcessEnv): Resolved {
  const { resolved: r, problems } = resolve(config, env);
  if (problems.length > 0) {
    throw new InvitebusError(
      'CONFIG_INVALID',
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  ${problems.join('\n  ')}`,
      {
        details: problems,
      },
    );
  }
  return r;
}

/** Reconnection backoff shared by every connection: quick at first, then every 2 s until Redis answers. */
export const reconnectDelay = (times: number): number => Math.min(times * 200, 2_000);

const ROLE_OPTIONS: Record<ConnectionRole, RedisOptions> = {
  worker: { maxRetriesPerRequest: null },
  producer: { maxRetriesPerRequest: 20 },
};

/** Options for one connection, beside the role's. */
export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** ioredis options that win over the role's (tests, one-shot commands). */
  overrides?: RedisOptions;
}

/**
 * A new connection to the configured Redis for `role`. For a Cluster, `overrides` apply to each node's connection.
 * Throws CONFIG_INVALID when a secret it refers to cannot be read.
 */
export function connectRedis(config: RedisConfig, role: ConnectionRole, options: ConnectOptions = {}): RedisClient {
  const redis = config.redis;
  const r = resolved(config, options.env ?? process.env);
  // Liveness first: a dead link is found and replaced on every connection (src/redis-connection/liveness.ts).
  const common: RedisOptions = {
    retryStrategy: reconnectDelay,
    ...livenessOptions(),
    ...ROLE_OPTIONS[role],
    // CLIENT LIST tells invitebus's connections (and whose prefix) apart; BullMQ names its own `prefix:…` too.
    connectionName: `${redis.prefix}:invitebus`.replace(/[^\x21-\x7e]/g, '_'),
    ...r.node,
    ...options.overrides,
  };
  if (redis.cluster !== undefined) {
    const { retryStrategy, lazyConnect, ...nodeOptions } = common;
    const clusterOptions: ClusterOptions = {
      redisOptions: nodeOptions,
      clusterRetryStrategy: retryStrategy ?? reconnectDelay,
      ...(lazyConnect === undefined ? {} : { lazyConnect }),
      ...(redis.cluster.natMap === undefined ? {} : { natMap: redis.cluster.natMap }),
      ...(r.tls === undefined ? {} : { dnsLookup: (address, callback) => callback(null, address) }),
    };
    return trackClient(
      new Cluster(
        redis.cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOptions,
      ),
      role,
    );
  }
  if (redis.sentinels !== undefined) {
    return trackClient(
      new Redis({
        ...common,
        sentinels: redis.sentinels.map((n) => ({ host: n.host, port: n.port })),
        name: redis.name as string,
        role: 'master',
        // Told of a failover by the sentinels themselves (+switch-master), not only when the old primary fails;
        // for as long as the connection to the primary lasts (see sentinel-connector.ts).
        failoverDetector: true,
        Connector: PrimaryScopedSentinelConnector,
        // Asking the sentinels gives up when the connection would (a one-shot command's deadline), never before.
        sentinelRetryStrategy: common.retryStrategy ?? reconnectDelay,
        ...(redis.sentinelUsername === undefined ? {} : { sentinelUsername: redis.sentinelUsername }),
        ...(r.sentinelPassword === undefined ? {} : { sentinelPassword: r.sentinelPassword }),
        ...(r.tls === undefined ? {} : { enableTLSForSentinelMode: true, sentinelTLS: r.tls }),
      }),
      role,
    );
  }
  // The URL's user and password, taken apart: ioredis lets a URL's empty password wipe out `redis.password`
  // (`rediss://invitebus@host` + a password by reference would send none).
  const url = new URL(redis.url ?? DEFAULT_REDIS_URL);
  const fromUrl: RedisOptions = {
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
  };
  url.username = '';
  url.password = '';
  return trackClient(new Redis(url.toString(), { ...fromUrl, ...common }), role);
}

/** Another connection like `client` (same target, credentials and role), with `overrides` applied. */
export function duplicateClient(client: RedisClient, overrides: RedisOptions = {}): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate(undefined, { redisOptions: { ...client.options.redisOptions, ...overrides } });
  }
  return settleStrandedCommands(client.duplicate(overrides));
}

/**
 * Follows a connection in the process's health registry (one line per lost connection, `/readyz`,
 * `invitebus_redis_up`), and its duplicates (BullMQ's blocking connections among them). A Cluster client is followed
 * through its node connections.
 */
function trackClient<C extends RedisClient>(client: C, name: string): C {
  if (client instanceof Cluster) {
    client.on('+node', (node: Redis) => trackConnection(node, `${name} ${node.options.host}:${node.options.port}`));
    const duplicate = client.duplicate.bind(client);
    let copies = 0;
    client.duplicate = ((...args: Parameters<Cluster['duplicate']>) => trackClient(duplicate(...args), `${name}/${++copies}`)) as Cluster['duplicate'];
    return client;
  }
  return trackConnection(settleStrandedCommands(client as Redis), name) as C;
}

/** Whether `client` is a Cluster client (some commands must then go to the node that owns invitebus's slot). */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Options of `openRedis`. */
export interface OpenOptions {
  /** How long the first connection may take before the command fails with REDIS_UNAVAILABLE (default 3 s). */
  deadlineMs?: number;
  /**
   * How long an outage met after connecting is waited out, commands held and sent again once Redis answers
   * (default `deadlineMs`). An enqueue rides out a failover with 20 s.
   */
  rideOutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** How often a one-shot command's connection tries again during an outage. */
const COMMAND_RETRY_MS = 250;

/**
 * A connection for a one-shot command (status, report, enqueue, ...): it waits for Redis at most `deadlineMs`,
 * then fails with REDIS_UNAVAILABLE instead of retrying for half a minute; an outage met later is waited out for
 * `rideOutMs`, then ends it.
 */
export async function openRedis(config: RedisConfig, options: OpenOptions = {}): Promise<RedisClient> {
  const deadlineMs = options.deadlineMs ?? 3_000;
  const rideOutMs = options.rideOutMs ?? deadlineMs;
  let connected = false;
  // Each outage gets its time of reconnecting (the first connection `deadlineMs`, later ones `rideOutMs`), then
  // the client ends.
  let downSince: number | undefined = Date.now();
  const client = connectRedis(config, 'producer', {
    ...(options.env === undefined ? {} : { env: options.env }),
    overrides: {
      lazyConnect: true,
      connectTimeout: deadlineMs,
      // A command waits through the outage it meets (a reconnect attempt every COMMAND_RETRY_MS), no longer.
      maxRetriesPerRequest: Math.ceil(rideOutMs / COMMAND_RETRY_MS) + 1,
      retryStrategy: () => {
        downSince ??= Date.now();
        return Date.now() - downSince > (connected ? rideOutMs : deadlineMs) ? null : COMMAND_RETRY_MS;
      },
    },
  });
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  client.on('ready', () => {
    downSince = undefined;
    connected = true;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('end', () => reject(lastError ?? new Error('Connection is closed.')));
      client.connect().catch(() => undefined);
    });
  } catch (error) {
    client.disconnect();
    throw redisUnavailable(describeRedis(config.redis), error);
  }
  return client;
}
