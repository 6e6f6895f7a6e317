import type { ProviderAdapter } from './adapter.ts';
import { betterstack } from './betterstack.ts';
import { closient } from './closient.ts';
import { stellas } from './stellas/index.ts';
import { sutro } from './sutro.ts';
import { unibee } from './unibee.ts';

/** Every provider invitebus can deliver to. Adding one: its file in this folder and one line here. */
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
