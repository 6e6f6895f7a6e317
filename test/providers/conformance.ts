import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderAdapter, ProviderSession } from '../../src/providers/adapter.ts';
import { createHttpClient, type HttpClient } from '../../src/providers/http.ts';
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

/**
 * The shared conformance suite: runs an adapter against a real local HTTP server that answers as the
 * provider's documentation says, and checks both the outcome and what went over the wire.
 */
export function testProvider(options: {
  // biome-ignore lint/suspicious/noExplicitAny: any adapter
  adapter: ProviderAdapter<any, any>;
  handler: () => FakeHandler;
  account: { settings: unknown; credentials: Record<string, string> };
  cases: ConformanceCase[];
}): void {
  describe(`${options.adapter.id} conformance against a documented fake`, () => {
    let fake: FakeServer;
    let http: HttpClient;
    const sessions = new Map<string, ProviderSession<InviteFields>>();
    beforeAll(async () => {
      fake = await startFakeServer(options.handler());
      http = createHttpClient({ timeoutMs: 2000 });
    });
    afterAll(async () => {
      http.close();
      await fake.close();
    });

    for (const c of options.cases) {
      it(c.name, async () => {
        if (c.script) fake.script(...c.script);
        const invite = options.adapter.inviteSchema.parse(c.invite) as InviteFields;
        // One session per account, as in a worker: sign-ins and lookups carry over between cases.
        const settings = c.settings ?? options.account.settings;
        const credentials = c.credentials ?? options.account.credentials;
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
        const before = fake.requests.length;
        const [outcome] = await session.deliver([invite]);
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
  });
}
