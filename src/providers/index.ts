import { z } from 'zod';
import { safeParseInput } from '../input/zod-messages.ts';
import type { ProviderAdapter } from './adapter.ts';
import { betterstack } from './betterstack/index.ts';
import { closient } from './closient/index.ts';
import { stellas } from './stellas/index.ts';
import { sutro } from './sutro/index.ts';
import { unibee } from './unibee/index.ts';

/**
 * Every provider invitebus can deliver to. Adding one: its folder beside this file, its import and its entry
 * here, at the end (the sandbox gives providers consecutive ports in this order).
 */
export const providers = {
  betterstack,
  closient,
  stellas,
  sutro,
  unibee,
  // biome-ignore lint/suspicious/noExplicitAny: each adapter has its own settings and invite types
} satisfies Record<string, ProviderAdapter<any, any>>;

export type ProviderId = keyof typeof providers;
export const providerIds = Object.keys(providers) as [ProviderId, ...ProviderId[]];

/** The adapter of a provider id, typed loosely for code that handles every provider alike. */
export function adapterOf(id: string): ProviderAdapter<unknown, { email: string; [k: string]: unknown }> {
  const adapter = (providers as Record<string, unknown>)[id];
  if (adapter === undefined) throw new Error(`unknown provider '${id}'`);
  return adapter as ProviderAdapter<unknown, { email: string; [k: string]: unknown }>;
}

/** A provider's invite fields with their schemas (email, role, ...). */
function inviteShape(adapter: Pick<ProviderAdapter, 'inviteSchema'>): Record<string, z.ZodType> {
  return adapter.inviteSchema instanceof z.ZodObject ? (adapter.inviteSchema.shape as Record<string, z.ZodType>) : {};
}

/** The names of a provider's invite fields (email, role, ...). */
export function inviteFieldNames(adapter: Pick<ProviderAdapter, 'inviteSchema'>): string[] {
  return Object.keys(inviteShape(adapter));
}

/** A field refused on its own; `unknown` when the provider has no such field. */
export interface FieldProblem {
  field: string;
  message: string;
  unknown?: true;
}

/**
 * Problems of some of an invite's fields on their own (a profile's fields, a replay's changes), by the
 * provider's schema for each field: a field the provider does not take, or a value it refuses. The address
 * is not among them: it is the invite's identity.
 */
export function fieldProblems(adapter: Pick<ProviderAdapter, 'id' | 'inviteSchema'>, fields: Record<string, unknown>): FieldProblem[] {
  const shape = inviteShape(adapter);
  const problems: FieldProblem[] = [];
  for (const [field, value] of Object.entries(fields)) {
    const schema = Object.hasOwn(shape, field) ? shape[field] : undefined;
    if (field === 'email') problems.push({ field, message: 'the address is given per person, not here' });
    else if (schema === undefined)
      problems.push({ field, unknown: true, message: `not an invite field of provider ${adapter.id} (its fields: ${Object.keys(shape).join(', ')})` });
    else {
      const checked = safeParseInput(schema, value);
      if (!checked.success) problems.push({ field, message: checked.error.issues[0]?.message ?? 'invalid' });
    }
  }
  return problems;
}
