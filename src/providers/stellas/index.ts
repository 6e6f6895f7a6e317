import pRetry, { AbortError } from 'p-retry';
import { z } from 'zod';
import { credentialRef } from '../../config/credentials.ts';
import { emailField } from '../../invites/fields.ts';
import { requestedWaitMs } from '../../policies/rate-limit-headers.ts';
import type { Outcome } from '../../types.ts';
import { type AccountContext, commonOutcome, credential, isNetworkFailure, networkOutcome, type ProviderAdapter, type ProviderSession } from '../adapter.ts';
import { AccountHeld, type HttpRequest, type HttpResponse, joinUrl, jsonBody } from '../http.ts';
import { createMemberIndex } from './members.ts';

export const STELLAS_SANDBOX_URL = 'https://sandbox.stellasbank.com/api/v1';
export const STELLAS_PRODUCTION_URL = 'https://api.stellasbank.com/api/v1';

const settingsSchema = z.object({
  /** The business members are invited to: the `businessId` header. */
  businessId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be the business id from sign-in (letters, digits, _ and -)'),
  credentials: z
    .looseObject({
      secretKey: credentialRef,
      /** Sign-in email and password: the worker signs in and re-signs in on expiry. */
      email: credentialRef.optional(),
      password: credentialRef.optional(),
      /** Or a fixed session token (no re-sign-in possible). */
      accessToken: credentialRef.optional(),
    })
    .refine((c) => c.accessToken !== undefined || (c.email !== undefined && c.password !== undefined), {
      message: 'Stellas needs credentials.email and credentials.password (to sign in), or credentials.accessToken',
    }),
  /** How a `status: false` is settled against the member list (src/providers/stellas/members.ts). */
  memberLookup: z
    .strictObject({
      /** Page size asked first: the largest the API accepts (the documented 10 is used if it is refused). */
      pageSize: z.number().int().min(10).max(1000).default(100),
      /** A miss rebuilds the member index (and the role list) at most this often. */
      refreshSec: z.number().min(0).default(30),
      /** Addresses kept in memory; a longer list is scanned for the one address instead. */
      maxIndexed: z.number().int().min(1).default(100_000),
    })
    .prefault({}),
});
export type StellasSettings = z.infer<typeof settingsSchema>;

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;
const ROLE_ID = /^[A-Za-z0-9_-]{1,128}$/;

const inviteSchema = z
  .object({
    email: emailField,
    /** A role id from GET /clients/members/roles. */
    memberRoleId: z.string().trim().regex(ROLE_ID, 'memberRoleId must be a role id (letters, digits, _ and -)').optional(),
    /** Or a role name, resolved to its id by the worker (case-insensitive). */
    role: z.string().trim().regex(ROLE_NAME, 'role must be a role name (letters, digits, space, _ . -)').optional(),
  })
  .refine((i) => (i.memberRoleId === undefined) !== (i.role === undefined), {
    message: 'Stellas needs exactly one of memberRoleId or role (a role name)',
    path: ['memberRoleId'],
  });
export type StellasInvite = z.infer<typeof inviteSchema>;

/** Every Stellas answer: `{ status, message, data }`; `status: false` is a failure whatever the HTTP code. */
const envelope = z.looseObject({ status: z.boolean().optional(), message: z.string().optional(), data: z.unknown().optional() });
const signInData = z.looseObject({ accessToken: z.string().min(1) });
const roleList = z.array(z.looseObject({ id: z.union([z.string(), z.number()]), name: z.string() }));

function parseEnvelope(res: HttpResponse) {
  const parsed = envelope.safeParse(res.json);
  return parsed.success ? parsed.data : {};
}

/**
 * Maps an answer of the invite call. Success is 2xx AND `status` not false. A `status: false` under 2xx, a 409
 * or a 422 may mean "already a member" (Stellas answers a repeated invite that way, and says not to read the
 * message): 'member_check' asks the session to settle it with the member list. Otherwise the HTTP code decides.
 */
export function toOutcome(res: HttpResponse, now = Date.now()): Outcome | 'member_check' {
  const body = parseEnvelope(res);
  const message = body.message ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
  const ref = { status: res.status, message };
  const ok = res.status >= 200 && res.status < 300 && body.status !== false;
  if (ok) return { kind: 'invited', ...ref };
  if ((res.status >= 200 && res.status < 300) || res.status === 409 || res.status === 422) return 'member_check';
  if (res.status === 401 || res.status === 403) return { kind: 'auth_failed', ...ref };
  const common = commonOutcome(res, ref, now);
  if (common) return common;
  // 4xx, and failures reported under 2xx (`status: false`): the request was refused; retrying will not help.
  return { kind: 'rejected', ...ref };
}

export function inviteRequest(baseUrl: string, headers: Record<string, string>, email: string, memberRoleId: string): HttpRequest {
  return {
    method: 'POST',
    url: joinUrl(baseUrl, '/clients/members'),
    headers: { ...headers, 'content-type': 'application/json' },
    body: jsonBody({ email, memberRoleId }),
  };
}

class SignInRefused extends Error {}

/** The sign-in itself was rate-limited: the account waits, nothing is wrong with its credentials. */
class SignInRateLimited extends Error {
  readonly waitMs: number | undefined;
  constructor(waitMs: number | undefined) {
    super('sign-in rate-limited (HTTP 429)');
    this.waitMs = waitMs;
  }
}

/**
 * One account's Stellas session: the access token (signed in once and shared by concurrent jobs; one
 * sign-in at a time), the role list, and the "401 → sign in again, retry once" rule.
 */
function createStellasSession(account: AccountContext<StellasSettings>): ProviderSession<StellasInvite> {
  const { baseUrl, http } = account;
  const secretKey = credential(account, 'secretKey');
  const fixedToken = account.credentials.accessToken;
  // Without a fixed token the session signs in: both halves must be there before the first call.
  const signInWith = fixedToken === undefined ? { email: credential(account, 'email'), password: credential(account, 'password') } : undefined;
  let token: Promise<string> | undefined;
  let tokenValue: string | undefined;
  let roles: Promise<Map<string, string>> | undefined;
  let rolesAt = 0;
  const refreshMs = account.settings.memberLookup.refreshSec * 1000;
  const members = createMemberIndex(
    async (page, limit) => {
      const res = await authed((headers) => ({
        method: 'GET',
        url: `${joinUrl(baseUrl, '/clients/members')}?page=${page}&limit=${limit}`,
        headers,
      }));
      if (!('headers' in res)) return res;
      if (res.status === 400 || res.status === 422 || (res.status >= 200 && res.status < 300)) return { status: res.status, json: res.json };
      const mapped = toOutcome(res);
      return mapped === 'member_check' ? { kind: 'retryable', status: res.status, message: `member list: HTTP ${res.status}` } : mapped;
    },
    {
      pageSize: account.settings.memberLookup.pageSize,
      refreshMs,
      maxIndexed: account.settings.memberLookup.maxIndexed,
    },
  );

  async function signIn(): Promise<string> {
    return pRetry(
      async () => {
        const res = await http.send({
          method: 'POST',
          url: joinUrl(baseUrl, '/auth/signin'),
          headers: { 'content-type': 'application/json' },
          body: jsonBody(signInWith),
        });
        if (isNetworkFailure(res)) throw new Error(`sign-in: ${res.code}`);
        if (res.status >= 500) throw new Error(`sign-in: HTTP ${res.status}`);
        if (res.status === 429) throw new AbortError(new SignInRateLimited(requestedWaitMs(res.headers)));
        const body = parseEnvelope(res);
        const data = signInData.safeParse(body.data);
        if (res.status >= 300 || body.status === false || !data.success) {
          throw new AbortError(new SignInRefused(`sign-in refused (HTTP ${res.status}): ${body.message ?? 'no access token'}`));
        }
        return data.data.accessToken;
      },
      // A held account (AccountHeld from the call gate) is not a failed sign-in: let it through at once.
      { retries: 2, minTimeout: 200, maxTimeout: 1_000, shouldRetry: ({ error }) => !(error instanceof AccountHeld) },
    );
  }

  /** The current token; signs in when there is none. Concurrent callers share one sign-in. */
  function currentToken(): Promise<string> {
    if (fixedToken !== undefined) return Promise.resolve(fixedToken);
    if (token === undefined) {
      const attempt = signIn();
      token = attempt;
      attempt.then(
        (t) => {
          if (token === attempt) tokenValue = t;
        },
        () => {
          if (token === attempt) token = undefined; // the next job tries again
        },
      );
    }
    return token;
  }

  /** Forgets the token a 401 refused, unless another job already replaced it: one re-sign-in, not a stampede. */
  function invalidate(stale: string): void {
    if (tokenValue === stale) {
      token = undefined;
      tokenValue = undefined;
    }
  }

  /** Sends a request with the three auth headers; on 401 signs in again and retries once. */
  async function authed(build: (headers: Record<string, string>) => HttpRequest): Promise<HttpResponse | Outcome> {
    for (let attempt = 0; attempt < 2; attempt++) {
      let t: string;
      try {
        t = await currentToken();
      } catch (error) {
        if (error instanceof AccountHeld) throw error;
        if (error instanceof SignInRateLimited)
          return { kind: 'rate_limited', message: error.message, status: 429, ...(error.waitMs === undefined ? {} : { waitMs: error.waitMs }) };
        const refused = error instanceof SignInRefused;
        return refused ? { kind: 'auth_failed', message: error.message } : { kind: 'retryable', message: (error as Error).message };
      }
      const res = await http.send(build({ authorization: `Bearer ${t}`, SECRET_KEY: secretKey, businessId: account.settings.businessId }));
      if (isNetworkFailure(res)) return networkOutcome(res);
      if (res.status !== 401 || fixedToken !== undefined || attempt === 1) return res;
      invalidate(t);
    }
    throw new Error('unreachable');
  }

  /** The role list, fetched once and shared; `refresh` fetches it again (a role created since start). */
  function roleMap(refresh = false): Promise<Map<string, string>> {
    if (roles === undefined || refresh) {
      const attempt = (async () => {
        const res = await authed((headers) => ({ method: 'GET', url: joinUrl(baseUrl, '/clients/members/roles'), headers }));
        if (!('headers' in res)) throw Object.assign(new Error(res.message ?? 'roles lookup failed'), { outcome: res });
        const list = roleList.safeParse(parseEnvelope(res).data);
        if (res.status >= 300 || !list.success) throw Object.assign(new Error(`roles lookup failed (HTTP ${res.status})`), { outcome: toOutcome(res) });
        return new Map(list.data.map((r) => [r.name.toLowerCase(), String(r.id)]));
      })();
      roles = attempt;
      rolesAt = Date.now();
      attempt.catch(() => {
        if (roles === attempt) roles = undefined;
      });
    }
    return roles;
  }

  async function roleId(name: string): Promise<string | Outcome> {
    let map: Map<string, string>;
    try {
      map = await roleMap();
      // A miss refreshes the list once (at most once per refresh interval): a role created since start works.
      if (!map.has(name.toLowerCase()) && Date.now() - rolesAt >= refreshMs) map = await roleMap(true);
    } catch (error) {
      if (error instanceof AccountHeld) throw error;
      const outcome = (error as { outcome?: Outcome }).outcome;
      // A failed lookup is as transient as the answer that failed it, never a reason to reject the invite.
      if (outcome === undefined || outcome.kind === 'invited' || outcome.kind === 'already_member' || outcome.kind === 'rejected') {
        return { kind: 'retryable', message: (error as Error).message };
      }
      return outcome;
    }
    const id = map.get(name.toLowerCase());
    if (id !== undefined) return id;
    return { kind: 'rejected', message: `role '${name}' does not exist in this Stellas business; known roles: ${[...map.keys()].join(', ') || '(none)'}` };
  }

  /** A refusal that may be "already a member": the member list decides (a failed lookup is retryable). */
  async function settle(email: string, res: HttpResponse): Promise<Outcome> {
    const message = parseEnvelope(res).message ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
    const member = await members.isMember(email);
    if (member === true) return { kind: 'already_member', status: res.status, message };
    if (member === false) return { kind: 'rejected', status: res.status, message };
    return member;
  }

  return {
    async deliver(invite) {
      const id = invite.memberRoleId ?? (await roleId(invite.role ?? ''));
      if (typeof id !== 'string') return id;
      const res = await authed((headers) => inviteRequest(baseUrl, headers, invite.email, id));
      if (!('headers' in res)) return res;
      const outcome = toOutcome(res);
      return outcome === 'member_check' ? settle(invite.email, res) : outcome;
    },
    close() {},
    async verifyFields(fields) {
      if (typeof fields.role !== 'string') return [];
      const id = await roleId(fields.role);
      if (typeof id === 'string') return [];
      if (id.kind === 'rejected') return [`role: ${id.message ?? 'unknown role'}`];
      // Not a problem of the profile: the role list could not be read now (a 429, an outage). Said as a warning by
      // the caller; invites look the role up again when they need it.
      throw new Error(`role: could not be checked (${id.message ?? id.kind})`);
    },
  };
}

export const stellas = {
  id: 'stellas',
  defaultBaseUrl: STELLAS_PRODUCTION_URL,
  settingsSchema,
  inviteSchema,
  listFields: [],
  // The session's bearer token and the account's SECRET_KEY header.
  secretHeaders: ['authorization', 'SECRET_KEY'],
  // Its documentation names no request id: an answer is `{status, message, data}`.
  requestIdFrom: undefined,
  // Role names in profiles are checked against the business's role list when a worker starts.
  verifiesFields: true,
  createSession: createStellasSession,
} satisfies ProviderAdapter<StellasSettings, StellasInvite>;
