import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** A request as the fake provider received it, kept for assertions. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  /** Epoch ms when the request arrived. */
  at: number;
}

/** What the fake answers. `hang` never answers (for timeouts); `reset` destroys the connection. */
export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Raw body text, sent as is (malformed JSON, ...). */
  rawBody?: string;
  delayMs?: number;
  hang?: boolean;
  reset?: boolean;
}

export type FakeHandler = (req: RecordedRequest) => FakeAnswer | Promise<FakeAnswer>;

/** A local HTTP server that records every request and answers through a handler. */
export interface FakeServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Answers to give before the handler is consulted, one per request, in order (for scripted sequences). */
  script(...answers: FakeAnswer[]): void;
  /** Requests received and not yet answered (hanging ones included). */
  inFlight(): number;
  close(): Promise<void>;
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function send(res: ServerResponse, answer: FakeAnswer): void {
  const body = answer.rawBody ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
  res.writeHead(answer.status ?? 200, {
    ...(body === '' || answer.rawBody !== undefined ? {} : { 'content-type': 'application/json' }),
    ...answer.headers,
  });
  res.end(body);
}

/** `tls`: serve HTTPS (with `requestCert` for mutual TLS) instead of HTTP. */
export async function startFakeServer(
  handler: FakeHandler,
  options: {
    port?: number;
    host?: string;
    tls?: HttpsOptions;
    /** Keep only the latest this many requests (a long-running sandbox must not grow forever); default all. */
    keepRequests?: number;
  } = {},
): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const scripted: FakeAnswer[] = [];
  const keep = options.keepRequests ?? Number.POSITIVE_INFINITY;
  let received = 0;
  let answered = 0;
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        json: parseJson(body),
        at: Date.now(),
      };
      requests.push(recorded);
      received += 1;
      // Dropped in slices, so trimming stays cheap at any rate.
      if (requests.length > keep) requests.splice(0, Math.max(requests.length - keep, Math.ceil(keep / 10)));
      let answer: FakeAnswer;
      try {
        answer = scripted.shift() ?? (await handler(recorded));
      } catch (error) {
        answer = { status: 500, body: { error: String(error) } };
      }
      if (answer.hang) return;
      if (answer.reset) {
        answered += 1;
        req.socket.destroy();
        return;
      }
      if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      answered += 1;
      if (!res.destroyed) send(res, answer);
    });
  };
  const server: Server = options.tls === undefined ? createServer(onRequest) : createHttpsServer(options.tls, onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    requests,
    script: (...answers) => scripted.push(...answers),
    inFlight: () => received - answered,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Wraps a handler with a fixed-window limit of `max` requests per `windowMs`; beyond it, 429 with
 * `Retry-After` in whole seconds (or none when `retryAfter` is false), as many real APIs do.
 */
export function withRateLimit(handler: FakeHandler, limit: { max: number; windowMs: number; retryAfter?: boolean; body?: unknown }): FakeHandler {
  let windowStart = 0;
  let count = 0;
  return (req) => {
    const now = Date.now();
    if (now - windowStart >= limit.windowMs) {
      windowStart = now;
      count = 0;
    }
    count += 1;
    if (count > limit.max) {
      const seconds = Math.max(1, Math.ceil((windowStart + limit.windowMs - now) / 1000));
      return { status: 429, headers: limit.retryAfter === false ? {} : { 'retry-after': String(seconds) }, body: limit.body ?? { error: 'Too many requests' } };
    }
    return handler(req);
  };
}
