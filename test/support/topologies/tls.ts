/**
 * A redis-server that speaks only TLS, optionally with an ACL user and the default user switched off.
 * No vitest here, so `node bench/run.ts` can import it too.
 */
import { type Certs, makeCertsIn } from '../certs-in.ts';
import { freePorts, HOST, NodeProcess, type RedisNode, startAll, type Topology, topology } from './node.ts';

/** Options of a TLS Redis. */
export interface TlsRedisOptions {
  /** An empty folder the topology owns (tempDir() in a test, one of its own in the bench); destroy() removes it. */
  dir: string;
  /** An ACL user (`user NAME on >PASSWORD ~* &* +@all`); the `default` user is then off. Needs `password`. */
  aclUser?: string;
  /** The ACL user's password, or without `aclUser` the default user's (`requirepass`). */
  password?: string;
  /** `tls-auth-clients` (default `optional`: a client certificate is checked when one is given). */
  clientCerts?: 'yes' | 'optional' | 'no';
}

/** The server, and what a client needs to reach it. */
export interface TlsRedis extends Topology {
  readonly node: RedisNode;
  readonly port: number;
  /** `rediss://127.0.0.1:PORT`, without credentials. */
  readonly url: string;
  /** The CA that signed the server certificate (for 127.0.0.1 and localhost), and a client certificate. */
  readonly certs: Certs;
  readonly username: string | undefined;
  readonly password: string | undefined;
}

export async function startTlsRedis(options: TlsRedisOptions): Promise<TlsRedis> {
  if (options.aclUser !== undefined && options.password === undefined) throw new Error('startTlsRedis: an aclUser needs a password');
  const certs = makeCertsIn(options.dir);
  const port = (await freePorts(1))[0]!;
  const auth =
    options.aclUser !== undefined
      ? [`user ${options.aclUser} on >${options.password} ~* &* +@all`, 'user default off']
      : options.password !== undefined
        ? [`requirepass ${options.password}`]
        : [];
  const conf = [
    'port 0',
    `bind ${HOST}`,
    `tls-port ${port}`,
    `tls-cert-file ${certs.file('server.pem')}`,
    `tls-key-file ${certs.file('server.key')}`,
    `tls-ca-cert-file ${certs.file('ca.pem')}`,
    `tls-auth-clients ${options.clientCerts ?? 'optional'}`,
    'appendonly no',
    'maxmemory-policy noeviction',
    ...auth,
  ];
  const node = new NodeProcess({
    name: 'tls',
    port,
    dir: options.dir,
    conf,
    scheme: 'rediss',
    client: { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }, username: options.aclUser, password: options.password },
  });
  await startAll(options.dir, [node]);
  return {
    ...topology(options.dir, [node]),
    node,
    port,
    url: node.url,
    certs,
    username: options.aclUser,
    password: options.password,
  };
}
