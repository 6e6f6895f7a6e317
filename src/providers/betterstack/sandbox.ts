import type { ProviderSandbox } from '../../sandbox/provider-sandbox.ts';
import type { FakeAnswer, FakeServer, RecordedRequest } from '../../sandbox/server.ts';
import { startFakeServer } from '../../sandbox/server.ts';
import type { BetterStackInvite } from './index.ts';

/** The documented example bodies of Better Stack's "Invite a team member" page. */
export const betterstackBodies = {
  invited: (email: string, role: string) => ({
    message: 'Invitation sent',
    data: { id: '202', type: 'team_member_invitation', attributes: { email, invited_at: '2023-10-29T14:00:00.000Z', role } },
  }),
  alreadyMember: (email: string) => ({
    message: 'User is already a member of the team',
    data: {
      id: '101',
      type: 'team_member',
      attributes: { email, first_name: 'Alice', last_name: 'Smith', created_at: '2023-10-26T10:00:00.000Z', role: 'admin' },
    },
  }),
  invalidRole: { errors: 'Invalid role. Allowed roles: responder, member, team_lead, billing_admin' },
  invalidEmail: { errors: 'Email is not a valid email address' },
  missingEmail: { errors: 'Email is required' },
  quota: { errors: 'Cannot invite organization members due to quota limits.' },
  tooMany: { errors: 'Too many invitations sent. Please try again later.' },
  admin: { errors: 'Inviting admins is not allowed via API. Allowed roles: responder, member, team_lead, billing_admin' },
  multipleTeams: { errors: 'This token has access to multiple teams. Please specify team_name.' },
  unauthorized: { errors: 'Invalid Team API token' },
  readOnly: { errors: 'This API token is read-only' },
} as const;

const ROLES = new Set(['responder', 'member', 'team_lead', 'billing_admin']);
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export interface BetterStackFakeOptions {
  /** Team tokens accepted. */
  tokens?: string[];
  readOnlyTokens?: string[];
  /** Global tokens: they need `?team_name=` (422 "multiple teams" without it). */
  globalTokens?: string[];
  /** Addresses that are already members (200). */
  members?: string[];
  /** Invitations allowed before the quota answer. */
  quota?: number;
}

/** A local Better Stack that answers as its documentation says and remembers whom it invited. */
export function betterstackHandler(options: BetterStackFakeOptions = {}) {
  const members = new Set((options.members ?? []).map((e) => e.toLowerCase()));
  let invitations = 0;
  return (req: RecordedRequest): FakeAnswer => {
    if (req.method !== 'POST' || req.path !== '/api/v2/team-members') return { status: 404, body: { errors: 'Not found' } };
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if (options.readOnlyTokens?.includes(token)) return { status: 403, body: betterstackBodies.readOnly };
    const global = options.globalTokens?.includes(token) ?? false;
    if (!global && !(options.tokens ?? ['bs-team-token']).includes(token)) return { status: 401, body: betterstackBodies.unauthorized };
    if (global && !req.query.get('team_name')) return { status: 422, body: betterstackBodies.multipleTeams };
    const body = (req.json ?? {}) as { email?: unknown; role?: unknown };
    const email = typeof body.email === 'string' ? body.email.toLowerCase() : '';
    const role = body.role === undefined ? 'responder' : String(body.role);
    if (email === '') return { status: 422, body: betterstackBodies.missingEmail };
    if (!EMAIL.test(email)) return { status: 422, body: betterstackBodies.invalidEmail };
    if (role === 'admin') return { status: 403, body: betterstackBodies.admin };
    if (!ROLES.has(role)) return { status: 422, body: betterstackBodies.invalidRole };
    if (members.has(email)) return { status: 200, body: betterstackBodies.alreadyMember(email) };
    if (options.quota !== undefined && invitations >= options.quota) return { status: 422, body: betterstackBodies.quota };
    invitations += 1;
    members.add(email);
    return { status: 201, body: betterstackBodies.invited(email, role) };
  };
}

export function startBetterStackFake(options: BetterStackFakeOptions = {}): Promise<FakeServer> {
  return startFakeServer(betterstackHandler(options));
}

/** Better Stack in `invitebus sandbox`, the demo and the tests. */
export const betterstackSandbox = {
  env: { SANDBOX_BETTERSTACK_TOKEN: 'bs-team-token' },
  account: { credentials: { token: { env: 'SANDBOX_BETTERSTACK_TOKEN' } } },
  exampleInvite: { role: 'member' },
  fake: ({ members }) => ({
    handler: betterstackHandler({ members: [...members] }),
    rateLimited: () => ({ status: 429, body: { errors: 'Too many invitations sent. Please try again later.' } }),
  }),
} satisfies ProviderSandbox<BetterStackInvite>;
