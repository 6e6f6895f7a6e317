import { z } from 'zod';
import { credentialRef } from '../../config/credentials.ts';
import { emailField, roleField } from '../../invites/fields.ts';
import { paceFromHeaders, requestedWaitMs } from '../../policies/rate-limit-headers.ts';
import type { Outcome } from '../../types.ts';
import { commonOutcome, credential, type ProviderAdapter, singleCallSession } from '../adapter.ts';
import { type HttpRequest, type HttpResponse, joinUrl, jsonBody } from '../http.ts';

export const CLOSIENT_PRODUCTION_URL = 'https://www.closient.com';
export const CLOSIENT_TESTING_URL = 'https://www.closient.dev';

/** The documented shortuuid: 22 characters of an alphabet without 0, 1, I, O and l. */
export const SHORTUUID = /^[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{22}$/;

export const CLOSIENT_ROLES = ['owner', 'manager', 'billing', 'editor'] as const;

const settingsSchema = z.object({
  orgId: z.string().regex(SHORTUUID, 'orgId must be the organization’s 22-character shortuuid (alphabet 2-9, A-Z and a-z without I, O, l)'),
  credentials: z.looseObject({ apiKey: credentialRef }),
});
export type ClosientSettings = z.infer<typeof settingsSchema>;

const inviteSchema = z.object({ email: emailField, role: roleField(CLOSIENT_ROLES, 'closient').default('editor') });
export type ClosientInvite = z.infer<typeof inviteSchema>;

const membership = z.looseObject({ id: z.string() });
const errorBody = z.looseObject({
  error: z
    .looseObject({
      code: z.string().optional(),
      message: z.string().optional(),
      details: z.array(z.looseObject({ field: z.string().optional(), message: z.string().optional() })).optional(),
      retry_after_seconds: z.number().optional(),
    })
    .optional(),
  retry_after_seconds: z.number().optional(),
});

export function inviteRequest(settings: ClosientSettings, baseUrl: string, apiKey: string, invite: ClosientInvite): HttpRequest {
  return {
    method: 'POST',
    url: joinUrl(baseUrl, `/account/api/v1/organizations/${encodeURIComponent(settings.orgId)}/members`),
    headers: { 'x-api-key': apiKey, 'content-type': 'application/json', accept: 'application/json' },
    body: jsonBody({ email: invite.email, role: invite.role }),
  };
}

export function toOutcome(res: HttpResponse, now = Date.now()): Outcome {
  const pace = paceFromHeaders(res.headers, now);
  const parsed = errorBody.safeParse(res.json);
  const error = parsed.success ? parsed.data.error : undefined;
  const message = error?.message ?? (res.status < 300 ? 'OK' : res.body.slice(0, 200) || `HTTP ${res.status}`);
  const ref = { status: res.status, message, ...(pace === undefined ? {} : { pace }) };

  if (res.status >= 200 && res.status < 300) {
    const m = membership.safeParse(res.json);
    return { kind: 'invited', ...ref, ...(m.success ? { providerId: m.data.id } : {}) };
  }
  if (res.status === 409) return { kind: 'already_member', ...ref };
  if (res.status === 422) {
    const details = error?.details ?? [];
    const fields = details.map((d) => d.field).filter((f): f is string => typeof f === 'string');
    const named = details.map((d) => `${d.field ?? '?'}: ${d.message ?? 'invalid'}`).join('; ');
    return { kind: 'rejected', ...ref, fields, message: named ? `${message} (${named})` : message };
  }
  if (res.status === 429) {
    // Retry-After first, then the body's retry_after_seconds, then RateLimit-Reset.
    const seconds = error?.retry_after_seconds ?? (parsed.success ? parsed.data.retry_after_seconds : undefined);
    const waitMs =
      requestedWaitMs({ 'retry-after': res.headers['retry-after'], date: res.headers.date }, now) ??
      (seconds === undefined ? undefined : Math.round(seconds * 1000)) ??
      requestedWaitMs(res.headers, now);
    return { kind: 'rate_limited', ...ref, ...(waitMs === undefined ? {} : { waitMs }) };
  }
  if (res.status === 401) return { kind: 'auth_failed', ...ref };
  // "Do not retry 4xx other than 429."
  return commonOutcome(res, ref, now) ?? { kind: 'rejected', ...ref };
}

export const closient = {
  id: 'closient',
  defaultBaseUrl: CLOSIENT_PRODUCTION_URL,
  settingsSchema,
  inviteSchema,
  listFields: [],
  secretHeaders: ['x-api-key'],
  // Its documentation names no request id (the answer's `id` is the membership's, not the request's).
  requestIdFrom: undefined,
  createSession(account) {
    const apiKey = credential(account, 'apiKey');
    return singleCallSession(
      account,
      (acc, invite) => inviteRequest(acc.settings, acc.baseUrl, apiKey, invite),
      (res) => toOutcome(res),
    );
  },
} satisfies ProviderAdapter<ClosientSettings, ClosientInvite>;
