import type { ProviderSandbox } from '../../sandbox/provider-sandbox.ts';
import type { FakeAnswer, RecordedRequest } from '../../sandbox/server.ts';
import type { UniBeeInvite } from './index.ts';

export interface UniBeeFakeOptions {
  apiKey?: string;
  /** Role ids that exist, as decimal strings (int64). */
  roleIds?: string[];
  /** Members of this merchant. */
  members?: string[];
  /** Members of other merchants: new_member says "email exist", member/list does not show them. */
  othersMembers?: string[];
  /** Requests per second before the "qps limitation" answer (10 in the sandbox, 50 in production). */
  qps?: number;
}

/** Reads the roleIds of a raw body as exact decimal strings (JSON.parse would round ids above 2^53). */
export function rawRoleIds(body: string): string[] | undefined {
  const match = /"roleIds"\s*:\s*\[([^\]]*)\]/.exec(body);
  if (!match) return undefined;
  const inner = (match[1] ?? '').trim();
  return inner === '' ? [] : inner.split(',').map((s) => s.trim());
}

/** A local UniBee merchant API: every answer an envelope `{code, data, message, redirect, requestId}`. */
export function unibeeFake(options: UniBeeFakeOptions = {}) {
  const o = { apiKey: 'sandbox-unibee-key', roleIds: ['1', '9007199254740993'], qps: 10, ...options };
  const members = new Set((o.members ?? []).map((e) => e.toLowerCase()));
  const others = new Set((o.othersMembers ?? []).map((e) => e.toLowerCase()));
  let requestSeq = 0;
  let windowStart = 0;
  let inWindow = 0;
  const envelope = (status: number, code: number, message: string, data: unknown = null): FakeAnswer => {
    requestSeq += 1;
    return { status, body: { code, data, message, redirect: '', requestId: `sandbox-req-${requestSeq}` } };
  };

  function handler(req: RecordedRequest): FakeAnswer {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      inWindow = 0;
    }
    inWindow += 1;
    if (req.headers.authorization !== `Bearer ${o.apiKey}`) return envelope(401, 61, 'invalid api key');
    if (inWindow > o.qps) return envelope(400, 51, 'Reached max api qps limitation, please try again later');
    const body = (req.json ?? {}) as { email?: unknown };
    const email = typeof body.email === 'string' ? body.email.toLowerCase() : '';
    if (req.method === 'POST' && req.path === '/merchant/member/list') {
      const found = members.has(email) ? [{ id: 7, email, firstName: '', lastName: '', merchantId: 15621 }] : [];
      return envelope(200, 0, 'success', { merchantMembers: found, total: found.length });
    }
    if (req.method === 'POST' && req.path === '/merchant/member/new_member') {
      if (email === '') return envelope(400, 51, 'email is required');
      const ids = rawRoleIds(req.body);
      if (ids === undefined) return envelope(400, 51, 'roleIds is required');
      const missing = ids.find((id) => !o.roleIds.includes(id));
      if (missing !== undefined) return envelope(400, 51, `roleId ${missing} not found`);
      if (members.has(email) || others.has(email)) return envelope(400, 51, 'email exist');
      members.add(email);
      return envelope(200, 0, 'success', {});
    }
    return envelope(404, 404, 'not found');
  }
  return { handler, settings: o };
}

/** UniBee in `invitebus sandbox`, the demo and the tests: 50 requests a second, as in production. */
export const unibeeSandbox = {
  env: { SANDBOX_UNIBEE_API_KEY: 'sandbox-unibee-key' },
  account: { credentials: { apiKey: { env: 'SANDBOX_UNIBEE_API_KEY' } } },
  exampleInvite: { roleIds: ['1'] },
  fake: ({ members }) => ({
    handler: unibeeFake({ members: [...members], qps: 50 }).handler,
    rateLimited: () => ({
      status: 400,
      body: { code: 51, message: 'Reached max api qps limitation, please try again later', data: null, redirect: '', requestId: 'sandbox-qps' },
    }),
  }),
} satisfies ProviderSandbox<UniBeeInvite>;
