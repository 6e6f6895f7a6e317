import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCredentials } from '../../src/config/credentials.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createHttpClient, type HttpResponse } from '../../src/providers/http.ts';
import { sutro, toOutcome } from '../../src/providers/sutro/index.ts';
import { sutroFake } from '../../src/providers/sutro/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { makeCerts } from '../support/certs.ts';
import { testProvider } from './conformance.ts';

const res = (status: number, body?: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: body === undefined ? '' : JSON.stringify(body),
  json: body,
});
const SETTINGS = { credentials: { token: { env: 'T' } } };
const TOKEN = 'sandbox-sutro-jwt';

describe('Sutro answers → outcomes', () => {
  it.each([
    ['201', res(201, { success: true, message: 'Invitations sent' }), 3, { kind: 'invited', status: 201 }],
    ['409 on one address', res(409), 1, { kind: 'already_member', status: 409 }],
    ['401', res(401), 3, { kind: 'auth_failed' }],
    ['403', res(403), 1, { kind: 'rejected' }],
    ['404', res(404), 1, { kind: 'rejected' }],
    ['405', res(405), 2, { kind: 'rejected' }],
    ['429 without headers', res(429), 4, { kind: 'rate_limited' }],
    ['429 with Retry-After', res(429, undefined, { 'retry-after': '3' }), 1, { kind: 'rate_limited', waitMs: 3000 }],
    ['503', res(503), 2, { kind: 'retryable' }],
  ])('%s (%i addresses)', (_n, r, count, expected) => expect(toOutcome(r, count)).toMatchObject(expected));

  it.each([409, 400, 422])('a %i on a multi-address call must be resolved address by address', (status) => {
    expect(toOutcome(res(status), 5)).toBe('split');
  });

  it('requires a configured base URL (none is published)', () => {
    expect(() => parseConfig({ accounts: { s: { provider: 'sutro', credentials: { token: { env: 'T' } } } } })).toThrow(
      /accounts\.s\.baseUrl: sutro publishes no base URL/,
    );
  });
});

const fake = sutroFake({ members: ['member@example.com'] });
testProvider({
  adapter: sutro,
  handler: () => fake.handler,
  account: { settings: SETTINGS, credentials: { token: TOKEN } },
  cases: [
    {
      name: 'sends the documented request',
      invite: { email: 'one@example.com' },
      expect: { kind: 'invited', status: 201 },
      request: {
        method: 'POST',
        path: '/invitations',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{"emailAddresses":["one@example.com"]}',
      },
    },
    { name: 'treats a 409 for one address as already a member', invite: { email: 'member@example.com' }, expect: { kind: 'already_member', status: 409 } },
    { name: 'a bad token is auth_failed', invite: { email: 'x@example.com' }, credentials: { token: 'bad' }, expect: { kind: 'auth_failed', status: 401 } },
  ],
});

describe('Sutro batching', () => {
  let server: FakeServer;
  const f = sutroFake({ members: ['m1@example.com', 'm2@example.com'] });
  const http = createHttpClient({ timeoutMs: 2000 });
  beforeAll(async () => {
    server = await startFakeServer(f.handler);
  });
  afterAll(async () => {
    http.close();
    await server.close();
  });
  const session = (addressesPerCall: number) =>
    sutro.createSession({
      name: 's',
      baseUrl: server.url,
      settings: sutro.settingsSchema.parse({ ...SETTINGS, addressesPerCall }),
      credentials: { token: TOKEN },
      http,
    });

  it('combines concurrent invites into calls of at most addressesPerCall, each invite with its own outcome', async () => {
    const s = session(25);
    const before = f.stats.callSizes.length;
    const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => s.deliver({ email: `b${i}@example.com` })));
    expect(outcomes.every((o) => o.kind === 'invited')).toBe(true);
    expect(f.stats.callSizes.slice(before)).toEqual([25, 25, 10]);
  });

  it('close() stops the linger timer and settles waiting invites as retryable, sending nothing', async () => {
    const lingering = sutro.createSession({
      name: 's',
      baseUrl: server.url,
      settings: sutro.settingsSchema.parse({ ...SETTINGS, addressesPerCall: 10, callLingerMs: 1000 }),
      credentials: { token: TOKEN },
      http,
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = server.requests.length;
    const idle = timers();
    const waiting = lingering.deliver({ email: 'closing@example.com' });
    await new Promise((r) => setImmediate(r));
    expect(timers()).toBe(idle + 1);
    lingering.close();
    expect(await waiting).toMatchObject({ kind: 'retryable', message: expect.stringMatching(/closed/) });
    expect(timers()).toBe(idle);
    expect(await lingering.deliver({ email: 'after@example.com' })).toMatchObject({ kind: 'retryable' });
    expect(server.requests.length).toBe(before);
  });

  it('resolves a 409 on a batch address by address, so each job gets its true outcome', async () => {
    const s = session(10);
    const start = server.requests.length;
    const emails = ['n1@example.com', 'm1@example.com', 'n2@example.com', 'M2@example.com', 'n3@example.com'];
    const outcomes = await Promise.all(emails.map((email) => s.deliver({ email })));
    expect(outcomes.map((o) => o.kind)).toEqual(['invited', 'already_member', 'invited', 'already_member', 'invited']);
    const calls = server.requests.slice(start).map((r) => (r.json as { emailAddresses: string[] }).emailAddresses.length);
    expect(calls).toEqual([5, 1, 1, 1, 1, 1]);
  });
});

describe('Sutro mutual TLS', () => {
  it('presents the client certificate from files; without it the server refuses the connection', async () => {
    const certs = makeCerts();
    const server = await startFakeServer(sutroFake().handler, {
      tls: { key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
    });
    const refs = {
      token: { env: 'T' },
      clientCert: { file: certs.file('client.pem') },
      clientKey: { file: certs.file('client.key') },
      ca: { file: certs.file('ca.pem') },
    };
    const { values, problems } = resolveCredentials('s', refs, { T: TOKEN }, certs.dir);
    expect(problems).toEqual([]);
    const tls = sutro.tls(values);
    const withCert = createHttpClient({ timeoutMs: 2000, ...(tls ? { tls } : {}) });
    const withoutCert = createHttpClient({ timeoutMs: 2000, tls: { ca: certs.ca } });
    try {
      const settings = sutro.settingsSchema.parse({ ...SETTINGS, callLingerMs: 0 });
      const ok = await sutro
        .createSession({ name: 's', baseUrl: server.url, settings, credentials: values, http: withCert })
        .deliver({ email: 'tls@example.com' });
      expect(ok).toMatchObject({ kind: 'invited' });
      const refused = await sutro
        .createSession({ name: 's', baseUrl: server.url, settings, credentials: values, http: withoutCert })
        .deliver({ email: 'notls@example.com' });
      expect(refused).toMatchObject({ kind: 'retryable' });
      expect(server.requests).toHaveLength(1);
    } finally {
      withCert.close();
      withoutCert.close();
      await server.close();
    }
  });
});
