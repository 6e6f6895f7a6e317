import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM texts of a throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client certificate. */
export interface Certs {
  dir: string;
  ca: string;
  serverKey: string;
  serverCert: string;
  clientKey: string;
  clientCert: string;
  /** The path of a file in `dir`: ca.pem, server.pem, server.key, client.pem, client.key. */
  file: (n: string) => string;
}

/**
 * Makes the certificates with openssl in `dir`, which the caller removes. No vitest here, so `node bench/run.ts`
 * can import it too (tests call makeCerts() from certs.ts).
 */
export function makeCertsIn(dir: string): Certs {
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=invitebus-test-ca');
  writeFileSync(f('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${who}.key`),
      '-out',
      f(`${who}.csr`),
      '-subj',
      `/CN=${who === 'server' ? '127.0.0.1' : 'invitebus-client'}`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      f(`${who}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${who}.pem`),
      '-days',
      '2',
      ...(who === 'server' ? ['-extfile', f('san.cnf')] : []),
    );
  }
  const read = (n: string) => readFileSync(f(n), 'utf8');
  return {
    dir,
    ca: read('ca.pem'),
    serverKey: read('server.key'),
    serverCert: read('server.pem'),
    clientKey: read('client.key'),
    clientCert: read('client.pem'),
    file: f,
  };
}
