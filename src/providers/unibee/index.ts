import { z } from 'zod';
import { credentialRef } from '../../config/credentials.ts';
import { describeValue } from '../../input/describe-value.ts';
import { emailField, nameField, typedError } from '../../invites/fields.ts';
import type { Outcome } from '../../types.ts';
import { type AccountContext, commonOutcome, credential, isNetworkFailure, networkOutcome, type ProviderAdapter, type ProviderSession } from '../adapter.ts';
import { type HttpRequest, type HttpResponse, joinUrl, jsonBody } from '../http.ts';

export const UNIBEE_PRODUCTION_URL = 'https://api.unibee.dev';
export const UNIBEE_SANDBOX_URL = 'https://api-sandbox.unibee.top';

const settingsSchema = z.object({ credentials: z.looseObject({ apiKey: credentialRef }) });
export type UniBeeSettings = z.infer<typeof settingsSchema>;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An int64 role id, kept as its canonical decimal string so ids above 2^53 survive JSON, Redis and back.
 * Numbers are accepted only when JavaScript holds them exactly (safe integers); larger ids must be strings.
 */
export const int64Id = z.union([z.number(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      ctx.addIssue({ code: 'custom', message: `${value} is not an exact integer: pass role ids above 2^53 as decimal strings` });
      return z.NEVER;
    }
    return String(value);
  }
  const s = value.trim();
  if (!/^-?\d{1,20}$/.test(s) || BigInt(s) < INT64_MIN || BigInt(s) > INT64_MAX) {
    ctx.addIssue({ code: 'custom', message: `${describeValue(value)} is not an int64 role id` });
    return z.NEVER;
  }
  return BigInt(s).toString();
});

const inviteSchema = z.object({
  email: emailField,
  firstName: nameField.optional(),
  lastName: nameField.optional(),
  returnUrl: z.url({ protocol: /^https?$/, error: typedError('a string', 'returnUrl must be an http(s) URL') }).optional(),
  roleIds: z
    .array(int64Id, { error: typedError('a list of role ids', 'roleIds must be a list of role ids') })
    .max(100)
    .default([]),
});
export type UniBeeInvite = z.infer<typeof inviteSchema>;

/** UniBee's envelope: `code` 0 is success, anything else a failure, even under HTTP 200. */
const envelope = z.looseObject({
  code: z.number().optional(),
  message: z.string().optional(),
  requestId: z.string().optional(),
  data: z.unknown().optional(),
});
const memberList = z.looseObject({
  merchantMembers: z.array(z.looseObject({ email: z.string() })).nullish(),
  merchant_members: z.array(z.looseObject({ email: z.string() })).nullish(),
});

const QPS_LIMIT = /^Reached max api qps limitation/i;
const EMAIL_EXISTS = /email exist/i;

/** JSON.rawJSON (Node >= 21): a JSON primitive written as given; it throws on anything but one primitive. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * The body, built by JSON encoding alone, with `roleIds` as exact JSON integers: numbers above 2^53 are not
 * exact in JavaScript, so each validated digit string becomes a raw JSON number (JSON.rawJSON refuses
 * anything that is not one number, so no text can ever be pasted into the request).
 */
export function newMemberBody(invite: UniBeeInvite): string {
  const { roleIds, ...rest } = invite;
  return jsonBody({
    ...rest,
    roleIds: roleIds.map((id) => {
      if (!/^-?\d{1,20}$/.test(id)) throw new Error(`roleIds: '${id}' is not an int64 role id`);
      return rawJSON(id);
    }),
  });
}

export function inviteRequest(baseUrl: string, apiKey: string, invite: UniBeeInvite): HttpRequest {
  return {
    method: 'POST',
    url: joinUrl(baseUrl, '/merchant/member/new_member'),
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: newMemberBody(invite),
  };
}

/** Outcome of a new_member answer, or 'email_exists' when a member lookup must decide. */
export function toOutcome(res: HttpResponse, random: () => number = Math.random, now = Date.now()): Outcome | 'email_exists' {
  const parsed = envelope.safeParse(res.json);
  const body = parsed.success ? parsed.data : {};
  const message = body.message ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
  const ref = { status: res.status, message, ...(body.requestId === undefined ? {} : { requestId: body.requestId }) };
  if (res.status >= 200 && res.status < 300 && body.code === 0) return { kind: 'invited', ...ref };
  // A rate limit disguised as a bad request: no 429, no Retry-After; the limit is per second.
  if (body.code === 51 && QPS_LIMIT.test(message)) return { kind: 'rate_limited', ...ref, waitMs: 1000 + Math.floor(random() * 500) };
  if (res.status === 401 || body.code === 61) return { kind: 'auth_failed', ...ref };
  if (res.status < 500 && EMAIL_EXISTS.test(message)) return 'email_exists';
  const common = commonOutcome(res, ref, now);
  if (common) return common;
  return { kind: 'rejected', ...ref };
}

function createUniBeeSession(account: AccountContext<UniBeeSettings>): ProviderSession<UniBeeInvite> {
  const apiKey = credential(account, 'apiKey');

  /** "email exist" means a member of ANY merchant: ours → already_member; someone else's → rejected. */
  async function resolveExisting(invite: UniBeeInvite, first: Outcome & { kind: 'rejected' }): Promise<Outcome> {
    const res = await account.http.send({
      method: 'POST',
      url: joinUrl(account.baseUrl, '/merchant/member/list'),
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: jsonBody({ email: invite.email, page: 0, count: 20 }),
    });
    if (isNetworkFailure(res)) return networkOutcome(res);
    const parsed = envelope.safeParse(res.json);
    if (!parsed.success || parsed.data.code !== 0) {
      const mapped = toOutcome(res);
      return mapped === 'email_exists' || mapped.kind === 'invited' ? { kind: 'retryable', message: 'member lookup failed' } : mapped;
    }
    const list = memberList.safeParse(parsed.data.data ?? {});
    const members = list.success ? [...(list.data.merchantMembers ?? []), ...(list.data.merchant_members ?? [])] : [];
    const ours = members.some((m) => m.email.toLowerCase() === invite.email.toLowerCase());
    if (ours)
      return { kind: 'already_member', status: first.status, message: first.message, ...(first.requestId === undefined ? {} : { requestId: first.requestId }) };
    return { ...first, message: `${invite.email} is already a member of another UniBee merchant (UniBee: "${first.message}")` };
  }

  return {
    async deliver(invite) {
      const res = await account.http.send(inviteRequest(account.baseUrl, apiKey, invite));
      if (isNetworkFailure(res)) return networkOutcome(res);
      const outcome = toOutcome(res);
      if (outcome !== 'email_exists') return outcome;
      const parsed = envelope.safeParse(res.json);
      const requestId = parsed.success ? parsed.data.requestId : undefined;
      return resolveExisting(invite, {
        kind: 'rejected',
        status: res.status,
        message: parsed.data?.message ?? 'email exist',
        ...(requestId === undefined ? {} : { requestId }),
      });
    },
    close() {},
  };
}

export const unibee = {
  id: 'unibee',
  defaultBaseUrl: UNIBEE_PRODUCTION_URL,
  settingsSchema,
  inviteSchema,
  listFields: ['roleIds'],
  secretHeaders: ['authorization'],
  // "Use requestId when contacting support": every answer's envelope carries one.
  requestIdFrom: "the answer's envelope (`requestId`)",
  createSession: createUniBeeSession,
} satisfies ProviderAdapter<UniBeeSettings, UniBeeInvite>;
