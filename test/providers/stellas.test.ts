import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpResponse } from '../../src/providers/http.ts';
import { stellas, toOutcome } from '../../src/providers/stellas/index.ts';
import { stellasFake } from '../../src/providers/stellas/sandbox.ts';
import { type FakeServer, startFakeServer } from '../../src/sandbox/server.ts';
import { testProvider } from './conformance.ts';

const res = (status: number, body: unknown): HttpResponse => ({ status, headers: {}, body: JSON.stringify(body), json: body });
const SIGN_IN = { secretKey: 'sandbox-secret-key', email: 'ops@acme.example', password: 'sandbox-password' };
const SETTINGS = { businessId: 'biz_123', credentials: { secretKey: { env: 'S' }, email: { env: 'E' }, password: { env: 'P' } } };

describe('Stellas answers → outcomes', () => {
  it.each([
    ['201 status true', res(201, { status: true, message: 'Invitation sent successfully' }), { kind: 'invited', status: 201 }],

    ['400', res(400, { status: false, message: 'email must be an email', data: null }), { kind: 'rejected', message: 'email must be an email' }],
    ['404', res(404, { status: false, message: 'Role not found', data: null }), { kind: 'rejected' }],

    ['401', res(401, { status: false, message: 'Unauthorized', data: null }), { kind: 'auth_failed' }],
    ['403', res(403, { status: false, message: 'Forbidden', data: null }), { kind: 'auth_failed' }],

    ['500', res(500, { status: false, message: 'Internal server error', data: null }), { kind: 'retryable', status: 500 }],
    ['429', res(429, { status: false, message: 'slow down', data: null }), { kind: 'rate_limited' }],
  ])('%s', (_n, r, expected) => expect(toOutcome(r)).toMatchObject(expected));

  it.each([
    ['200 status false (failure under 200)', res(200, { status: false, message: 'A member with this email already exists', data: null })],
    ['201 status false', res(201, { status: false, message: 'odd', data: null })],
    ['409', res(409, { status: false, message: 'exists', data: null })],
    ['422', res(422, { status: false, message: 'Unprocessable', data: null })],
  ])('%s may mean "already a member": the member list settles it', (_n, r) => expect(toOutcome(r)).toBe('member_check'));
});

describe('Stellas invite validation', () => {
  it('needs exactly one of memberRoleId or role', () => {
    expect(stellas.inviteSchema.safeParse({ email: 'a@x.io' }).success).toBe(false);
    expect(stellas.inviteSchema.safeParse({ email: 'a@x.io', memberRoleId: 'r1', role: 'Admin' }).success).toBe(false);
    expect(stellas.inviteSchema.parse({ email: 'a@x.io', role: 'Admin' })).toEqual({ email: 'a@x.io', role: 'Admin' });
  });
  it.each(['{"$ne":1}', '../admin', 'a/b', 'x\ny'])('refuses the role %j', (role) => {
    expect(stellas.inviteSchema.safeParse({ email: 'a@x.io', role }).success).toBe(false);
    expect(stellas.inviteSchema.safeParse({ email: 'a@x.io', memberRoleId: role }).success).toBe(false);
  });
  it('needs sign-in credentials or an access token', () => {
    expect(stellas.settingsSchema.safeParse({ businessId: 'b', credentials: { secretKey: { env: 'S' } } }).success).toBe(false);
    expect(stellas.settingsSchema.safeParse({ businessId: 'b', credentials: { secretKey: { env: 'S' }, accessToken: { env: 'T' } } }).success).toBe(true);
  });
});

const fake = stellasFake({ members: ['member@example.com'] });
testProvider({
  adapter: stellas,
  handler: () => fake.handler,
  account: { settings: SETTINGS, credentials: SIGN_IN },
  cases: [
    {
      name: 'signs in, then sends the documented request with all three credentials',
      invite: { email: 'newmember@example.com', memberRoleId: 'role_abc123' },
      expect: { kind: 'invited', status: 201 },
      request: {
        method: 'POST',
        path: '/clients/members',
        headers: { SECRET_KEY: 'sandbox-secret-key', businessId: 'biz_123', 'content-type': 'application/json' },
        body: '{"email":"newmember@example.com","memberRoleId":"role_abc123"}',
      },
    },
    { name: 'resolves a role name through GET /clients/members/roles', invite: { email: 'byname@example.com', role: 'member' }, expect: { kind: 'invited' } },
    {
      name: 'rejects an unknown role name without sending the invite',
      invite: { email: 'x@example.com', role: 'Owner' },
      requests: 0,
      expect: { kind: 'rejected', message: expect.stringContaining("role 'Owner' does not exist") },
    },
    {
      name: 'settles status:false under HTTP 200 with the member list: a member is already_member',
      invite: { email: 'member@example.com', memberRoleId: 'role_abc123' },
      expect: { kind: 'already_member', status: 200 },
    },
    {
      name: 'maps a refused sign-in to auth_failed',
      invite: { email: 'f@example.com', memberRoleId: 'role_abc123' },
      credentials: { ...SIGN_IN, password: 'wrong' },
      expect: { kind: 'auth_failed' },
    },
  ],
  contract: {
    invite: (email) => ({ email, memberRoleId: 'role_abc123' }),
    // The contract answers the invite call only: sign-ins (and lookups) keep the fake's documented behaviour.
    isInviteCall: (req) => req.method === 'POST' && req.path === '/clients/members',
    // A 401 means an expired session token: the adapter signs in again and retries once; the second 401 is final.
    unauthorizedCalls: 2,
  },
});

describe('Stellas session', () => {
  let server: FakeServer;
  const http = createHttpClient({ timeoutMs: 2000 });
  const f = stellasFake();
  beforeAll(async () => {
    server = await startFakeServer(f.handler);
  });
  afterAll(async () => {
    http.close();
    await server.close();
  });
  const session = (credentials: Record<string, string> = SIGN_IN) =>
    stellas.createSession({ name: 's', baseUrl: server.url, settings: stellas.settingsSchema.parse(SETTINGS), credentials, http });

  it('signs in once for 20 concurrent invites and looks roles up once', async () => {
    const before = { ...f.stats };
    const s = session();
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => s.deliver({ email: `c${i}@example.com`, role: 'Admin' })));
    expect(outcomes.flat().every((o) => o.kind === 'invited')).toBe(true);
    expect(f.stats.signIns - before.signIns).toBe(1);
    expect(f.stats.roleLookups - before.roleLookups).toBe(1);
  });

  it('on an expired token signs in again once and retries, shared by concurrent jobs', async () => {
    const s = session();
    await s.deliver({ email: 'warm@example.com', memberRoleId: 'role_abc123' });
    f.expireTokens();
    const before = f.stats.signIns;
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => s.deliver({ email: `x${i}@example.com`, memberRoleId: 'role_abc123' })));
    expect(outcomes.flat().every((o) => o.kind === 'invited')).toBe(true);
    expect(f.stats.signIns - before).toBe(1);
  });

  it('a second 401 after re-sign-in is auth_failed', async () => {
    const s = session({ ...SIGN_IN, secretKey: 'rotated' });
    const before = f.stats.signIns;
    const outcome = await s.deliver({ email: 'y@example.com', memberRoleId: 'role_abc123' });
    expect(outcome).toMatchObject({ kind: 'auth_failed', status: 401 });
    expect(f.stats.signIns - before).toBe(2); // the first sign-in and exactly one re-sign-in
  });

  it('with a fixed access token, a 401 is auth_failed without any sign-in', async () => {
    const before = f.stats.signIns;
    const outcome = await session({ secretKey: 'sandbox-secret-key', accessToken: 'expired-jwt' }).deliver({
      email: 'z@example.com',
      memberRoleId: 'role_abc123',
    });
    expect(outcome).toMatchObject({ kind: 'auth_failed' });
    expect(f.stats.signIns).toBe(before);
  });

  it('a rate-limited sign-in (429) is rate_limited, not an auth failure', async () => {
    server.script({ status: 429, headers: { 'retry-after': '3' }, body: { status: false, message: 'Too many requests', data: null } });
    const outcome = await session().deliver({ email: 'limited-signin@example.com', memberRoleId: 'role_abc123' });
    expect(outcome).toMatchObject({ kind: 'rate_limited', waitMs: 3000 });
  });

  it('retries a sign-in that failed with 5xx (p-retry), then succeeds', async () => {
    server.script({ status: 503, body: { status: false, message: 'busy', data: null } });
    const outcome = await session().deliver({ email: 'retry-signin@example.com', memberRoleId: 'role_abc123' });
    expect(outcome).toMatchObject({ kind: 'invited' });
  });
});
