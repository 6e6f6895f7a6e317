import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../src/providers/http.ts';
import { newMemberBody, toOutcome, unibee } from '../../src/providers/unibee/index.ts';
import { rawRoleIds, unibeeFake } from '../../src/providers/unibee/sandbox.ts';
import { testProvider } from './conformance.ts';

const env = (status: number, code: number, message: string, requestId = 'req-1'): HttpResponse => {
  const body = { code, data: {}, message, redirect: '', requestId };
  return { status, headers: {}, body: JSON.stringify(body), json: body };
};

describe('UniBee answers → outcomes (the envelope decides)', () => {
  it.each([
    ['code 0', env(200, 0, 'success'), { kind: 'invited', requestId: 'req-1' }],
    ['code 51 qps limitation under 400', env(400, 51, 'Reached max api qps limitation, please try again later'), { kind: 'rate_limited', status: 400 }],
    ['roleId not found', env(400, 51, 'roleId 99 not found'), { kind: 'rejected', message: 'roleId 99 not found', requestId: 'req-1' }],
    ['401', env(401, 61, 'invalid api key'), { kind: 'auth_failed' }],
    ['code 61 under 200', env(200, 61, 'invalid api key'), { kind: 'auth_failed' }],
    ['other 400', env(400, 51, 'email is required'), { kind: 'rejected' }],
    ['failure under 200 (code != 0)', env(200, 1, 'something failed'), { kind: 'rejected', status: 200 }],
    ['500', env(500, 500, 'server error'), { kind: 'retryable' }],
  ])('%s', (_n, r, expected) => expect(toOutcome(r, () => 0)).toMatchObject(expected));

  it('asks for a member lookup on "email exist"', () => expect(toOutcome(env(400, 51, 'email exist'))).toBe('email_exists'));

  it('waits about a second on the qps limit, jittered', () => {
    const low = toOutcome(env(400, 51, 'Reached max api qps limitation'), () => 0);
    const high = toOutcome(env(400, 51, 'Reached max api qps limitation'), () => 0.999);
    expect(low).toMatchObject({ waitMs: 1000 });
    expect(high).toMatchObject({ waitMs: 1499 });
  });
});

describe('UniBee int64 role ids', () => {
  it('accepts integers and decimal strings and keeps them exact', () => {
    const invite = unibee.inviteSchema.parse({ email: 'a@x.io', roleIds: [1, '9007199254740993', '0009', '-5'] });
    expect(invite.roleIds).toEqual(['1', '9007199254740993', '9', '-5']);
    expect(newMemberBody(invite)).toBe('{"email":"a@x.io","roleIds":[1,9007199254740993,9,-5]}');
  });
  it('puts the optional fields before roleIds, exactly once each', () => {
    const invite = unibee.inviteSchema.parse({
      email: 'a@x.io',
      firstName: 'Ann',
      lastName: 'Lee',
      returnUrl: 'https://example.com/x',
      roleIds: ['9223372036854775807'],
    });
    expect(newMemberBody(invite)).toBe(
      '{"email":"a@x.io","firstName":"Ann","lastName":"Lee","returnUrl":"https://example.com/x","roleIds":[9223372036854775807]}',
    );
    expect(newMemberBody(unibee.inviteSchema.parse({ email: 'a@x.io' }))).toBe('{"email":"a@x.io","roleIds":[]}');
  });
  it('builds the body by JSON encoding: an unvalidated role id can never be pasted into the request', () => {
    const hostile = { email: 'victim@example.com', roleIds: ['1],"email":"attacker@example.com","x":[1'] };
    expect(() => newMemberBody(hostile)).toThrow(/not an int64 role id/);
    expect(() => newMemberBody({ email: 'a@x.io', roleIds: ['1 ,2'] })).toThrow();
    const odd = { email: 'a"b@x.io', firstName: 'Ann "the" Lee\\', roleIds: ['7'] };
    expect(JSON.parse(newMemberBody(odd))).toEqual({ ...odd, roleIds: [7] });
  });
  it.each([
    // biome-ignore lint/correctness/noPrecisionLoss: the point: a number literal above 2^53 is already inexact
    [9007199254740993, /not an exact integer/],
    [1.5, /not an exact integer/],
    ['9223372036854775808', /not an int64/],
    ['12abc', /not an int64/],
    ['1e3', /not an int64/],
    ['', /not an int64/],
  ])('refuses %j', (id, message) => {
    const r = unibee.inviteSchema.safeParse({ email: 'a@x.io', roleIds: [id] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(message);
    expect(r.error?.issues[0]?.path).toEqual(['roleIds', 0]);
  });
});

const fake = unibeeFake({ members: ['ours@example.com'], othersMembers: ['theirs@example.com'], qps: 1000 });
testProvider({
  adapter: unibee,
  handler: () => fake.handler,
  account: { settings: { credentials: { apiKey: { env: 'K' } } }, credentials: { apiKey: 'sandbox-unibee-key' } },
  cases: [
    {
      name: 'sends the documented request with role ids above 2^53 exact on the wire',
      invite: { email: 'big@example.com', firstName: 'Big', roleIds: ['9007199254740993'] },
      expect: { kind: 'invited', requestId: expect.stringMatching(/^sandbox-req-/) },
      request: {
        method: 'POST',
        path: '/merchant/member/new_member',
        headers: { authorization: 'Bearer sandbox-unibee-key', 'content-type': 'application/json' },
        body: '{"email":"big@example.com","firstName":"Big","roleIds":[9007199254740993]}',
      },
    },
    {
      name: 'an unknown role id is rejected with the message',
      invite: { email: 'r@example.com', roleIds: [42] },
      expect: { kind: 'rejected', message: 'roleId 42 not found' },
    },
    {
      name: '"email exist" for one of our members → already_member (after a lookup)',
      invite: { email: 'ours@example.com', roleIds: [1] },
      requests: 2,
      expect: { kind: 'already_member' },
    },
    {
      name: '"email exist" for another merchant’s member → rejected, saying so',
      invite: { email: 'theirs@example.com', roleIds: [1] },
      requests: 2,
      expect: { kind: 'rejected', message: expect.stringContaining('member of another UniBee merchant') },
    },
    { name: 'a bad key is auth_failed', invite: { email: 'k@example.com' }, credentials: { apiKey: 'wrong' }, expect: { kind: 'auth_failed', status: 401 } },
    {
      name: 'the qps limit disguised as 400 is rate_limited, not rejected',
      invite: { email: 'q@example.com' },
      script: [{ status: 400, body: { code: 51, message: 'Reached max api qps limitation, please try again later', requestId: 'r-9' } }],
      expect: { kind: 'rate_limited', requestId: 'r-9' },
    },
  ],
  contract: {
    // UniBee's success is the envelope's `code` 0, "anything else is a failure even under HTTP 200": a 200
    // without an envelope is not an invitation. (Its own server sends no 429 and no Retry-After, but a gateway
    // in front of it may: those answers keep the shared meaning.)
    expect: { 'a non-JSON 200': { kind: 'rejected', status: 200 } },
  },
});

describe('UniBee sandbox', () => {
  it('reads raw role ids exactly', () => expect(rawRoleIds('{"roleIds":[1, 9007199254740993]}')).toEqual(['1', '9007199254740993']));
});
