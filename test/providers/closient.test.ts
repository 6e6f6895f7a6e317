import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { closient, inviteRequest, SHORTUUID, toOutcome } from '../../src/providers/closient/index.ts';
import { closientFake } from '../../src/providers/closient/sandbox.ts';
import type { HttpResponse } from '../../src/providers/http.ts';
import { testProvider } from './conformance.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const ORG = 'NBQ8ukvDUEUcFfYpRwbm4W';
const res = (status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers,
  body: JSON.stringify(body),
  json: body,
});
const e = (status: number, code: string, message: string, extra = {}) => ({ error: { code, message, status, ...extra } });
const MEMBER = { id: 'a2b3c4d5e6f7g8h9i2j3k4', user_email: 'a@x.io', user_name: '', user_metadata: {}, role: 'editor', role_display: 'Editor' };

describe('Closient answers → outcomes', () => {
  it.each([
    ['200 membership', res(200, MEMBER), { kind: 'invited', providerId: MEMBER.id }],
    ['409 CONFLICT', res(409, e(409, 'CONFLICT', 'already a member')), { kind: 'already_member' }],
    [
      '422 VALIDATION_ERROR names the fields',
      res(
        422,
        e(422, 'VALIDATION_ERROR', 'Invalid request', {
          details: [
            { field: 'email', message: 'Enter a valid email address.' },
            { field: 'role', message: 'Invalid role.' },
          ],
        }),
      ),
      { kind: 'rejected', fields: ['email', 'role'], message: 'Invalid request (email: Enter a valid email address.; role: Invalid role.)' },
    ],
    ['401', res(401, e(401, 'UNAUTHORIZED', 'Invalid API key')), { kind: 'auth_failed' }],
    ['403 is not retried', res(403, e(403, 'FORBIDDEN', 'no')), { kind: 'rejected' }],
    ['404 is not retried', res(404, e(404, 'NOT_FOUND', 'no org')), { kind: 'rejected' }],
    ['500', res(500, e(500, 'INTERNAL', 'oops')), { kind: 'retryable' }],
  ])('%s', (_n, r, expected) => expect(toOutcome(r, NOW)).toMatchObject(expected));

  it('429: Retry-After first', () => {
    expect(toOutcome(res(429, e(429, 'RATE_LIMITED', 'x', { retry_after_seconds: 30 }), { 'retry-after': '12', 'ratelimit-reset': '50' }), NOW)).toMatchObject({
      kind: 'rate_limited',
      waitMs: 12_000,
    });
  });
  it('429: else retry_after_seconds in the body', () => {
    expect(toOutcome(res(429, e(429, 'RATE_LIMITED', 'x', { retry_after_seconds: 30 }), { 'ratelimit-reset': '50' }), NOW)).toMatchObject({ waitMs: 30_000 });
  });
  it('429: else RateLimit-Reset', () => {
    expect(toOutcome(res(429, { error: { code: 'RATE_LIMITED' } }, { 'ratelimit-reset': '50' }), NOW)).toMatchObject({ waitMs: 50_000 });
  });
  it('reads the pace headers of every answer', () => {
    const out = toOutcome(res(200, MEMBER, { 'ratelimit-remaining': '0', 'ratelimit-reset': '37', 'ratelimit-policy': '300;w=60, 10000;w=86400' }), NOW);
    expect(out).toMatchObject({ kind: 'invited', pace: { remaining: 0, resetMs: 37_000 } });
  });
  it('a spent daily window asks for hours', () => {
    const out = toOutcome(res(200, MEMBER, { 'ratelimit-remaining': '0', 'ratelimit-reset': '30000' }), NOW);
    expect(out.pace?.resetMs).toBe(30_000_000);
  });
});

describe('Closient settings and request', () => {
  it.each(['NBQ8ukvDUEUcFfYpRwbm4W/..', '../NBQ8ukvDUEUcFfYpRwbm4', 'NBQ8ukvDUEUcFfYpRwbm4I', 'short', 'NBQ8ukvDUEUcFfYpRwbm4W0'])(
    'refuses the org id %j when the config loads',
    (orgId) => {
      expect(() => parseConfig({ accounts: { c: { provider: 'closient', orgId, credentials: { apiKey: { env: 'K' } } } } })).toThrow(
        /accounts\.c\.orgId: orgId must be/,
      );
    },
  );
  it('path-encodes the org id into the documented URL', () => {
    expect(SHORTUUID.test(ORG)).toBe(true);
    const req = inviteRequest({ orgId: ORG, credentials: { apiKey: { env: 'K' } } }, 'https://www.closient.dev', 'k', { email: 'a@x.io', role: 'editor' });
    expect(req.url).toBe(`https://www.closient.dev/account/api/v1/organizations/${ORG}/members`);
    expect(req.headers['x-api-key']).toBe('k');
  });
  it('defaults the role to editor and refuses others at enqueue', () => {
    expect(closient.inviteSchema.parse({ email: 'a@x.io' }).role).toBe('editor');
    expect(closient.inviteSchema.safeParse({ email: 'a@x.io', role: 'admin' }).error?.issues[0]?.message).toMatch(/allowed: owner, manager, billing, editor/);
  });
});

const fake = closientFake({ members: ['member@example.com'] });
testProvider({
  adapter: closient,
  handler: () => fake.handler,
  account: { settings: { orgId: ORG, credentials: { apiKey: { env: 'K' } } }, credentials: { apiKey: 'sandbox-closient-key' } },
  cases: [
    {
      name: 'sends the documented request and keeps the membership id',
      invite: { email: 'new@example.com', role: 'manager' },
      expect: {
        kind: 'invited',
        status: 200,
        providerId: expect.stringMatching(SHORTUUID),
        pace: { remaining: expect.any(Number), resetMs: expect.any(Number) },
      },
      request: {
        method: 'POST',
        path: `/account/api/v1/organizations/${ORG}/members`,
        headers: { 'x-api-key': 'sandbox-closient-key', 'content-type': 'application/json' },
        body: '{"email":"new@example.com","role":"manager"}',
      },
    },
    { name: 'treats 409 CONFLICT as already a member', invite: { email: 'member@example.com' }, expect: { kind: 'already_member', status: 409 } },
    { name: 'a wrong key is auth_failed', invite: { email: 'k@example.com' }, credentials: { apiKey: 'nope' }, expect: { kind: 'auth_failed', status: 401 } },
    {
      name: '422 names the failing fields',
      invite: { email: 'v@example.com' },
      script: [
        { status: 422, body: e(422, 'VALIDATION_ERROR', 'Invalid request', { details: [{ field: 'email', message: 'Enter a valid email address.' }] }) },
      ],
      expect: { kind: 'rejected', fields: ['email'] },
    },
    {
      name: '429 waits as long as Retry-After says',
      invite: { email: 'r@example.com' },
      script: [{ status: 429, headers: { 'retry-after': '17' }, body: e(429, 'RATE_LIMITED', 'slow', { retry_after_seconds: 17 }) }],
      expect: { kind: 'rate_limited', waitMs: 17_000 },
    },
  ],
});
