import { createHttpClient, type HttpClient, type TlsOptions } from '../providers/http.ts';

/**
 * HTTP clients shared by the accounts of one process (src/worker/account-engine.ts): one per (timeout, TLS
 * options), so an account's worker costs no agents or got instance of its own (about 8 KB each, measured) and a
 * provider's keep-alive sockets serve every account that calls it. Requests carry each account's own credentials;
 * accounts with client certificates (TLS options) get their own client. Closed with the pool, never by an account.
 */
export class HttpPool {
  readonly #clients = new Map<string, HttpClient>();
  readonly #closers: Array<() => void> = [];

  /** The shared client for these options (made on first use). Its `close` does nothing: the pool closes it. */
  clientFor(options: { timeoutMs: number; tls?: TlsOptions }): HttpClient {
    const key = JSON.stringify([options.timeoutMs, options.tls ?? null]);
    let client = this.#clients.get(key);
    if (client === undefined) {
      const made = createHttpClient({ ...options, maxSocketsPerHost: Number.POSITIVE_INFINITY });
      client = { send: (request, hooks) => made.send(request, hooks), close: () => undefined };
      this.#clients.set(key, client);
      this.#closers.push(() => made.close());
    }
    return client;
  }

  close(): void {
    for (const close of this.#closers) close();
    this.#closers.length = 0;
    this.#clients.clear();
  }
}
