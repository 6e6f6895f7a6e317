import type { ProviderSandbox } from '../../sandbox/provider-sandbox.ts';
import type { FakeAnswer, RecordedRequest } from '../../sandbox/server.ts';
import type { SutroInvite } from './index.ts';

export interface SutroFakeOptions {
  token?: string;
  members?: string[];
}

/**
 * A local Sutro user-management API: POST /invitations with `emailAddresses`; 201 when every address was
 * invited, 409 (without saying which) when any of them is already a member, 400 for a malformed address.
 */
export function sutroFake(options: SutroFakeOptions = {}) {
  const o = { token: 'sandbox-sutro-jwt', ...options };
  const members = new Set((o.members ?? []).map((e) => e.toLowerCase()));
  const stats = { calls: 0, addresses: 0, callSizes: [] as number[] };

  function handler(req: RecordedRequest): FakeAnswer {
    stats.calls += 1;
    if (req.headers.authorization !== `Bearer ${o.token}`) return { status: 401, body: { success: false, message: 'Unauthorized' } };
    if (req.method !== 'POST' || req.path !== '/invitations') return { status: 404, body: { success: false, message: 'Not found' } };
    const emails = (req.json as { emailAddresses?: unknown } | undefined)?.emailAddresses;
    if (!Array.isArray(emails) || emails.length === 0) return { status: 400, body: { success: false, message: 'emailAddresses must have at least 1 item' } };
    if (emails.some((e) => typeof e !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)))
      return { status: 400, body: { success: false, message: 'emailAddresses must contain valid emails' } };
    stats.callSizes.push(emails.length);
    const lower = (emails as string[]).map((e) => e.toLowerCase());
    if (lower.some((e) => members.has(e))) return { status: 409 };
    for (const e of lower) members.add(e);
    stats.addresses += lower.length;
    return { status: 201, body: { success: true, message: 'Invitations sent' } };
  }
  return { handler, stats, settings: o };
}

/** Sutro in `invitebus sandbox`, the demo and the tests. Its rate-limit answer is a bare 429. */
export const sutroSandbox = {
  env: { SANDBOX_SUTRO_TOKEN: 'sandbox-sutro-jwt' },
  account: { credentials: { token: { env: 'SANDBOX_SUTRO_TOKEN' } } },
  exampleInvite: {},
  fake: ({ members }) => ({ handler: sutroFake({ members: [...members] }).handler, rateLimited: () => ({ status: 429 }) }),
} satisfies ProviderSandbox<SutroInvite>;
