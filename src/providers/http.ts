import http from 'node:http';
import https from 'node:https';
import got, { type Got } from 'got';
import type { HeaderBag } from '../policies/rate-limit-headers.ts';

/** A request an adapter wants sent. The URL is always built from the account's configured base URL. */
export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** Serialised body; adapters serialise themselves so they control number precision (UniBee int64). */
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: HeaderBag;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** What a caller learns about a request while it is sent. */
export interface SendHooks {
  /** The request was written to its socket (the provider sees it now): the call gate records the start then. */
  onWritten?: () => void;
}

/** The request never produced an HTTP answer: refused, reset, timed out, DNS, TLS. */
export interface NetworkFailure {
  status: undefined;
  code: string;
  message: string;
}

export type HttpResult = HttpResponse | NetworkFailure;

export interface TlsOptions {
  cert?: string;
  key?: string;
  ca?: string;
}

/**
 * Sends adapter requests. One client per account: keep-alive connections, no got retries (the queue retries).
 * An account with a rate limit sends through its call gate: `send` then waits for the account's next call slot,
 * and rejects with AccountHeld, sending nothing, while the account is held (a 429, a spent window). Sessions let
 * AccountHeld through: the job goes back to waiting without spending an attempt.
 */
export interface HttpClient {
  send(request: HttpRequest, hooks?: SendHooks): Promise<HttpResult>;
  close(): void;
}

/**
 * The account is held (a 429 or a spent window) for `ms` more: no call was sent. `backAt` (ms since the epoch):
 * the account gave its worker slot back meanwhile (src/worker/account-engine.ts) and runs again then.
 */
export class AccountHeld extends Error {
  readonly ms: number;
  readonly backAt: number | undefined;
  constructor(ms: number, backAt?: number) {
    super(`account held for ${ms} ms`);
    this.name = 'AccountHeld';
    this.ms = ms;
    this.backAt = backAt;
  }
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

export function jsonBody(value: unknown): string {
  return JSON.stringify(value);
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createHttpClient(options: {
  timeoutMs: number;
  tls?: TlsOptions;
  userAgent?: string;
  /** Sockets per host (default 256, one account's); a client shared by many accounts takes no bound of its own. */
  maxSocketsPerHost?: number;
}): HttpClient {
  const maxSockets = options.maxSocketsPerHost ?? 256;
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets, ...options.tls });
  const client: Got = got.extend({
    agent: { http: httpAgent, https: httpsAgent },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    timeout: { request: options.timeoutMs },
    headers: { 'user-agent': options.userAgent ?? 'invitebus' },
  });
  return {
    async send(request, hooks) {
      try {
        const call = client(request.url, {
          method: request.method,
          headers: request.headers,
          ...(request.body === undefined ? {} : { body: request.body }),
          responseType: 'text',
        });
        const onWritten = hooks?.onWritten;
        if (onWritten) call.on('request', (req: http.ClientRequest) => req.once('finish', onWritten));
        const res = await call;
        return { status: res.statusCode, headers: res.headers, body: res.body, json: parseJson(res.body) };
      } catch (error) {
        const err = error as { code?: string; message?: string };
        return { status: undefined, code: err.code ?? 'ERR_NETWORK', message: err.message ?? String(error) };
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
