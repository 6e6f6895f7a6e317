import { z } from 'zod';
import type { ProviderAdapter } from './adapter.ts';
import { betterstack } from './betterstack/index.ts';
import { closient } from './closient/index.ts';
import { stellas } from './stellas/index.ts';
import { sutro } from './sutro/index.ts';
import { unibee } from './unibee/index.ts';

/** Every provider invitebus can deliver to. Adding one: its folder beside this file and one line here. */
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

/** The names of a provider's invite fields (email, role, ...). */
export function inviteFieldNames(adapter: Pick<ProviderAdapter, 'inviteSchema'>): string[] {
  return adapter.inviteSchema instanceof z.ZodObject ? Object.keys(adapter.inviteSchema.shape) : [];
}
