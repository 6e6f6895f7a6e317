import type { ProviderSandbox } from '../../sandbox/provider-sandbox.ts';
import type { FakeAnswer, RecordedRequest } from '../../sandbox/server.ts';
import type { StellasInvite } from './index.ts';

export interface StellasFakeOptions {
  email?: string;
  password?: string;
  secretKey?: string;
  businessId?: string;
  roles?: Array<{ id: string; name: string }>;
  /** Addresses that are already members: answered with HTTP 200 and `status: false` (failure under 200). */
  members?: string[];
}

const MAX_PAGE = 100;
const fail = (status: number, message: string): FakeAnswer => ({ status, body: { status: false, message, data: null } });

/**
 * A local Stellas: sign-in issues session tokens, every other call needs Bearer + SECRET_KEY + businessId,
 * and failures come back as `{ status: false }`, sometimes under HTTP 200. `expireTokens()` simulates expiry.
 */
export function stellasFake(options: StellasFakeOptions = {}) {
  const o = {
    email: 'ops@acme.example',
    password: 'sandbox-password',
    secretKey: 'sandbox-secret-key',
    businessId: 'biz_123',
    roles: [
      { id: 'role_abc123', name: 'Admin' },
      { id: 'role_def456', name: 'Member' },
    ],
    ...options,
  };
  const members = new Set((o.members ?? []).map((e) => e.toLowerCase()));
  const valid = new Set<string>();
  const stats = { signIns: 0, roleLookups: 0, memberLookups: 0, invites: 0 };
  let issued = 0;

  function handler(req: RecordedRequest): FakeAnswer {
    if (req.method === 'POST' && req.path === '/auth/signin') {
      stats.signIns += 1;
      const body = (req.json ?? {}) as { email?: string; password?: string };
      if (body.email !== o.email || body.password !== o.password) return fail(401, 'Invalid email or password');
      issued += 1;
      const accessToken = `sandbox-jwt-${issued}`;
      valid.add(accessToken);
      return {
        status: 200,
        body: {
          status: true,
          message: 'Login successful',
          data: {
            id: 'usr_1',
            firstName: 'Ops',
            lastName: 'Team',
            email: o.email,
            phoneNo: '+2340000000000',
            accessToken,
            businesses: [{ id: o.businessId, businessName: 'Acme', isApproved: true }],
          },
        },
      };
    }
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if (!valid.has(token) || req.headers.secret_key !== o.secretKey || req.headers.businessid !== o.businessId) return fail(401, 'Unauthorized');
    if (req.method === 'GET' && req.path === '/clients/members/roles') {
      stats.roleLookups += 1;
      return { status: 200, body: { status: true, message: 'Roles retrieved successfully', data: o.roles } };
    }
    if (req.method === 'GET' && req.path === '/clients/members') {
      // Paginated as documented (`?page=1&limit=10`, a pagination object); limits above 100 are refused.
      stats.memberLookups += 1;
      const page = Number(req.query.get('page') ?? '1');
      const limit = Number(req.query.get('limit') ?? '10');
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(limit) || limit < 1) return fail(400, 'page and limit must be positive integers');
      if (limit > MAX_PAGE) return fail(400, `limit must not be greater than ${MAX_PAGE}`);
      const all = [...members];
      const slice = all.slice((page - 1) * limit, page * limit).map((email, i) => ({
        id: `mem_${(page - 1) * limit + i + 1}`,
        email,
        clientMemberRoleId: o.roles[0]?.id ?? '',
      }));
      const hasNextPage = page * limit < all.length;
      return {
        status: 200,
        body: {
          status: true,
          message: 'Members retrieved successfully',
          data: { members: slice, pagination: { page, limit, total: all.length, hasNextPage, nextPage: hasNextPage ? page + 1 : null } },
        },
      };
    }
    if (req.method === 'POST' && req.path === '/clients/members') {
      stats.invites += 1;
      const body = (req.json ?? {}) as { email?: string; memberRoleId?: string };
      if (typeof body.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(body.email)) return fail(400, 'email must be an email');
      if (!o.roles.some((r) => r.id === body.memberRoleId)) return fail(404, 'Role not found');
      if (members.has(body.email.toLowerCase())) return fail(200, 'A member with this email already exists');
      members.add(body.email.toLowerCase());
      return { status: 201, body: { status: true, message: 'Invitation sent successfully' } };
    }
    return fail(404, 'Not found');
  }

  return {
    handler,
    stats,
    settings: o,
    expireTokens: () => valid.clear(),
    /** Someone joined the business outside invitebus (or accepted an invitation). */
    addMember: (email: string) => members.add(email.toLowerCase()),
  };
}

/** Stellas in `invitebus sandbox`, the demo and the tests: signs in with the sandbox's email and password. */
export const stellasSandbox = {
  env: { SANDBOX_STELLAS_SECRET_KEY: 'sandbox-secret-key', SANDBOX_STELLAS_EMAIL: 'ops@acme.example', SANDBOX_STELLAS_PASSWORD: 'sandbox-password' },
  account: {
    businessId: 'biz_123',
    credentials: { secretKey: { env: 'SANDBOX_STELLAS_SECRET_KEY' }, email: { env: 'SANDBOX_STELLAS_EMAIL' }, password: { env: 'SANDBOX_STELLAS_PASSWORD' } },
  },
  exampleInvite: { role: 'Member' },
  fake: ({ members }) => ({
    handler: stellasFake({ members: [...members] }).handler,
    rateLimited: () => ({ status: 429, body: { status: false, message: 'Too many requests', data: null } }),
  }),
} satisfies ProviderSandbox<StellasInvite>;
