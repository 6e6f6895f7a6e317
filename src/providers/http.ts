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

/** Requests sent again after dying unread on a reused keep-alive connection (each on the next idle or a new one). */
const STALE_SOCKET_RETRIES = 3;
/**
 * A reused connection idle this long (ms) may have met its server's idle timeout (Node's default 5 s, load
 * balancers' tens of seconds); one reused sooner was closed for another reason, after its request was read.
 */
const STALE_IDLE_MS = 1_000;

/** One sending of a request: its answer, or its failure and whether it was on a keep-alive connection idle STALE_IDLE_MS. */
type Attempt = HttpResponse | (NetworkFailure & { stale: boolean });

/** A failure on a stale keep-alive connection that died before its request was read (ECONNRESET or EPIPE). */
const diedUnread = (a: Attempt): boolean => a.status === undefined && a.stale && (a.code === 'ECONNRESET' || a.code === 'EPIPE');

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
  // When each keep-alive connection was last given back to the pool: how long a reused one had been idle.
  const freedAt = new WeakMap<object, number>();
  for (const agent of [httpAgent, httpsAgent]) agent.on('free', (socket: object) => freedAt.set(socket, Date.now()));
  const attempt = async (request: HttpRequest, hooks: SendHooks | undefined): Promise<Attempt> => {
    let stale = false;
    try {
      const call = client(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        responseType: 'text',
      });
      const onWritten = hooks?.onWritten;
      call.on('request', (req: http.ClientRequest) => {
        req.once('socket', (socket) => {
          stale = req.reusedSocket && Date.now() - (freedAt.get(socket) ?? Date.now()) >= STALE_IDLE_MS;
        });
        if (onWritten) req.once('finish', onWritten);
      });
      const res = await call;
      return { status: res.statusCode, headers: res.headers, body: res.body, json: parseJson(res.body) };
    } catch (error) {
      const err = error as { code?: string; message?: string };
      return { status: undefined, code: err.code ?? 'ERR_NETWORK', message: err.message ?? String(error), stale };
    }
  };
  return {
    async send(request, hooks) {
      // A keep-alive connection idle for a while that the server closed as it was reused (its idle timeout fired):
      // the request died unread, so it goes again at once, within the same call (Node's `request.reusedSocket`
      // pattern), on the next idle connection or a fresh one. Any other reset (a fresh connection, or one reused at
      // once, whose server read the request) is the queue's to retry.
      let result = await attempt(request, hooks);
      for (let again = 0; again < STALE_SOCKET_RETRIES && diedUnread(result); again++) result = await attempt(request, hooks);
      if (result.status !== undefined) return result;
      const { stale: _stale, ...failure } = result;
      return failure;
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
