import { z } from 'zod';
import { InvitebusError } from './errors.ts';
import { describeValue } from './input/describe-value.ts';

/**
 * The one rule for names that become part of Redis keys and queue names: batch ids and account names, at every
 * door (CLI, API, library, config). No `:` (Redis key separator), no `/` (batch member refs are
 * "account/inviteId"), no spaces or control characters, so an identifier can never name another key
 * (`b2:jobs` is batch b2's job list) or a key of BullMQ's own.
 */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const IDENTIFIER_RULE = '1-128 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Invite ids are what invitebus creates (src/policies/job-id.ts): "inv-" and 32 hex digits, nothing else. */
export const INVITE_ID_PATTERN = /^inv-[0-9a-f]{32}$/;

export type IdentifierKind = 'batch id' | 'account name' | 'invite id' | 'profile name' | 'webhook name';

export function isIdentifier(value: unknown): value is string {
  return typeof value === 'string' && IDENTIFIER_PATTERN.test(value);
}

export function isInviteId(value: unknown): value is string {
  return typeof value === 'string' && INVITE_ID_PATTERN.test(value);
}

/** Why a value is not a valid identifier of its kind, or undefined when it is. */
export function identifierProblem(kind: IdentifierKind, value: unknown): string | undefined {
  const ok = kind === 'invite id' ? isInviteId(value) : isIdentifier(value);
  if (ok) return undefined;
  const shown = describeValue(value);
  const rule = kind === 'invite id' ? '"inv-" and 32 hex digits' : IDENTIFIER_RULE;
  return `${shown} is not a valid ${kind}: ${rule}`;
}

/** Throws INVALID_IDENTIFIER (a usage mistake: exit 2, HTTP 400/404) unless the value follows the rule. */
export function checkIdentifier(kind: IdentifierKind, value: unknown): string {
  const problem = identifierProblem(kind, value);
  if (problem !== undefined) throw new InvitebusError('INVALID_IDENTIFIER', problem);
  return value as string;
}

/** The rule as a zod schema, for request bodies and config. */
export const identifierSchema = (kind: IdentifierKind) =>
  z.string().refine((v) => identifierProblem(kind, v) === undefined, { error: (issue) => identifierProblem(kind, issue.input) ?? kind });
