/**
 * Stellas never reports as refused someone who is a member (issue: provider fidelity, part 1). A `status: false`
 * (or a 409/422) is settled by looking the address up in the member list: present → already_member, absent →
 * rejected with Stellas's message; a lookup that fails is retryable.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHttpClient } from '../../src/providers/http.ts';
import { stellas } from '../../src/providers/stellas/index.ts';
import { memberPage } from '../../src/providers/stellas/members.ts';
import { stellasFake } from '../../src/providers/stellas/sandbox.ts';
import { type FakeAnswer, type FakeHandler, type FakeServer, type RecordedRequest, startFakeServer } from '../../src/sandbox/server.ts';

const SIGN_IN = { secretKey: 'sandbox-secret-key', email: 'ops@acme.example', password: 'sandbox-password' };
const SETTINGS = { businessId: 'biz_123', credentials: { secretKey: { env: 'S' }, email: { env: 'E' }, password: { env: 'P' } } };
const ROLE = 'role_abc123';

const http = createHttpClient({ timeoutMs: 500 });
const servers: FakeServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});
afterAll(() => http.close());

async function setup(handler: FakeHandler, settings: Record<string, unknown> = {}) {
  // Answers for the next invite calls (not the sign-in or the lookups), before the handler's own.
  const inviteAnswers: FakeAnswer[] = [];
  const server = await startFakeServer((req) =>
    req.method === 'POST' && req.path === '/clients/members' && inviteAnswers.length > 0 ? (inviteAnswers.shift() as FakeAnswer) : handler(req),
  );
  servers.push(server);
  const session = stellas.createSession({
    name: 's',
    baseUrl: server.url,
    settings: stellas.settingsSchema.parse({ ...SETTINGS, ...settings }),
    credentials: SIGN_IN,
    http,
  });
  const listCalls = () => server.requests.filter((r) => r.method === 'GET' && r.path === '/clients/members');
  return {
    server,
    session,
    listCalls,
    nextInvites: (...a: FakeAnswer[]) => inviteAnswers.push(...a),
    invite: (email: string) => session.deliver({ email, memberRoleId: ROLE }),
  };
}

/** Answers GET /clients/members with `answer(page, limit)`, everything else as the sandbox does. */
function withMemberList(base: FakeHandler, answer: (page: number, limit: number) => FakeAnswer): FakeHandler {
  return (req: RecordedRequest) =>
    req.method === 'GET' && req.path === '/clients/members' ? answer(Number(req.query.get('page')), Number(req.query.get('limit'))) : base(req);
}
const ok = (body: Record<string, unknown>): FakeAnswer => ({ status: 200, body: { status: true, message: 'Members retrieved successfully', ...body } });
const people = (n: number, tag = 'm') =>
  Array.from({ length: n }, (_, i) => ({ id: `mem_${tag}${i}`, email: `${tag}${i}@Example.com`, clientMemberRoleId: ROLE }));

describe('Stellas: status false is settled by the member list', () => {
  it('an existing member ("already a member", status false under 200) is already_member', async () => {
    const f = stellasFake({ members: ['ann@example.com'] });
    const { invite, listCalls } = await setup(f.handler);
    expect(await invite('Ann@Example.com')).toMatchObject({ kind: 'already_member', status: 200 });
    expect(listCalls()).toHaveLength(1);
    expect(listCalls()[0]?.query.get('page')).toBe('1');
    expect(Number(listCalls()[0]?.query.get('limit'))).toBeGreaterThanOrEqual(10);
  });

  it('an ambiguous failure (the first call timed out after Stellas created the invite) ends already_member on the retry', async () => {
    const f = stellasFake();
    let first = true;
    const { invite } = await setup(async (req) => {
      const answer = await f.handler(req);
      if (req.method === 'POST' && req.path === '/clients/members' && first) {
        first = false;
        return { ...answer, delayMs: 1_500 }; // created, but the answer comes after the client gave up
      }
      return answer;
    });
    expect(await invite('late@example.com')).toMatchObject({ kind: 'retryable' });
    expect(await invite('late@example.com')).toMatchObject({ kind: 'already_member' });
  });

  it('absent from the list: rejected with Stellas’s message', async () => {
    const f = stellasFake();
    const { nextInvites, invite } = await setup(f.handler);
    nextInvites({ status: 200, body: { status: false, message: 'Business is not verified', data: null } });
    expect(await invite('bob@example.com')).toMatchObject({ kind: 'rejected', status: 200, message: 'Business is not verified' });
  });

  it.each([409, 422])('a %i is settled the same way', async (status) => {
    const f = stellasFake({ members: ['cy@example.com'] });
    const { nextInvites, invite } = await setup(f.handler);
    nextInvites({ status, body: { status: false, message: 'conflict', data: null } });
    expect(await invite('cy@example.com')).toMatchObject({ kind: 'already_member', status });
    nextInvites({ status, body: { status: false, message: 'unprocessable', data: null } });
    expect(await invite('nobody@example.com')).toMatchObject({ kind: 'rejected', status, message: 'unprocessable' });
  });

  it.each([
    ['a 503', { status: 503, body: { status: false, message: 'busy', data: null } }],
    ['a 500', { status: 500, rawBody: '<html>oops</html>' }],
    ['a timeout', { hang: true }],
    ['a reset', { reset: true }],
  ] as const)('a lookup that fails (%s) makes the invite retryable, never rejected', async (_name, failure) => {
    const f = stellasFake({ members: ['dee@example.com'] });
    const { invite } = await setup(withMemberList(f.handler, () => failure as FakeAnswer));
    expect(await invite('dee@example.com')).toMatchObject({ kind: 'retryable' });
  });
});

describe('Stellas member index', () => {
  it('is built once for concurrent jobs (single flight), by pages of the largest size, stopping on a short page', async () => {
    const members = people(230);
    const f = stellasFake({ members: members.map((m) => m.email) });
    const { session, listCalls } = await setup(f.handler);
    const outcomes = await Promise.all(members.slice(0, 20).map((m) => session.deliver({ email: m.email, memberRoleId: ROLE })));
    expect(outcomes.flat().every((o) => o.kind === 'already_member')).toBe(true);
    expect(listCalls().map((r) => r.query.get('page'))).toEqual(['1', '2', '3']);
    expect(listCalls().every((r) => r.query.get('limit') === '100')).toBe(true);
  });

  it('is refreshed on a miss at most once per refresh interval', async () => {
    const f = stellasFake({ members: ['old@example.com'] });
    const { nextInvites, invite, listCalls } = await setup(f.handler, { memberLookup: { refreshSec: 3600 } });
    expect(await invite('old@example.com')).toMatchObject({ kind: 'already_member' });
    const refused = { status: 200, body: { status: false, message: 'refused', data: null } };
    nextInvites(refused, refused);
    expect(await invite('new1@example.com')).toMatchObject({ kind: 'rejected' });
    expect(await invite('new2@example.com')).toMatchObject({ kind: 'rejected' });
    expect(listCalls()).toHaveLength(1); // both misses inside the interval: no new scan

    const fresh = await setup(f.handler, { memberLookup: { refreshSec: 0 } });
    expect(await fresh.invite('old@example.com')).toMatchObject({ kind: 'already_member' });
    f.addMember('joined@example.com');
    fresh.nextInvites(refused);
    // A miss with the interval spent rebuilds the index and finds the member who joined since.
    expect(await fresh.invite('joined@example.com')).toMatchObject({ kind: 'already_member' });
    expect(fresh.listCalls()).toHaveLength(2);
  });

  it('stays bounded in memory: past maxIndexed it scans the list for the one address instead', async () => {
    const members = people(25);
    const handler = withMemberList(stellasFake({ members: members.map((m) => m.email) }).handler, (page, limit) => {
      const slice = members.slice((page - 1) * limit, page * limit);
      return ok({ data: slice, pagination: { page, limit, total: members.length, hasNextPage: page * limit < members.length } });
    });
    const { invite, listCalls } = await setup(handler, { memberLookup: { pageSize: 10, maxIndexed: 10 } });
    expect(await invite('m24@example.com')).toMatchObject({ kind: 'already_member' });
    expect(await invite('m3@example.com')).toMatchObject({ kind: 'already_member' });
    expect(listCalls().length).toBeGreaterThanOrEqual(3);
  });

  it('asks for a smaller page when the largest is refused', async () => {
    const members = people(15);
    const handler = withMemberList(stellasFake().handler, (page, limit) =>
      limit > 10
        ? { status: 400, body: { status: false, message: 'limit must not be greater than 10', data: null } }
        : ok({ data: members.slice((page - 1) * limit, page * limit), pagination: { hasNextPage: page * limit < members.length } }),
    );
    const { nextInvites, invite, listCalls } = await setup(handler);
    nextInvites({ status: 200, body: { status: false, message: 'exists', data: null } });
    expect(await invite('m14@example.com')).toMatchObject({ kind: 'already_member' });
    expect(listCalls().map((r) => r.query.get('limit'))).toEqual(['100', '10', '10']);
  });
});

describe('Stellas member list shapes (not published in full)', () => {
  const m = [{ email: 'A@x.io' }, { email: 'b@x.io' }];
  it.each([
    ['data is the array, pagination beside it', { data: m, pagination: { hasNextPage: true, nextPage: 2 } }, { hasNext: true, nextPage: 2 }],
    ['data.members with data.pagination', { data: { members: m, pagination: { hasNextPage: false } } }, { hasNext: false }],
    ['data.items with data.meta', { data: { items: m, meta: { page: 1, nextPage: null } } }, { hasNext: false }],
    ['data.rows with a total beside', { data: { rows: m, total: 40, page: 1 } }, { total: 40 }],
    ['data.data with hasNextPage beside', { data: { data: m, hasNextPage: true } }, { hasNext: true }],
    ['meta at the top', { data: m, meta: { hasNextPage: false, total: 2 } }, { hasNext: false, total: 2 }],
  ])('%s', (_name, body, expected) => {
    const page = memberPage(body);
    expect(page.emails).toEqual(['a@x.io', 'b@x.io']);
    expect(page).toMatchObject(expected);
  });
  it('an unreadable list is not an empty one', () => {
    expect(memberPage({ data: { something: 1 } }).emails).toBeUndefined();
    expect(memberPage({ data: null }).emails).toBeUndefined();
  });
});

describe('Stellas roles and base URL', () => {
  it('refreshes the role list once on a miss: a role created after start works without a restart', async () => {
    const f = stellasFake();
    const { session } = await setup(f.handler, { memberLookup: { refreshSec: 0 } });
    expect(await session.deliver({ email: 'r1@example.com', role: 'Admin' })).toMatchObject({ kind: 'invited' });
    f.settings.roles.push({ id: 'role_new', name: 'Auditor' });
    const before = f.stats.roleLookups;
    expect(await session.deliver({ email: 'r2@example.com', role: 'auditor' })).toMatchObject({ kind: 'invited' });
    expect(f.stats.roleLookups - before).toBe(1);
    expect(await session.deliver({ email: 'r3@example.com', role: 'Owner' })).toMatchObject({ kind: 'rejected' });
  });

  it('defaults to production, never silently to the sandbox', () => {
    expect(stellas.defaultBaseUrl).toBe('https://api.stellasbank.com/api/v1');
  });
});
