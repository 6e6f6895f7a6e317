import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderAdapter, ProviderSession } from '../../src/providers/adapter.ts';
import { AccountHeld, createHttpClient, type HttpClient } from '../../src/providers/http.ts';
import { type FakeAnswer, type FakeHandler, type FakeServer, type RecordedRequest, startFakeServer } from '../../src/sandbox/server.ts';
import type { InviteFields, Outcome } from '../../src/types.ts';

export interface ConformanceCase {
  name: string;
  invite: Record<string, unknown>;
  /** Overrides of the account's settings and credentials for this case. */
  settings?: unknown;
  credentials?: Record<string, string>;
  /** Answers the fake gives first, before its documented behaviour. */
  script?: FakeAnswer[];
  expect: Partial<Outcome> & { kind: Outcome['kind'] };
  /** How many requests the fake must have received for this case (default: at least one). */
  requests?: number;
  /** What the fake must have received for this invite's last request. */
  request?: { method?: string; path?: string; headers?: Record<string, string>; body?: string; query?: Record<string, string> };
}

/** What a contract case expects: the outcome kind, the HTTP status, and the wait (exact, about, or absent). */
export interface ContractExpectation {
  kind: Outcome['kind'];
  status?: number;
  waitMs?: number | 'absent' | { about: number; within: number };
}

/** The shared contract every adapter runs: the answers any HTTP API can give, whatever its documentation says. */
export const CONTRACT_CASES = [
  'connection reset',
  'timeout',
  '500',
  '502 with an HTML body',
  '503 with Retry-After',
  '503 without Retry-After',
  '429 with Retry-After seconds',
  '429 with an HTTP-date Retry-After and a skewed Date',
  '429 without any header',
  'a non-JSON 200',
  'an unknown 4xx (418)',
  '401',
] as const;
export type ContractCaseName = (typeof CONTRACT_CASES)[number];

export interface ContractOptions {
  /** The invite each contract case sends for a fresh address (default `{ email }`). */
  invite?: (email: string) => Record<string, unknown>;
  /**
   * Which requests are the invite call: the contract's answers go to these only, while sign-ins and lookups
   * get the fake's documented behaviour, whatever state the session is in (default: every request).
   */
  isInviteCall?: (req: RecordedRequest) => boolean;
  /** Invite calls a refused token takes before auth_failed (default 1; Stellas signs in again and retries once). */
  unauthorizedCalls?: number;
  /**
   * The documented outcome where a provider's documentation genuinely differs from the default. Every case
   * runs for every provider: a case that cannot apply is declared here with its documented outcome, never skipped.
   */
  expect?: Partial<Record<ContractCaseName, ContractExpectation>>;
}

type HttpRequestLike = Parameters<HttpClient['send']>[0];

const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

interface ContractCase {
  name: ContractCaseName;
  /** Answers to the invite calls, built when the case runs (dates are relative to now). */
  answers: (options: ContractOptions) => FakeAnswer[];
  expect: ContractExpectation;
}

/** Retry-After as an HTTP-date 30 s after a `Date` header one hour behind our clock: only the provider's clock counts. */
function skewedRetryAfter(): FakeAnswer {
  const date = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  return {
    status: 429,
    headers: { date: new Date(date).toUTCString(), 'retry-after': new Date(date + 30_000).toUTCString() },
    body: { message: 'Too many requests' },
  };
}

const CONTRACT: ContractCase[] = [
  { name: 'connection reset', answers: () => [{ reset: true }], expect: { kind: 'retryable' } },
  { name: 'timeout', answers: () => [{ hang: true }], expect: { kind: 'retryable' } },
  { name: '500', answers: () => [{ status: 500, body: { message: 'Internal server error' } }], expect: { kind: 'retryable', status: 500, waitMs: 'absent' } },
  {
    name: '502 with an HTML body',
    answers: () => [{ status: 502, headers: { 'content-type': 'text/html' }, rawBody: HTML_502 }],
    expect: { kind: 'retryable', status: 502, waitMs: 'absent' },
  },
  {
    name: '503 with Retry-After',
    answers: () => [{ status: 503, headers: { 'retry-after': '12' }, body: { message: 'Service unavailable' } }],
    expect: { kind: 'retryable', status: 503, waitMs: 12_000 },
  },
  {
    name: '503 without Retry-After',
    answers: () => [{ status: 503, body: { message: 'Service unavailable' } }],
    expect: { kind: 'retryable', status: 503, waitMs: 'absent' },
  },
  {
    name: '429 with Retry-After seconds',
    answers: () => [{ status: 429, headers: { 'retry-after': '7' }, body: { message: 'Too many requests' } }],
    expect: { kind: 'rate_limited', status: 429, waitMs: 7000 },
  },
  {
    name: '429 with an HTTP-date Retry-After and a skewed Date',
    answers: () => [skewedRetryAfter()],
    expect: { kind: 'rate_limited', status: 429, waitMs: { about: 30_000, within: 1000 } },
  },
  {
    name: '429 without any header',
    answers: () => [{ status: 429, body: { message: 'Too many requests' } }],
    expect: { kind: 'rate_limited', status: 429, waitMs: 'absent' },
  },
  {
    name: 'a non-JSON 200',
    answers: () => [{ status: 200, headers: { 'content-type': 'text/plain' }, rawBody: 'OK' }],
    expect: { kind: 'invited', status: 200 },
  },
  { name: 'an unknown 4xx (418)', answers: () => [{ status: 418, body: { message: "I'm a teapot" } }], expect: { kind: 'rejected', status: 418 } },
  {
    name: '401',
    answers: (o) => Array.from({ length: o.unauthorizedCalls ?? 1 }, () => ({ status: 401, body: { message: 'Unauthorized' } })),
    expect: { kind: 'auth_failed', status: 401 },
  },
];

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/**
 * The shared conformance suite: runs an adapter against a real local HTTP server that answers as the
 * provider's documentation says, and checks both the outcome and what went over the wire. Every adapter
 * also runs the shared contract (CONTRACT_CASES): the file's `cases` are its provider-specific ones.
 */
export function testProvider(options: {
  // biome-ignore lint/suspicious/noExplicitAny: any adapter
  adapter: ProviderAdapter<any, any>;
  handler: () => FakeHandler;
  account: { settings: unknown; credentials: Record<string, string> };
  cases: ConformanceCase[];
  contract?: ContractOptions;
}): void {
  const contract = options.contract ?? {};
  for (const name of Object.keys(contract.expect ?? {})) {
    if (!(CONTRACT_CASES as readonly string[]).includes(name)) throw new Error(`${options.adapter.id}: no contract case named '${name}'`);
  }

  describe(`${options.adapter.id} conformance against a documented fake`, () => {
    let fake: FakeServer;
    let http: HttpClient;
    const sessions = new Map<string, ProviderSession<InviteFields>>();
    /** The contract's answers for the invite calls, and how many invite calls the current case made. */
    const contractAnswers: FakeAnswer[] = [];
    let inviteCalls = 0;
    const isInviteCall = contract.isInviteCall ?? (() => true);
    beforeAll(async () => {
      const handler = options.handler();
      fake = await startFakeServer((req) => {
        if (!isInviteCall(req)) return handler(req);
        inviteCalls += 1;
        return contractAnswers.shift() ?? handler(req);
      });
      http = createHttpClient({ timeoutMs: 2000 });
    });
    afterAll(async () => {
      for (const session of sessions.values()) session.close();
      http.close();
      await fake.close();
    });

    function sessionFor(settings: unknown, credentials: Record<string, string>): ProviderSession<InviteFields> {
      // One session per account, as in a worker: sign-ins and lookups carry over between cases.
      const key = JSON.stringify([settings, credentials]);
      let session = sessions.get(key);
      if (session === undefined) {
        session = options.adapter.createSession({
          name: 'conformance',
          baseUrl: fake.url,
          settings: options.adapter.settingsSchema.parse(settings),
          credentials,
          http,
        });
        sessions.set(key, session);
      }
      return session;
    }

    for (const c of options.cases) {
      it(c.name, async () => {
        if (c.script) fake.script(...c.script);
        const invite = options.adapter.inviteSchema.parse(c.invite) as InviteFields;
        const session = sessionFor(c.settings ?? options.account.settings, c.credentials ?? options.account.credentials);
        const before = fake.requests.length;
        const outcome = await session.deliver(invite);
        expect(outcome).toMatchObject(c.expect);
        const received: RecordedRequest[] = fake.requests.slice(before);
        if (c.requests === undefined) expect(received.length).toBeGreaterThan(0);
        else expect(received).toHaveLength(c.requests);
        if (c.request) {
          const last = received.at(-1) as RecordedRequest;
          if (c.request.method) expect(last.method).toBe(c.request.method);
          if (c.request.path) expect(last.path).toBe(c.request.path);
          if (c.request.body !== undefined) expect(last.body).toBe(c.request.body);
          for (const [k, v] of Object.entries(c.request.headers ?? {})) expect(last.headers[k.toLowerCase()]).toBe(v);
          for (const [k, v] of Object.entries(c.request.query ?? {})) expect(last.query.get(k)).toBe(v);
        }
      });
    }

    // One invite per call: the account's call gate sits in the HTTP client (Sutro takes its call slot itself).
    if (options.adapter.batching === undefined) {
      it('a held account: deliver rejects with AccountHeld and sends nothing (the job goes back to waiting, no attempt spent)', async () => {
        const sent: HttpRequestLike[] = [];
        const held: HttpClient = {
          send: async (request) => {
            sent.push(request);
            throw new AccountHeld(1_000);
          },
          close() {},
        };
        const session = options.adapter.createSession({
          name: 'held',
          baseUrl: fake.url,
          settings: options.adapter.settingsSchema.parse(options.account.settings),
          credentials: options.account.credentials,
          http: held,
        });
        const invite = options.adapter.inviteSchema.parse(contract.invite?.('held@example.com') ?? { email: 'held@example.com' }) as InviteFields;
        try {
          await expect(session.deliver(invite)).rejects.toBeInstanceOf(AccountHeld);
          expect(sent).toHaveLength(1); // asked once, not retried
        } finally {
          session.close();
        }
      });
    }

    describe('shared contract', () => {
      for (const c of CONTRACT) {
        const expected = contract.expect?.[c.name] ?? c.expect;
        const wait = expected.waitMs;
        const label = `${c.name} → ${expected.kind}${typeof wait === 'number' ? ` (waitMs ${wait})` : typeof wait === 'object' ? ` (waitMs ≈ ${wait.about})` : ''}`;
        it(label, async () => {
          const email = `contract-${slug(c.name)}@example.com`;
          const invite = options.adapter.inviteSchema.parse(contract.invite?.(email) ?? { email }) as InviteFields;
          const session = sessionFor(options.account.settings, options.account.credentials);
          const answers = c.answers(contract);
          contractAnswers.length = 0;
          contractAnswers.push(...answers);
          inviteCalls = 0;
          let outcome: Outcome | undefined;
          try {
            outcome = await session.deliver(invite);
          } finally {
            const left = contractAnswers.splice(0);
            // Every answer reached the adapter, one invite call each: no answer went unread, no hidden retry.
            expect(left, 'answers the adapter never asked for').toEqual([]);
            expect(inviteCalls, 'invite calls').toBe(answers.length);
          }
          expect(outcome?.kind).toBe(expected.kind);
          if (expected.status !== undefined) expect(outcome).toHaveProperty('status', expected.status);
          const waitMs = (outcome as { waitMs?: number } | undefined)?.waitMs;
          if (wait === 'absent') expect(outcome).not.toHaveProperty('waitMs');
          else if (typeof wait === 'number') expect(waitMs).toBe(wait);
          else if (wait !== undefined) {
            expect(waitMs).toBeGreaterThanOrEqual(wait.about - wait.within);
            expect(waitMs).toBeLessThanOrEqual(wait.about + wait.within);
          }
        });
      }
    });
  });
}
