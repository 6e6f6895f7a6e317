import { type Certs, makeCertsIn } from './certs-in.ts';
import { tempDir } from './temp-dir.ts';

export type { Certs };

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
export function makeCerts(): Certs {
  return makeCertsIn(tempDir('ib-certs-'));
}
