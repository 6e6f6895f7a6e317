import { describe, expect, it } from 'vitest';
import { betterstack, buildRequest, toOutcome } from '../../src/providers/betterstack/index.ts';
import { betterstackBodies as B, betterstackHandler } from '../../src/providers/betterstack/sandbox.ts';
import type { HttpResponse } from '../../src/providers/http.ts';
import { testProvider } from './conformance.ts';

function res(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  const text = JSON.stringify(body);
  return { status, headers, body: text, json: body };
}

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('Better Stack answers → outcomes (every documented response)', () => {
  it.each([
    ['201 invitation sent', res(201, B.invited('a@x.io', 'member')), { kind: 'invited', status: 201, providerId: '202' }],
    ['200 already a member', res(200, B.alreadyMember('a@x.io')), { kind: 'already_member', status: 200, providerId: '101' }],
    ['422 invalid role', res(422, B.invalidRole), { kind: 'rejected', status: 422, message: B.invalidRole.errors }],
    ['422 invalid email', res(422, B.invalidEmail), { kind: 'rejected', status: 422, message: B.invalidEmail.errors }],
    ['422 missing email', res(422, B.missingEmail), { kind: 'rejected', status: 422 }],
    ['422 quota', res(422, B.quota), { kind: 'account_blocked', reason: 'quota', status: 422 }],
    ['422 multiple teams', res(422, B.multipleTeams), { kind: 'account_blocked', reason: 'config', status: 422 }],
    ['403 admin', res(403, B.admin), { kind: 'rejected', status: 403 }],
    ['403 read-only token', res(403, B.readOnly), { kind: 'auth_failed', status: 403 }],
    ['401 invalid token', res(401, B.unauthorized), { kind: 'auth_failed', status: 401 }],
    ['429 without Retry-After', res(429, B.tooMany), { kind: 'rate_limited', status: 429, message: B.tooMany.errors }],
    ['429 with Retry-After seconds', res(429, B.tooMany, { 'retry-after': '2' }), { kind: 'rate_limited', waitMs: 2000 }],
    ['429 with Retry-After date', res(429, B.tooMany, { 'retry-after': 'Sat, 21 Nov 2026 12:00:09 GMT' }), { kind: 'rate_limited', waitMs: 9000 }],
    ['500', res(500, { errors: 'oops' }), { kind: 'retryable', status: 500 }],
    ['503 with Retry-After', res(503, {}, { 'retry-after': '30' }), { kind: 'retryable', status: 503, waitMs: 30_000 }],
    ['404 undocumented', res(404, { errors: 'Not found' }), { kind: 'rejected', status: 404 }],
  ])('%s', (_name, response, expected) => {
    expect(toOutcome(response, NOW)).toMatchObject(expected);
  });

  it('maps a non-JSON error body without crashing, keeping the text as the message', () => {
    expect(toOutcome({ status: 502, headers: {}, body: '<html>Bad gateway</html>', json: undefined }, NOW)).toMatchObject({
      kind: 'retryable',
      message: '<html>Bad gateway</html>',
    });
  });
  it('429 with garbage Retry-After falls back to our own backoff (no waitMs)', () => {
    expect(toOutcome(res(429, B.tooMany, { 'retry-after': 'soon' }), NOW)).not.toHaveProperty('waitMs');
  });
});

describe('Better Stack request', () => {
  it('posts email and role with the bearer token, team_name in the query when configured', () => {
    const req = buildRequest({ teamName: 'Acme Ops', credentials: { token: { env: 'T' } } }, 'https://betterstack.com/', 'tok', {
      email: 'a@x.io',
      role: 'member',
    });
    expect(req).toEqual({
      method: 'POST',
      url: 'https://betterstack.com/api/v2/team-members?team_name=Acme%20Ops',
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json', accept: 'application/json' },
      body: '{"email":"a@x.io","role":"member"}',
    });
  });
});

describe('Better Stack invite validation', () => {
  it('defaults the role to responder', () => {
    expect(betterstack.inviteSchema.parse({ email: 'a@x.io' })).toEqual({ email: 'a@x.io', role: 'responder' });
  });
  it('refuses admin before anything is sent', () => {
    const r = betterstack.inviteSchema.safeParse({ email: 'a@x.io', role: 'admin' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/admin cannot be invited/);
  });
  it.each(['owner', 'Member', '../x', '{"a":1}'])('refuses the role %j with the allowed list', (role) => {
    const r = betterstack.inviteSchema.safeParse({ email: 'a@x.io', role });
    expect(r.error?.issues[0]?.message).toMatch(/allowed: responder, member, team_lead, billing_admin/);
  });
  it.each(['not-an-email', 'a@x.io\r\nBcc: evil@x.io', 'a@x.io\n', '', `${'a'.repeat(250)}@x.io`])('refuses the address %j', (email) => {
    expect(betterstack.inviteSchema.safeParse({ email }).success).toBe(false);
  });
});

testProvider({
  adapter: betterstack,
  handler: () => betterstackHandler({ tokens: ['bs-team-token'], members: ['alice@example.com'], globalTokens: ['bs-global'] }),
  account: { settings: { credentials: { token: { env: 'T' } } }, credentials: { token: 'bs-team-token' } },
  cases: [
    { name: 'invites a new address (201)', invite: { email: 'new.user@example.com', role: 'member' }, expect: { kind: 'invited', status: 201 } },
    {
      name: 'treats 200 "already a member" as success',
      invite: { email: 'alice@example.com', role: 'responder' },
      expect: { kind: 'already_member', status: 200 },
    },
    {
      name: 'sends exactly the documented request',
      invite: { email: 'wire@example.com', role: 'team_lead' },
      expect: { kind: 'invited' },
      request: {
        method: 'POST',
        path: '/api/v2/team-members',
        headers: { authorization: 'Bearer bs-team-token', 'content-type': 'application/json' },
        body: '{"email":"wire@example.com","role":"team_lead"}',
      },
    },
    {
      name: 'reports a refused token as auth_failed',
      invite: { email: 'x@example.com', role: 'member' },
      credentials: { token: 'wrong' },
      expect: { kind: 'auth_failed', status: 401 },
    },
    {
      name: 'sends team_name for a global token',
      invite: { email: 'g@example.com', role: 'member' },
      settings: { teamName: 'Acme', credentials: { token: { env: 'T' } } },
      credentials: { token: 'bs-global' },
      expect: { kind: 'invited' },
      request: { query: { team_name: 'Acme' } },
    },
    {
      name: 'reports a global token without team_name as an account configuration error',
      invite: { email: 'g2@example.com', role: 'member' },
      credentials: { token: 'bs-global' },
      expect: { kind: 'account_blocked', reason: 'config' },
    },
  ],
  contract: {
    // Better Stack documents 200 as "already a member" (a success) and 201 as "invitation sent": the status
    // decides, whatever the body.
    expect: { 'a non-JSON 200': { kind: 'already_member', status: 200 } },
  },
});
