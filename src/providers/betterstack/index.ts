import { z } from 'zod';
import { credentialRef } from '../../config/credentials.ts';
import { emailField, roleField } from '../../invites/fields.ts';
import type { Outcome } from '../../types.ts';
import { commonOutcome, credential, messageOf, type ProviderAdapter, singleCallSession } from '../adapter.ts';
import { type HttpRequest, type HttpResponse, joinUrl, jsonBody } from '../http.ts';

/** Roles the API accepts. `admin` exists but "is not permitted via the API": refused at enqueue. */
export const BETTERSTACK_ROLES = ['responder', 'member', 'team_lead', 'billing_admin'] as const;

const settingsSchema = z.object({
  /** Sent as `?team_name=`; required when the token is a global token with access to several teams. */
  teamName: z.string().min(1).optional(),
  credentials: z.looseObject({ token: credentialRef }),
});
export type BetterStackSettings = z.infer<typeof settingsSchema>;

const inviteSchema = z.object({
  email: emailField,
  role: z
    .string()
    .refine(
      (r) => r !== 'admin',
      'role admin cannot be invited through the Better Stack API (it answers 403); invite as team_lead and promote in the dashboard',
    )
    .pipe(roleField(BETTERSTACK_ROLES, 'betterstack'))
    .default('responder'),
});
export type BetterStackInvite = z.infer<typeof inviteSchema>;

/** Bodies the API answers with: `{ errors: "..." }` or `{ message, data: { id } }`. */
const answerBody = z.looseObject({
  errors: z.unknown().optional(),
  message: z.string().optional(),
  data: z.looseObject({ id: z.union([z.string(), z.number()]).optional() }).optional(),
});

const QUOTA = /quota limits/i;
const MULTIPLE_TEAMS = /access to multiple teams/i;
const ADMIN = /admin/i;

export function buildRequest(settings: BetterStackSettings, baseUrl: string, token: string, invite: BetterStackInvite): HttpRequest {
  const query = settings.teamName === undefined ? '' : `?team_name=${encodeURIComponent(settings.teamName)}`;
  return {
    method: 'POST',
    url: joinUrl(baseUrl, `/api/v2/team-members${query}`),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: jsonBody({ email: invite.email, role: invite.role }),
  };
}

/** Maps every answer Better Stack documents (and the ones it does not) to an outcome. */
export function toOutcome(res: HttpResponse, now = Date.now()): Outcome {
  const parsed = answerBody.safeParse(res.json);
  const body = parsed.success ? parsed.data : {};
  const message = messageOf(body.errors) ?? body.message ?? (res.body.slice(0, 200) || `HTTP ${res.status}`);
  const providerId = body.data?.id === undefined ? undefined : String(body.data.id);
  const ref = { status: res.status, message, ...(providerId === undefined ? {} : { providerId }) };

  if (res.status === 201) return { kind: 'invited', ...ref };
  if (res.status === 200) return { kind: 'already_member', ...ref };
  if (res.status >= 200 && res.status < 300) return { kind: 'invited', ...ref };
  if (res.status === 401) return { kind: 'auth_failed', ...ref };
  if (res.status === 403) {
    // 403 means either "admin role refused" (this invite) or "read-only token" (every invite).
    return ADMIN.test(message) ? { kind: 'rejected', ...ref } : { kind: 'auth_failed', ...ref };
  }
  if (res.status === 422 && QUOTA.test(message)) return { kind: 'account_blocked', reason: 'quota', ...ref };
  if (res.status === 422 && MULTIPLE_TEAMS.test(message)) return { kind: 'account_blocked', reason: 'config', ...ref };
  return commonOutcome(res, ref, now) ?? { kind: 'rejected', ...ref };
}

export const betterstack = {
  id: 'betterstack',
  defaultBaseUrl: 'https://betterstack.com',
  settingsSchema,
  inviteSchema,
  listFields: [],
  secretHeaders: ['authorization'],
  // Its documentation names no request id (the answer's `data.id` is the invitation's or member's, not the request's).
  requestIdFrom: undefined,
  createSession(account) {
    const token = credential(account, 'token');
    return singleCallSession(
      account,
      (acc, invite) => buildRequest(acc.settings, acc.baseUrl, token, invite),
      (res) => toOutcome(res),
    );
  },
} satisfies ProviderAdapter<BetterStackSettings, BetterStackInvite>;
