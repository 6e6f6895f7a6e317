/** An invite checked against its account's provider schema, before it is queued and again before it is sent. */
import type { AccountConfig } from '../config/load.ts';
import { safeParseInput } from '../input/zod-messages.ts';
import { adapterOf } from '../providers/index.ts';
import type { InviteFields } from '../types.ts';

/** Validates one raw invite with the provider's schema. */
export function validateInvite(account: AccountConfig, raw: unknown): { ok: true; invite: InviteFields } | { ok: false; field: string; message: string } {
  const result = safeParseInput(adapterOf(account.provider).inviteSchema, raw);
  if (result.success) return { ok: true, invite: result.data };
  const [first, ...rest] = result.error.issues;
  const field = first?.path.map(String).join('.') || '(invite)';
  const more = rest.map((i) => `${i.path.map(String).join('.') || '(invite)'}: ${i.message}`);
  return { ok: false, field, message: [first?.message ?? 'invalid', ...more].join('; ') };
}
